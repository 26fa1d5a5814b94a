"""Spec paths: reading and setting fields by ``body[i].unit.kernel``, first-repeat overrides, errors."""

from __future__ import annotations

import pytest

from arch.errors import SpecError
from arch.expand import build_graph
from arch.paths import block_path, get_block, get_value, split, with_value
from arch.spec import BlockSpec, dumps
from arch.templates import load_template


@pytest.fixture
def resnet():
    return load_template("resnet18")


def test_split_and_block_path() -> None:
    assert split("body[4].unit.kernel") == ["body", 4, "unit", "kernel"]
    assert split("body[2][1]") == ["body", 2, 1]
    assert block_path("body[4].unit.kernel") == "body[4].unit"
    assert block_path("body[3].first.stride") == "body[3]"
    assert block_path("body[3][1].out") == "body[3][1]"
    assert block_path("body[0].kernel") == "body[0]"


@pytest.mark.parametrize("path", ["body", "body[x]", "body[1]..x", "body[1]extra", "body.kernel", ""])
def test_malformed_paths(path: str) -> None:
    with pytest.raises(SpecError, match="not a spec path|starts with body"):
        split(path)


def test_get_block_and_values(resnet) -> None:
    assert get_block(resnet, "body[0]").block == "conv"
    assert get_value(resnet, "body[0].kernel") == 7  # written
    assert get_value(resnet, "body[0].dilation") == 1  # default
    assert get_value(resnet, "body[1].stride") == 2
    assert get_block(resnet, "body[3].unit") == BlockSpec("residual", {"out": 128})
    assert get_value(resnet, "body[3].repeat") == 2
    assert get_value(resnet, "body[3].unit.out") == 128
    assert get_value(resnet, "body[3].first.stride") == 2
    assert get_value(resnet, "body[3].first.out") is None  # not overridden


def test_stage_repeats_as_the_graph_names_them(resnet) -> None:
    """``body[3][0]`` is the first repeat with its overrides; every graph block path resolves."""
    assert get_block(resnet, "body[3][0]") == BlockSpec("residual", {"out": 128, "stride": 2})
    assert get_block(resnet, "body[3][1]") == BlockSpec("residual", {"out": 128})
    assert get_value(resnet, "body[3][0].stride") == 2
    assert get_value(resnet, "body[3][1].stride") == 1
    graph = build_graph(resnet)
    for b in graph.blocks:
        assert get_block(resnet, b.path).block == b.family


def test_with_value_returns_a_new_valid_spec(resnet) -> None:
    before = dumps(resnet)
    new = with_value(resnet, "body[0].kernel", [1, 7])
    assert get_value(new, "body[0].kernel") == (1, 7)
    assert dumps(resnet) == before  # the original is untouched
    assert build_graph(new).ok
    new = with_value(resnet, "body[3].unit.out", 96)
    assert get_value(new, "body[3][1].out") == 96 and get_value(new, "body[3][0].out") == 96
    new = with_value(resnet, "body[3].repeat", 4)
    assert [b.path for b in build_graph(new).blocks if b.parent == "body[3]"] == [f"body[3][{i}]" for i in range(4)]


def test_first_overrides(resnet) -> None:
    new = with_value(resnet, "body[3].first.out", 192)
    assert new.body[3].params["first"] == {"stride": 2, "out": 192}
    assert get_value(new, "body[3][0].out") == 192 and get_value(new, "body[3][1].out") == 128
    new = with_value(new, "body[3].first.stride", None)
    new = with_value(new, "body[3].first.out", None)
    assert "first" not in new.body[3].params  # removing every override removes 'first'
    # setting a field of the first repeat changes that repeat: an overridden field goes to 'first'
    new = with_value(resnet, "body[3][0].stride", 1)
    assert new.body[3].params["first"] == {"stride": 1} and get_value(new, "body[3][0].stride") == 1
    # ... and a field it does not override goes to the unit (every repeat)
    new = with_value(resnet, "body[3][0].activation", "silu")
    assert get_value(new, "body[3][1].activation") == "silu"


def test_with_value_replaces_a_stage_unit(resnet) -> None:
    new = with_value(resnet, "body[2].unit", BlockSpec("residual", {"out": 64, "kind": "bottleneck"}))
    assert get_value(new, "body[2][1].kind") == "bottleneck"
    assert resnet.body[2].params["unit"].params == {"out": 64}
    with pytest.raises(SpecError, match=r"body\[2\]\.unit: must be a block"):
        with_value(resnet, "body[2].unit", {"block": "conv"})


@pytest.mark.parametrize("path, value, message", [
    ("body[0].kernel", 0, "body[0].kernel: must be >= 1 (got 0)"),
    ("body[0].kernal", 3, "body[0].kernal: not a field of conv"),
    ("body[0].activation", "relu7", "body[0].activation: must be one of"),
    ("body[0].groups", 5, "body[0].groups: must divide out 64 (got 5)"),
    ("body[3].unit.groups", 3, "body[3].unit.groups: must divide the inner width 128 (got 3)"),
    ("body[3].first.strid", 2, "body[3].first.strid: not a field of residual"),
    ("body[3].first.stride", 0, "body[3].first.stride: must be >= 1 (got 0)"),
    ("body[3][0].stride", 9, "body[3][0].stride: must be <= 4 (got 9)"),
    ("body[3][2].out", 8, "body[3][2].out: the stage has 2 repeats"),
    ("body[99].out", 8, "body[99].out: no block 99 (the body has 9)"),
    ("body[3]", 8, "body[3]: names a block, not a field"),
    ("body[3][1]", 8, "body[3][1]: names a block, not a field"),
])
def test_with_value_errors(resnet, path: str, value, message: str) -> None:
    with pytest.raises(SpecError) as e:
        with_value(resnet, path, value)
    assert str(e.value).startswith(message)


def test_get_errors(resnet) -> None:
    with pytest.raises(SpecError, match="names a field, not a block"):
        get_block(resnet, "body[0].kernel")
    with pytest.raises(SpecError, match="not a field of conv"):
        get_value(resnet, "body[0]")
