"""Issue 18: validation top-5 (a curve beside top-1, a runs-table column) and per-class accuracy (a table named
by class) on the Training page, live and for a past run (pytest-qt, offscreen, tiny synthetic data). The witness
is a recount from the final checkpoint's logits on the validation set, against which both the run records and
the figures shown are checked."""

from __future__ import annotations

import json

import pytest
import torch
from PyQt6.QtCore import Qt

from arch.spec import parse_spec
from gui.runs_panel import TOP5_COLUMN
from gui.train_views import TOP5, PerClassView, percent
from tests.test_gui_training import DATA, SPEC, prepare, training_window
from tests.test_training_support import tiny_source, tiny_spec
from training import load_checkpoint, load_data
from training.config import TrainConfig
from training.loop import train
from training.runs import History, list_runs, load_history

DATA6 = "synthetic:shapes?n=300&size=16&channels=1&classes=6"  # more than 5 classes: top-5 is measured
SPEC6 = {**SPEC, "name": "tiny6", "num_classes": 6}


def recount(model: torch.nn.Module, source: str) -> tuple[float, list[float | None]]:
    """Top-5 and per-class accuracy counted from the model's logits on the validation split, by hand."""
    data = load_data(source, "cpu")
    xs, ys = zip(*data.batches("val", 1000, data.normalizer(data.device)))
    with torch.no_grad():
        out = model.eval()(torch.cat(xs))
    y = torch.cat(ys)
    beaten_by = (out > out.gather(1, y[:, None])).sum(1)  # logits above the true class's
    pred = out.argmax(1)
    per_class = [float((pred[y == c] == c).float().mean()) if bool((y == c).any()) else None
                 for c in range(out.shape[1])]
    return float((beaten_by < 5).float().mean()), per_class


def final_model(run_dir) -> torch.nn.Module:
    ckpt = load_checkpoint(run_dir, "final")
    return ckpt.load_into(ckpt.build())


def expected_rows(classes: list[str], accuracy: list[float | None]) -> list[tuple[int, str, str]]:
    order = sorted(range(len(accuracy)), key=lambda i: (accuracy[i] is None, accuracy[i] or 0.0, i))
    return [(i, classes[i], percent(accuracy[i], "no image")) for i in order]


def legend_labels(tab) -> list[str]:
    return [label.text for _, label in tab.curves.acc.getPlotItem().legend.items]


def row_of(tab, run_dir):
    for i in range(tab.runs.tree.topLevelItemCount()):
        item = tab.runs.tree.topLevelItem(i)
        if item.text(0) == run_dir.name:
            return item
    return None


def test_records_hold_the_recounted_top5_and_per_class_accuracy(tmp_path) -> None:
    """Not GUI: what the views draw (EpochRecord, history.json, run.json, the run listing) is the recount."""
    source = tiny_source(n=200, size=16, channels=3)  # 6 classes
    records = list(train(tiny_spec(), load_data(source), TrainConfig(epochs=2, batch_size=16, threads=1,
                                                                     histograms=False), run_dir=tmp_path / "run"))
    last = [r for r in records if r.kind == "epoch"][-1]
    top5, per_class = recount(final_model(tmp_path / "run"), source)
    assert last.val_top5 == pytest.approx(top5) and last.per_class_acc == pytest.approx(per_class)
    history = load_history(tmp_path / "run")
    assert [row["per_class_acc"] for row in history.epochs] == [r.per_class_acc for r in records
                                                                if r.kind == "epoch"]
    assert history.epochs[-1]["val_top5"] == pytest.approx(top5)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["final_val_top5"] == pytest.approx(top5)
    assert list_runs(tmp_path)[0].final_val_top5 == pytest.approx(top5)
    assert "per_class_acc" not in (tmp_path / "run" / "history.csv").read_text()  # lists stay out of the CSV


@pytest.fixture
def window(qtbot, tmp_path):
    return training_window(qtbot, tmp_path, SPEC6)


