"""The dataset-kind table (training.source.KINDS) drives parsing, the app's chooser and load_data: every
kind parses its own options (percent-encoded values too), has a loader, and is offered by the chooser,
whose composed string parses back to the same kind and values."""

from __future__ import annotations

import inspect

import pytest

from gui.dataset_chooser import DatasetChooser
from training.errors import DataError
from training.source import KINDS, options_help, parse_source


def where(kind: str) -> str:
    return KINDS[kind].choices[0] if KINDS[kind].choices else "/data/x"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_parses_its_options(kind: str) -> None:
    spec = KINDS[kind]
    plain = parse_source(f"{kind}:{where(kind)}")
    assert (plain.kind, plain.where, plain.options) == (kind, where(kind), spec.defaults())
    assert [name for name, _ in options_help(kind)] == [o.name for o in spec.all_options]
    given = parse_source(f"{kind}:{where(kind)}?val=0.25&seed=7&mean=0.5%2C0.4%2C0.3&std=0.2,0.2,0.2")
    assert (given["val"], given["seed"], given["mean"], given["std"]) == (0.25, 7, (0.5, 0.4, 0.3), (0.2, 0.2, 0.2))
    with pytest.raises(DataError, match=f"unknown option 'nope' for {kind}"):
        parse_source(f"{kind}:{where(kind)}?nope=1")
    if spec.test_split:
        assert parse_source(f"{kind}:{where(kind)}?val=test")["val"] == "test"
    else:
        with pytest.raises(DataError, match=f"{kind} has no official test split"):
            parse_source(f"{kind}:{where(kind)}?val=test")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_has_a_loader(kind: str) -> None:
    loader = KINDS[kind].load()
    assert callable(loader) and list(inspect.signature(loader).parameters)[:1] == ["src"]
    assert len(inspect.signature(loader).parameters) == 2  # (DataSource, input shape)
    if KINDS[kind].torchvision:
        import torchvision.datasets

        assert hasattr(torchvision.datasets, KINDS[kind].torchvision) and KINDS[kind].files


def test_the_chooser_offers_every_kind_and_composes_parseable_strings(qtbot) -> None:
    chooser = DatasetChooser(preview=False)
    qtbot.addWidget(chooser)
    offered = [chooser.kind.itemData(i) for i in range(chooser.kind.count())]
    assert offered == list(KINDS)
    for i, kind in enumerate(offered):
        assert chooser.kind.itemText(i) == KINDS[kind].title
        chooser.kind.setCurrentIndex(i)
        if not KINDS[kind].choices:
            chooser.where.setText("/data/some folder")
        assert chooser.generator.isHidden() == (not KINDS[kind].choices) != chooser.where.isHidden()
        chooser.options["seed"].setText("3")
        chooser.options["seed"].textEdited.emit("3")
        src = parse_source(chooser.string.text())
        assert src.kind == kind and src["seed"] == 3
        assert src.where == (KINDS[kind].choices[0] if KINDS[kind].choices else "/data/some folder")
