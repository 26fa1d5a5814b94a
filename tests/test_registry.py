"""The block registry refuses a second family of a name already taken, and an unknown category, with one
clear line naming both families; the first stays registered."""

from __future__ import annotations

import pytest

from arch.registry import REGISTRY, BlockFamily, family, register


def test_a_duplicate_block_name_is_refused() -> None:
    conv = family("conv")

    class Impostor(BlockFamily):
        name = "conv"
        title = "Another conv"
        category = "layers"
        doc = ""
        fields = ()

    with pytest.raises(ValueError, match=r"block family 'conv' is registered twice: arch\.blocks\.conv\.\w+ and "
                                         r"(tests\.)?test_registry\.test_a_duplicate_block_name_is_refused\.<locals>\."
                                         r"Impostor"):
        register(Impostor)
    assert REGISTRY["conv"] is conv


def test_an_unknown_category_is_refused() -> None:
    class Odd(BlockFamily):
        name = "odd_block_for_test"
        title = "Odd"
        category = "misc"
        doc = ""
        fields = ()

    with pytest.raises(ValueError, match="unknown category 'misc'; categories: layers, pooling"):
        register(Odd)
    assert "odd_block_for_test" not in REGISTRY
