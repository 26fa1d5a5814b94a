"""Screenshots of the Training, Search and Compare pages during and after a short run, written to
artifacts/ for a person to look at (the README shows copies from docs/images/)."""

from __future__ import annotations

import pytest
from PyQt6.QtGui import QImage

from arch.spec import parse_spec
from tests.test_gui_designer import make_window

BODY = [{"block": "conv", "out": 16, "kernel": 5}, {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 32, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 48, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
        {"block": "classifier"}]
SPEC = {"format": "convsmith/1", "name": "Shapes CNN", "input": [3, 32, 32], "num_classes": 6, "body": BODY}
SEARCHED = {**SPEC, "name": "Shapes search", "input": [3, 24, 24], "search": {
    "body[0].out": {"choices": [8, 16]},
    "body[2]": {"blocks": [{"block": "conv", "out": 32}, {"block": "residual", "out": 32}]},
    "body[4].out": {"choices": [32, 48, 64]}, "width_mult": {"choices": [0.5, 1.0]}}}


def grab(window, path) -> None:
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1600, 1000)
    colours = {image.pixel(x, y) for x in range(0, 1600, 37) for y in range(0, 1000, 29)}
    assert len(colours) > 20  # drawn, not a blank window


@pytest.mark.timeout(300)
def test_tab_screenshots(qtbot, tmp_path, artifacts) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(1600, 1000)
    pages = window.pages_extra
    window.open_spec(parse_spec(SPEC))

    training = pages.training
    pages.show(training)
    training.runs.root.setText(str(tmp_path / "runs"))
    training.chooser.set_source("synthetic:shapes?n=1200&size=32&channels=3")
    training.chooser.load_now()
    qtbot.waitUntil(lambda: training.chooser.data is not None, timeout=60_000)
    training.form.editors["epochs"].set_value(4)
    training.form.editors["batch_size"].set_value(64)
    assert training.start()
    qtbot.waitUntil(lambda: training.curves.series["val_acc"].n >= 2, timeout=120_000)
    qtbot.wait(300)
    grab(window, artifacts / "training_during.png")
    qtbot.waitUntil(lambda: not training.running(), timeout=120_000)
    qtbot.wait(300)
    grab(window, artifacts / "training.png")

    window.open_spec(parse_spec(SEARCHED))
    search = pages.search
    pages.show(search)
    search.form.fill(study="shapes", root=tmp_path / "studies", data="synthetic:shapes?n=900&size=24&channels=3",
                     trials=4, epochs=3)
    search.form.objectives["macs"].setChecked(True)
    assert search.start()
    def finished() -> bool:
        return "not running" in search.status.text() and all(r.state not in ("running", "waiting")
                                                                for r in search.model.records)

    # during: a trial complete while another trains (a duplicate candidate finishes at once, so the search
    # may also be over by then)
    qtbot.waitUntil(lambda: any(r.state == "complete" for r in search.model.records)
                    and (any(r.state == "running" for r in search.model.records) or finished()), timeout=120_000)
    qtbot.waitUntil(lambda: not search.plots.pending)  # the plots redraw one per timer tick
    grab(window, artifacts / "search_during.png")
    qtbot.waitUntil(lambda: search.model.rowCount() >= 4 and finished(), timeout=180_000)
    best = max((r for r in search.model.records if r.state == "complete"), key=lambda r: r.accuracy)
    search.select_trial(best.number)
    qtbot.waitUntil(lambda: not search.plots.pending)
    qtbot.wait(300)
    grab(window, artifacts / "search.png")

    compare = pages.compare
    compare.add_run(training.last_run)
    compare.add_trial("shapes", best)
    compare.add_trial("shapes", next(r for r in search.model.records if r.number != best.number and r.spec_text))
    compare.add_template("cifar_cnn")
    pages.show(compare)
    qtbot.waitUntil(lambda: len(compare.items()) == len(compare.networks), timeout=60_000)
    qtbot.wait(300)
    grab(window, artifacts / "compare.png")
    assert not window.dialogs.errors
