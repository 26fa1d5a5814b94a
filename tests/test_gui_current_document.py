"""Issue 11: the designer shows the current document, and edits change only what the person asked
(pytest-qt, offscreen). Each test names the issue item it guards."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from PyQt6.QtCore import QPoint, QPointF, QSettings, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QAbstractSpinBox, QApplication, QLabel

from analysis import analyze
from arch.paths import get_value
from arch.registry import family
from arch.spec import dumps, load, parse_spec
from arch.templates import load_template
from gui import edits
from tests.test_gui_designer import Answers, make_window

STRIDED = {"format": "convsmith/1", "name": "strided", "input": [3, 32, 32], "num_classes": 10, "body": [
    {"block": "conv", "out": 32, "kernel": 3}, {"block": "conv", "out": 64, "kernel": 3, "stride": 2},
    {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]}


def active_window(qtbot, folder: Path):
    """A window with keyboard focus (shortcuts and focus-dependent behaviour need it)."""
    window = make_window(qtbot, folder)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window


def header_name(window) -> str:
    return window.design.inspector.widget().findChild(QLabel, "subtitle").text()


def test_item01_inspector_header_follows_the_document(qtbot, tmp_path) -> None:
    window = active_window(qtbot, tmp_path)
    window.new_document("resnet18")
    window.hub.select("")
    assert header_name(window) == "ResNet-18"
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Ctrl+N: a new empty network
    assert window.document.spec.name == "Untitled"
    assert header_name(window) == "Untitled" == window.design.inspector.rows["name"].editor.value()
    window.design.documents.setCurrentIndex(window.tab_docs.index(window.workspace.documents[-2]))  # switch back
    assert header_name(window) == "ResNet-18" == window.design.inspector.rows["name"].editor.value()
    window.hub.apply(edits.set_setting, "name", "Renamed")  # and a rename shows at once
    assert header_name(window) == "Renamed"


def test_item08_wrap_in_stage_keeps_the_network(qtbot, tmp_path) -> None:
    window = active_window(qtbot, tmp_path)
    window.open_spec(parse_spec(STRIDED))
    before = analyze(window.document.spec)
    window.hub.select("body[1]")
    window.design.editor.tree.setFocus()
    qtbot.keyClick(window.design.editor.tree, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    spec = window.document.spec
    assert spec.body[1].block == "stage" and spec.body[1].params["repeat"] == 1
    assert spec.body[1].params["first"] == {"stride": 2}  # a later repeat > 1 down-samples once
    after = analyze(spec)
    assert after.totals == before.totals  # params, MACs, FLOPs, memory: exactly the network it was
    assert after.blocks[1].out_shape == before.blocks[1].out_shape == (64, 16, 16)


def test_item10_wheel_over_an_unfocused_spin_box_scrolls_the_form(qtbot, tmp_path) -> None:
    window = active_window(qtbot, tmp_path)
    window.resize(1024, 700)
    tab = window.pages_extra.training
    window.pages_extra.show(tab)
    editor = tab.form.editors["batch_size"]
    box = editor.box
    before = box.value()
    scroll = tab.form.parentWidget()
    while scroll is not None and not hasattr(scroll, "verticalScrollBar"):
        scroll = scroll.parentWidget()
    bar = scroll.verticalScrollBar()
    bar.setValue(0)
    window.design.diagram.setFocus()
    assert not box.hasFocus()
    centre = QPointF(box.rect().center())
    for _ in range(3):
        event = QWheelEvent(centre, QPointF(box.mapToGlobal(box.rect().center())), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(box.lineEdit(), event)
    assert box.value() == before  # the value did not move ...
    assert not box.hasFocus()  # ... the wheel gave it no focus ...
    assert bar.maximum() == 0 or bar.value() > 0  # ... and the form scrolled (when it can)
    box.setFocus()
    assert box.hasFocus()
    event = QWheelEvent(centre, QPointF(box.mapToGlobal(box.rect().center())), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(box, event)
    assert box.value() != before  # a focused field does take the wheel


def test_item11_out_of_range_typing_shows_the_reason(qtbot, tmp_path) -> None:
    window = active_window(qtbot, tmp_path)
    window.new_document("lenet5")
    window.hub.select("body[0]")
    row = window.design.inspector.rows["body[0].kernel"]
    box = row.editor.boxes[0]
    top = int(family("conv").field_map["kernel"].max)
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), str(top + 1))  # over the declared maximum
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert box.lineEdit().text().replace(",", "") == str(top + 1)  # not silently cut to its first digit
    assert f"at most {top}" in row.message.text() and not row.message.isHidden()
    assert get_value(window.document.spec, "body[0].kernel") == 5  # nothing applied
    # the training form says why too
    form = window.pages_extra.training.form
    epochs = form.editors["epochs"].box
    epochs.lineEdit().selectAll()
    qtbot.keyClicks(epochs.lineEdit(), "0")
    qtbot.keyClick(epochs.lineEdit(), Qt.Key.Key_Return)
    assert "epochs" in form.problems.text() and "at least 1" in form.problems.text()


def test_item12_ctrl_z_from_a_field_undoes_merged_steps(qtbot, tmp_path) -> None:
    window = active_window(qtbot, tmp_path)
    window.new_document("lenet5")
    window.hub.select("body[0]")
    stack = window.hub.undo_group.activeStack()
    before = dumps(window.document.spec)
    box = window.design.inspector.rows["body[0].kernel"].editor.boxes[0]
    box.setFocus()
    for _ in range(3):  # three arrow clicks: 5 -> 8
        box.stepBy(1)
    assert get_value(window.document.spec, "body[0].kernel") == 8
    assert stack.count() == 1  # one undo entry for consecutive steps on one field
    assert QApplication.focusWidget() in (box, box.lineEdit())
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # focus still in the field
    assert dumps(window.document.spec) == before and not window.document.dirty
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert get_value(window.document.spec, "body[0].kernel") == 8
    # another field is another undo entry
    window.design.inspector.rows["body[0].out"].editor.box.stepBy(1)
    assert stack.count() == 2


def test_item16_fields_without_effect_are_greyed_with_the_reason(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.new_document()
    window.hub.apply(edits.add_family, "residual")
    window.hub.select("body[0]")
    inspector = window.design.inspector
    expansion = inspector.rows["body[0].expansion"]
    assert not expansion.editor.isEnabled() and "bottleneck" in expansion.editor.toolTip()
    assert not inspector._labels["body[0].expansion"].isEnabled()
    assert inspector.rows["body[0].groups"].editor.isEnabled()  # groups does act on the basic block's 3x3
    window.hub.apply(edits.set_field, "body[0].kind", "bottleneck")
    assert expansion.editor.isEnabled() and "out / inner width" in expansion.editor.toolTip()
    form = window.pages_extra.training.form
    momentum = form.editors["momentum"]
    assert form.editors["optimizer"].value() == "adamw"
    assert not momentum.isEnabled() and "sgd" in momentum.toolTip()
    form.editors["optimizer"].box.setCurrentIndex(form.editors["optimizer"].choices.index("sgd"))
    form.editors["optimizer"].box.activated.emit(form.editors["optimizer"].box.currentIndex())
    assert momentum.isEnabled() and "momentum" in momentum.toolTip()


def test_item15_lints_dismissed_per_document_and_infos_not_counted(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.new_document("resnet18")
    panel = window.design.lints
    lints = analyze(window.document.spec).lints
    warnings = sum(lint.severity == "warning" for lint in lints)
    assert window.stats["lints"].text() == (f"{warnings} ⚠" if warnings else "no warnings")  # infos not counted
    victim = panel.lints[0]
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    qtbot.mouseClick(panel.dismiss, Qt.MouseButton.LeftButton)
    assert all((lint.code, lint.block) != (victim.code, victim.block) for lint in panel.lints)
    assert len(panel.lints) == len(lints) - 1 and "1 dismissed" in panel.status.text()
    path = tmp_path / "resnet.json"
    assert window.save_as(path=path)
    assert json.loads(path.read_text())["dismissed_lints"] == [f"{victim.code}@{victim.block}"]
    window.new_document("resnet18")  # another document: its own lints, none dismissed
    assert len(panel.lints) == len(lints)
    other = make_window(qtbot, tmp_path / "again")
    other.open_file(path)  # saved with the document
    assert len(other.design.lints.lints) == len(lints) - 1
    assert load(path).body == window.workspace.documents[0].spec.body  # nothing built changed


def usable(window) -> bool:
    docks = window.design.docks
    return (all(docks[k].width() >= 180 for k in ("palette", "editor", "inspector"))
            and docks["inspector"].height() >= 150 and docks["analysis"].height() >= 100
            and window.design.diagram.width() >= 250 and window.design.diagram.height() >= 150)


def test_item06_reset_layout_restores_a_usable_window(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.new_document("resnet18")
    window.resize(1024, 700)
    qtbot.wait(20)
    window.resize(window.minimumSizeHint())  # shrink to the minimum and back
    qtbot.wait(20)
    window.resize(1024, 700)
    qtbot.wait(20)
    window.reset_layout()
    qtbot.wait(20)
    assert usable(window)
    for size in ((1280, 800), (1600, 1000), (1024, 700)):  # at any size from 1024x700 up
        window.resize(*size)
        window.reset_layout()
        qtbot.wait(20)
        assert usable(window), size
    window.resize(window.minimumSizeHint())
    qtbot.wait(20)
    window.close()  # saved while squeezed: the next launch is usable all the same
    again = make_window(qtbot, tmp_path)
    again.resize(1024, 700)
    qtbot.wait(20)
    assert usable(again)


def test_item04_places_are_absolute_and_remembered(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    window = make_window(qtbot, tmp_path)
    runs = window.pages_extra.training.runs
    assert Path(runs.root.text()).is_absolute()
    runs.root.setText("my-runs")
    runs.root.editingFinished.emit()
    assert runs.root.text() == str(tmp_path / "my-runs")  # shown where it really is
    window.pages_extra.search.form.root.setText("my-studies")
    window.pages_extra.training.chooser.set_source("folder:data")
    window.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # started from another folder: still the same places
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("places/runs") == str(tmp_path / "my-runs")
    again = make_window(qtbot, tmp_path)
    assert again.pages_extra.training.runs.folder() == tmp_path / "my-runs"
    assert again.pages_extra.search.form.folder() == tmp_path / "my-studies"
    assert again.pages_extra.training.chooser.source() == f"folder:{tmp_path / 'data'}"


def fake_run(folder: Path, spec) -> Path:
    """A run directory as the training loop leaves it (only what the runs list reads)."""
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text(dumps(spec))
    (folder / "run.json").write_text(json.dumps({"status": "completed", "spec_name": spec.name, "started": 1.0,
                                                 "epochs": 1, "best_val_acc": 0.5, "final_val_acc": 0.5,
                                                 "elapsed": 1.0}))
    (folder / "config.json").write_text(json.dumps({"data": {"source": "synthetic:shapes"}}))
    (folder / "history.json").write_text(json.dumps({"epochs": [], "steps": []}))
    return folder


def test_item03_runs_match_what_is_built(qtbot, tmp_path) -> None:
    from gui.compare_model import Network

    trained = dataclasses.replace(load_template("lenet5"), num_classes=4)
    run = fake_run(tmp_path / "runs" / "lenet-1", trained)
    window = make_window(qtbot, tmp_path)
    window.pages_extra.training.runs.set_folder(tmp_path / "runs")
    doc = window.new_document("lenet5")
    # made searchable, renamed, described: the same network is built, so its run is still its run
    window.hub.apply(edits.set_setting, "name", "LeNet, renamed")
    window.hub.apply(edits.set_setting, "description", "a note")
    spec = dataclasses.replace(doc.spec, search={"body[0].out": {"choices": [6, 8]}})
    doc.set_spec(spec)
    runs = window.pages_extra.training.runs
    qtbot.waitUntil(lambda: runs.latest_match() == str(run), timeout=10_000)
    assert runs.tree.topLevelItemCount() == 1
    compare = window.pages_extra.compare
    net = compare.add(Network("mine", doc.spec, "document"))
    qtbot.waitUntil(lambda: net.key in compare.loaded, timeout=20_000)
    assert compare.loaded[net.key].run_dir == run
    assert not any("no training run" in n for n in compare.loaded[net.key].notes)
    # a network that builds differently is not matched
    window.hub.apply(edits.set_field, "body[0].out", 8)
    qtbot.waitUntil(lambda: runs.latest_match() is None, timeout=10_000)
    assert runs.tree.topLevelItemCount() == 0


def test_item12_undo_router_only_claims_undo_keys(qtbot, tmp_path) -> None:
    """Typing in a field still works (the filter declines only undo / redo shortcuts)."""
    window = make_window(qtbot, tmp_path)
    window.new_document()
    window.hub.select("")
    name = window.design.inspector.rows["name"].editor.box
    name.setFocus()
    name.selectAll()
    qtbot.keyClicks(name, "Net")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    assert window.document.spec.name == "Net"
    assert isinstance(window.pages_extra.training.form.editors["epochs"].box, QAbstractSpinBox)
    assert isinstance(Answers(), Answers)