def test_top5_curve_column_and_per_class_table_live_and_for_a_past_run(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab, DATA6, epochs=2)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running(), timeout=120_000)
    assert not window.dialogs.errors
    run = tab.last_run
    history = load_history(run)
    classes = load_data(DATA6, "cpu").classes
    top5, per_class = recount(final_model(run), DATA6)
    assert history.epochs[-1]["val_top5"] == pytest.approx(top5)
    assert history.epochs[-1]["per_class_acc"] == pytest.approx(per_class)

    def check_curve() -> None:
        s = tab.curves.series["val_top5"]
        assert s.points() == 2 and s.item.isVisible() and legend_labels(tab).count(TOP5) == 1
        assert list(s.y[:2]) == pytest.approx([row["val_top5"] for row in history.epochs])
        assert s.y[1] == pytest.approx(top5)

    # live: drawn from the records as they came
    check_curve()
    assert tab.per_class.rows() == expected_rows(classes, per_class)
    assert tab.per_class.epoch.currentText() == "epoch 2"
    qtbot.waitUntil(lambda: row_of(tab, run) is not None, timeout=10_000)
    assert row_of(tab, run).text(TOP5_COLUMN) == percent(top5)
    assert tab.runs.tree.headerItem().text(TOP5_COLUMN) == "Final top-5"

    # a past run: a fresh page shows nothing, then the run picked in the list
    tab.curves.start(1, 1, 1e-3)
    tab.per_class.start([])
    assert tab.curves.series["val_top5"].points() == 0 and TOP5 not in legend_labels(tab)
    assert not tab.curves.series["val_top5"].item.isVisible() and tab.per_class.rows() == []
    tab.runs.select(str(run))
    qtbot.waitUntil(lambda: tab.curves.series["val_top5"].points() == 2 and bool(tab.per_class.rows()), timeout=20_000)
    check_curve()
    assert tab.per_class.rows() == expected_rows(classes, per_class)
    tab.per_class.epoch.setCurrentIndex(0)  # the first epoch, as recorded
    assert tab.per_class.rows() == expected_rows(classes, history.epochs[0]["per_class_acc"])
    assert tab.per_class.caption.text().startswith("epoch 1: 6 classes")


def test_five_classes_or_fewer_draw_no_top5(qtbot, window) -> None:
    tab = window.pages_extra.training
    window.open_spec(parse_spec(SPEC))  # 4 classes
    prepare(qtbot, tab, DATA, epochs=1)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running(), timeout=120_000)
    run = tab.last_run
    history = load_history(run)
    assert history.epochs[0]["val_top5"] is None
    s = tab.curves.series["val_top5"]
    assert s.points() == 0 and not s.item.isVisible() and TOP5 not in legend_labels(tab)  # no line at zero
    assert tab.curves.series["val_acc"].points() == 1
    qtbot.waitUntil(lambda: row_of(tab, run) is not None, timeout=10_000)
    assert row_of(tab, run).text(TOP5_COLUMN) == "-"
    _, per_class = recount(final_model(run), DATA)
    assert tab.per_class.rows() == expected_rows(load_data(DATA, "cpu").classes, per_class)


def test_a_run_without_per_class_records_says_so(qtbot, tmp_path) -> None:
    view = PerClassView()
    qtbot.addWidget(view)
    old = History(tmp_path / "old-run", {}, {"data": {"classes": ["a", "b"]}},
                  [{"epoch": 1, "step": 3, "val_acc": 0.5}])
    view.show_history(old)
    assert view.rows() == [] and "old-run did not record per-class accuracy" in view.caption.text()
    new = History(tmp_path / "new-run", {}, {"data": {"classes": ["a", "b", "c"]}},
                  [{"epoch": 1, "per_class_acc": [0.5, None, 0.25]}])
    view.show_history(new)
    assert view.rows() == [(2, "c", "25.00 %"), (0, "a", "50.00 %"), (1, "b", "no image")]
    assert view.caption.text() == "epoch 1: 3 classes, worst first; 1 without a validation image"
