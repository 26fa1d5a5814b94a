"""The Search page (pytest-qt, offscreen, tiny synthetic data): declare the space through the inspector's
menu and the dialogs (undoable, validated), run a 2-trial study from the tab, close the window while it
runs and find it again in a new window, open a trial in the designer, stop and resume a study. Every
figure shown is checked against the study's storage read independently, or the analysis engine."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QPoint, Qt, QTimer
from PyQt6.QtGui import QContextMenuEvent
from PyQt6.QtWidgets import QApplication, QLabel

from analysis import analyze
from arch.builder import build
from arch.search_space import parse_space
from arch.spec import dumps, parse_spec
from gui.search_dialogs import RangeDialog, SlotDialog
from search import open_study, pareto_front, trial_spec
from search.liveness import pid_alive
from tests.test_gui_designer import make_window

DATA = "synthetic:shapes?n=320&size=16&channels=1&classes=4"
BASE = {"format": "convsmith/1", "name": "tiny", "input": [1, 16, 16], "num_classes": 4, "body": [
    {"block": "conv", "out": 8, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 16, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}
SEARCHED = {**BASE, "search": {"body[0].out": {"choices": [4, 8]}, "body[2].kernel": {"choices": [3, 5]}}}


def open_window(qtbot, folder, spec: dict):
    w = make_window(qtbot, folder)
    w.open_spec(parse_spec(spec))
    w.pages_extra.show(w.pages_extra.search)
    return w


def answer_dialog(fill) -> None:
    """Fill and accept the next modal dialog (the one the action opens)."""
    def run() -> None:
        dialog = QApplication.activeModalWidget()
        fill(dialog)
        assert dialog.check()
        dialog.accept()
    QTimer.singleShot(0, run)


def setup_study(tab, root, name: str, trials: int, epochs: int, data: str = DATA) -> None:
    form = tab.form
    form.root.setText(str(root))
    form.study.setText(name)
    form.data.setText(data)
    form.trials.setValue(trials)
    form.epochs.setValue(epochs)


def test_search_space_through_the_inspector_menu_and_dialogs(qtbot, tmp_path) -> None:
    window = open_window(qtbot, tmp_path, BASE)
    space = window.pages_extra.search.space
    window.hub.select("body[0]")
    # a right-click on a field's label asks for the field's menu, which offers "Make searchable…"
    label = next(lab for lab in window.design.inspector.findChildren(QLabel) if lab.text() == "out")
    window.design.inspector.field_menu.disconnect(space.field_menu)  # no modal popup in a test
    with qtbot.waitSignal(window.design.inspector.field_menu) as signal:
        QApplication.sendEvent(label, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(2, 2)))
    assert signal.args[0] == "body[0].out"
    texts = [a.text() for a in space.menu_for("body[0].out").actions() if a.text()]
    assert texts == ["Make searchable…", "Search the block family of body[0]…"]

    # choosing it opens the dialog; the declaration is one undoable edit of the spec
    answer_dialog(lambda d: (d.is_choices.setChecked(True), d.values.setText("4, 8")))
    action = next(a for a in space.menu_for("body[0].out").actions() if a.text() == "Make searchable…")
    action.trigger()
    spec = window.document.spec
    assert spec.search == {"body[0].out": {"choices": [4, 8]}}
    assert parse_space(spec).size() == (1, 2) and "1 dimension, 2 configurations" in space.summary.text()
    assert space.tree.topLevelItemCount() == 1 and space.tree.topLevelItem(0).text(1) == "{4, 8}"
    window.hub.undo_group.undo()
    assert window.document.spec.search == {} and "nothing searched" in space.summary.text()
    window.hub.undo_group.redo()
    assert window.document.spec.search == {"body[0].out": {"choices": [4, 8]}}

    # a range dialog refuses an empty range (OK disabled, the reason shown), then takes a valid one
    dialog = RangeDialog(window.document.spec, "body[2].kernel")
    dialog.is_range.setChecked(True)
    dialog.low.setText("5")
    dialog.high.setText("3")
    assert not dialog.check() and "empty range" in dialog.message.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.low.setText("3")
    dialog.high.setText("7")
    dialog.step.setText("2")
    assert dialog.check() and dialog.declaration() == {"int": [3, 7], "step": 2}
    assert space.apply("body[2].kernel", dialog.declaration())
    # fields that cannot be searched say why; a family slot and a training knob
    texts = [a.text() for a in space.menu_for("body[0].label").actions()]
    assert texts[0].startswith("Make searchable… (not a searchable field")
    slot = SlotDialog(window.document.spec, "body[2]")
    slot.set_chosen(["residual"])
    assert not slot.check() and "inside a block-choice slot" in slot.message.text()  # body[2].kernel is searched
    assert space.remove("body[2].kernel")
    slot = SlotDialog(window.document.spec, "body[2]")
    slot.set_chosen(["residual"])
    assert slot.check() and [b["block"] for b in slot.declaration()["blocks"]] == ["conv", "residual"]
    assert space.apply("body[2]", slot.declaration())
    knob = RangeDialog(window.document.spec, "train.lr")
    knob.is_range.setChecked(True)
    knob.low.setText("0.001")
    knob.high.setText("0.01")
    knob.log.setChecked(True)
    assert knob.check() and space.apply("train.lr", knob.declaration())
    n, size = parse_space(window.document.spec).size()
    assert (n, size) == (3, None) and "3 dimensions, continuous" in space.summary.text()  # out, family, lr
    assert len(window.hub.undo_group.activeStack()) == 5  # each declaration one undo step


def test_two_trial_search_survives_closing_the_window(qtbot, tmp_path) -> None:
    root = tmp_path / "studies"
    first = open_window(qtbot, tmp_path / "a", SEARCHED)
    tab = first.pages_extra.search
    setup_study(tab, root, "gui", trials=2, epochs=10, data="synthetic:shapes?n=1000&size=16&channels=1&classes=4")
    tab.form.objectives["macs"].setChecked(True)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running() and not tab.start_button.isEnabled()  # opening the storage, then the process starts
    qtbot.waitUntil(lambda: tab.shown is not None and tab.shown.coordinator is not None, timeout=30_000)
    assert not first.dialogs.errors and tab.running()
    pid = tab.shown.coordinator.pid
    qtbot.waitUntil(lambda: any(r.state == "running" for r in tab.model.records), timeout=90_000)
    first.close()  # mid-study: the study lives in its own process and its storage
    assert pid_alive(pid)

    second = open_window(qtbot, tmp_path / "b", BASE)
    tab = second.pages_extra.search
    tab.form.root.setText(str(root))
    tab.scan(show=True)
    assert tab.shown.name == "gui" and tab.studies.currentText().startswith("gui")
    qtbot.waitUntil(lambda: not tab.running() and tab.model.rowCount() == 2
                    and all(r.state == "complete" for r in tab.model.records), timeout=120_000)
    assert not pid_alive(pid)
    # the table shows what the storage holds (read independently)
    stored = {r.number: r for r in open_study("gui", None, root).records}
    assert sorted(stored) == [0, 1]
    headers = [tab.model.headerData(c, Qt.Orientation.Horizontal) for c in range(tab.model.columnCount())]
    assert {"body[0].out", "body[2].kernel"} <= set(headers) and headers[-1] == "Reason"
    for row in range(2):
        rec = stored[tab.model.record(row).number]
        assert tab.model.index(row, 2).data() == f"{100 * rec.accuracy:.2f} %"
        assert tab.model.index(row, headers.index("body[2].kernel")).data() == str(rec.params["body[2].kernel"])
    # the plots (drawn one per timer tick): every complete trial in the history, a learning curve each, the
    # front highlighted
    qtbot.waitUntil(lambda: not tab.plots.pending and len(tab.plots.lines) == 2, timeout=10_000)
    assert len(tab.plots.done.getData()[0]) == 2
    assert all(len(line.getData()[0]) == 10 for line in tab.plots.lines.values()) and len(tab.plots.lines) == 2
    front = {r.number for r in pareto_front(list(stored.values()), ["accuracy", "macs"])}
    assert set(tab.plots.front_numbers) == front and front

    # clicking a trial shows its analysis; double-clicking opens it in the designer
    view = tab.proxy.mapFromSource(tab.model.index(tab.model.row_of(1), 0))
    rect = tab.table.visualRect(view)
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    spec = trial_spec("gui", 1, None, root)
    params = analyze(spec).totals.params
    assert params == sum(p.numel() for p in build(spec).parameters())
    qtbot.waitUntil(lambda: f"{params:,}" in tab.details.toPlainText(), timeout=10_000)
    before = len(second.workspace.documents)
    qtbot.mouseDClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(second.workspace.documents) == before + 1
    assert dumps(second.document.spec) == dumps(spec) and second.pages.currentWidget() is second.design
    assert second.hub.evaluation.report.totals.params == params
    # and it can be compared with other networks
    tab.select_trial(0)
    qtbot.mouseClick(tab.compare_button, Qt.MouseButton.LeftButton)
    assert [n.label for n in second.pages_extra.compare.networks] == ["gui #0"]


@pytest.mark.timeout(240)
def test_stop_then_resume_a_study(qtbot, tmp_path) -> None:
    root = tmp_path / "studies"
    window = open_window(qtbot, tmp_path, SEARCHED)
    tab = window.pages_extra.search
    setup_study(tab, root, "halt", trials=2, epochs=40, data="synthetic:shapes?n=1200&size=16&channels=1&classes=4")
    assert tab.start()
    qtbot.waitUntil(lambda: any(r.state == "running" and r.curve for r in tab.model.records), timeout=90_000)
    qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running(), timeout=90_000)
    qtbot.waitUntil(lambda: any(r.state == "interrupted" for r in tab.model.records)
                    and tab.resume_button.isEnabled(), timeout=30_000)  # the next poll sees the process gone
    assert not window.dialogs.errors and "not running" in tab.status.text()
    stored = open_study("halt", None, root).records
    assert [r.state for r in stored if r.state == "interrupted"] and not any(r.state == "complete" for r in stored)

    # resume: the same study and settings; its retry and the rest run (a smaller budget for the test)
    tab.form.epochs.setValue(1)  # ignored: a study keeps the epochs it was started with
    tab.form.timeout.setText("1")  # start no new trial after 1 s: only the interrupted one's retry runs
    assert tab.resume()
    assert tab.form.epochs.value() == 40 and tab.running()
    qtbot.waitUntil(lambda: any(r.retry_of is not None and r.state == "running" for r in tab.model.records),
                    timeout=90_000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running(), timeout=90_000)
    assert not window.dialogs.errors
    retried = [r for r in open_study("halt", None, root).records if r.retry_of is not None]
    assert retried and retried[0].params == next(r.params for r in stored if r.state == "interrupted")

    # the same study name for another search space is refused at once, naming what differs
    window.open_spec(parse_spec({**SEARCHED, "search": {"body[0].out": {"choices": [4, 16]}}}))
    tab.form.study.setText("halt")
    assert tab.start()
    qtbot.waitUntil(lambda: not tab.running(), timeout=30_000)
    title, text = window.dialogs.errors[-1]
    assert title == "Cannot start the study" and "different spec" in text


def test_a_study_that_cannot_run_says_why(qtbot, tmp_path) -> None:
    window = open_window(qtbot, tmp_path, BASE)
    tab = window.pages_extra.search
    setup_study(tab, tmp_path / "studies", "x", trials=2, epochs=1)
    assert not tab.start()
    assert "declares nothing to search" in window.dialogs.errors[-1][1]
    window.open_spec(parse_spec(SEARCHED))
    tab.form.limits["max_macs"].setText("lots")
    tab.form.data.setText("synthetic:shapes?n=5")
    assert not tab.start()
    text = window.dialogs.errors[-1][1]
    assert "max_macs: expected a number such as 300k" in text and "data:" in text and "n must be in" in text
    assert tab.shown is None and not (tmp_path / "studies" / "x").exists()
