"""The Training page driven like a person would (pytest-qt, offscreen, tiny synthetic data): choose data,
train, stop, continue, overlay runs; every figure it shows checked against an independent witness (the
run directory, a checkpoint rebuilt from disk, the analysis engine, the dataset loaded again)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from analysis import analyze
from arch.spec import parse_spec
from tests.test_gui_designer import make_window
from training import load_checkpoint, load_data
from training.runs import load_history
from training.visualize import filter_grid

DATA = "synthetic:shapes?n=256&size=16&channels=1&classes=4"
SPEC = {"format": "convsmith/1", "name": "tiny", "input": [1, 16, 16], "num_classes": 4, "body": [
    {"block": "conv", "out": 8, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 16, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}


def training_window(qtbot, tmp_path, spec: dict):
    """The app on ``spec``, its Training tab shown, runs kept under tmp_path."""
    w = make_window(qtbot, tmp_path)
    w.open_spec(parse_spec(spec))
    tab = w.pages_extra.training
    tab.runs.root.setText(str(tmp_path / "runs"))
    w.pages_extra.show(tab)
    return w


@pytest.fixture
def window(qtbot, tmp_path):
    return training_window(qtbot, tmp_path, SPEC)


def prepare(qtbot, tab, data: str = DATA, epochs: int = 1, batch: int = 16) -> None:
    assert tab.chooser.set_source(data)
    tab.chooser.load_now()
    qtbot.waitUntil(lambda: tab.chooser.data is not None, timeout=60_000)
    tab.form.editors["epochs"].set_value(epochs)
    tab.form.editors["batch_size"].set_value(batch)
    assert tab.form.config() is not None


def train_and_wait(qtbot, tab, button=None) -> None:
    qtbot.mouseClick(button or tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running()
    qtbot.waitUntil(lambda: not tab.running(), timeout=120_000)


def test_train_one_epoch_from_the_tab(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab)
    # the preview strip: the first validation images with their labels (witness: the data loaded again)
    data = load_data(DATA, "cpu")
    _, labels = next(data.batches("val", 12, data.normalizer(data.device)))
    strip = tab.chooser.strip
    assert [b.text() for b in strip.buttons] == [data.classes[int(i)] for i in labels]
    # ... and the designer's receptive-field view now draws over the first of them
    rf = window.design.rf.pixmap.pixmap().toImage()
    assert (rf.width(), rf.height()) == (16, 16)
    assert all(rf.pixelColor(x, y).red() == strip.pictures[0][y, x, 0] for x in range(16) for y in range(16))

    train_and_wait(qtbot, tab)
    assert not window.dialogs.errors
    run_dir = tab.last_run
    run = json.loads((run_dir / "run.json").read_text())
    history = load_history(run_dir)
    assert run["status"] == "completed" and run["epochs"] == 1
    # curves: one point per epoch and per step record, the values the run directory holds
    series = tab.curves.series
    assert series["val_acc"].points() == 1 and series["val_acc"].y[0] == pytest.approx(history.epochs[0]["val_acc"])
    assert series["step_loss"].points() == len(history.steps) == 2  # 13 steps, a record every 10 and at the end
    assert series["lr"].points() == 2
    assert tab.progress.value() == 1000 and "completed" in tab.status.text()
    # confusion matrix of the validation split: its accuracy is the epoch's
    m = tab.confusion.matrix
    assert m.shape == (4, 4) and m.sum() == len(data.val) == 51
    assert np.trace(m) / m.sum() == pytest.approx(history.epochs[0]["val_acc"])
    # learned filters: as many kernels as the layers have, drawn from the final weights (rebuilt from disk)
    model = load_checkpoint(run_dir).build()
    load_checkpoint(run_dir).load_into(model)
    v = tab.learned.last
    assert v.first.total == (8, 1) and v.first.rows * v.first.cols >= 8 and v.first.kernel == (3, 3)
    assert tab.learned.first.shape == v.first.image.shape == (v.first.rows * 4 + 1, v.first.cols * 4 + 1)
    assert np.allclose(v.first.image, filter_grid(model, "body.0.conv").image)
    assert "8 filters x 1 channels" in tab.learned.first.caption.text()
    assert v.layer == "body.2.conv" and v.filters.total == (16, 8) and (v.filters.rows, v.filters.cols) == (16, 8)
    assert tab.learned.chosen.shape == (16 * 4 + 1, 8 * 4 + 1)
    # feature maps of the chosen layer, and its effective field beside the theoretical one (analysis)
    assert v.channels == 16 and v.features is not None and tab.learned.features.has_image()
    record = analyze(parse_spec(SPEC)).layer("body.2.conv")
    field = tab.learned.rects[1].rect()
    assert (field.height(), field.width()) == tuple(record.rf_size)
    top, bottom, left, right = v.erf.support
    assert bottom - top + 1 <= record.rf_size[0] and right - left + 1 <= record.rf_size[1]
    # the run is listed
    qtbot.waitUntil(lambda: tab.runs.tree.topLevelItemCount() == 1)
    assert tab.runs.tree.topLevelItem(0).text(0) == run_dir.name


def test_stop_mid_run_then_continue_and_overlay(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab, "synthetic:shapes?n=1200&size=16&channels=1&classes=4", epochs=40)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.curves.series["val_acc"].n >= 1, timeout=60_000)  # stopped within epoch 2 or so
    assert not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running(), timeout=60_000)
    stopped = tab.last_run
    run = json.loads((stopped / "run.json").read_text())
    assert run["status"] == "cancelled" and 1 <= run["epochs"] < 40 and "cancelled" in tab.status.text()
    assert tab.start_button.isEnabled() and not tab.stop_button.isEnabled()
    assert (stopped / "final.pt").exists()  # what was learned until the stop is kept

    # continue it from its checkpoint (one more epoch): a new run that says where it started from
    tab.form.editors["epochs"].set_value(1)
    qtbot.waitUntil(lambda: tab.runs.tree.topLevelItemCount() == 1)
    tab.runs.select(str(stopped))
    train_and_wait(qtbot, tab, tab.runs.continue_button)
    assert tab.last_run != stopped
    config = json.loads((tab.last_run / "config.json").read_text())
    assert config["init_from"] == str(stopped / "final.pt") and not window.dialogs.errors

    # overlay the first run's validation curves: one point per epoch it finished
    qtbot.waitUntil(lambda: tab.runs.tree.topLevelItemCount() == 2)
    tab.runs.set_checked(str(stopped), True)
    qtbot.waitUntil(lambda: stopped.name in tab.curves.overlays, timeout=10_000)
    acc_item = tab.curves.overlays[stopped.name][1]
    assert len(acc_item.getOriginalDataset()[0]) == len(load_history(stopped).epochs)
    tab.runs.set_checked(str(stopped), False)
    assert stopped.name not in tab.curves.overlays


def test_a_source_that_fails_shows_no_pictures_of_the_one_before(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab)
    assert tab.chooser.strip.pictures
    tab.chooser.set_source("multilabel:/no/such/folder")
    tab.chooser.load_now()
    qtbot.waitUntil(lambda: "cannot load" in tab.chooser.status.text(), timeout=30_000)
    assert "no such folder" in tab.chooser.status.text()
    assert tab.chooser.strip.pictures == [] and tab.chooser.strip.buttons == []


def test_bad_input_is_refused_with_the_reason(qtbot, window) -> None:
    tab = window.pages_extra.training
    tab.chooser.string.setText("synthetic:shapes?n=5")
    tab.chooser.string.editingFinished.emit()
    assert "n must be in [10" in tab.chooser.message.text()
    assert not tab.start() and not tab.running()
    (title, text), = window.dialogs.errors
    assert title == "Cannot train" and "n must be in" in text

    tab.chooser.set_source("folder:/no/such/folder")
    tab.chooser.load_now()
    qtbot.waitUntil(lambda: "cannot load" in tab.chooser.status.text(), timeout=30_000)
    assert "no such folder" in tab.chooser.status.text()

    # a network whose shapes fail is reported by the training thread, naming the block
    prepare(qtbot, tab)
    bad = parse_spec({**SPEC, "input": [1, 1, 1]})  # the pool would make 0x0
    assert tab.start(bad)
    qtbot.waitUntil(lambda: not tab.running(), timeout=60_000)
    title, text = window.dialogs.errors[-1]
    assert title == "Training failed" and "body[" in text
    assert tab.start_button.isEnabled()
