"""The designer window driven like a person would (pytest-qt, offscreen): palette, editor, inspector,
undo, files, recovery, diagram, receptive-field view, lints. Dialogs are answered by a stub."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PyQt6.QtGui import QDropEvent, QImage

from analysis import analyze
from analysis.formats import count, hw
from arch.paths import get_value
from arch.spec import dumps
from arch.templates import load_template
from gui import edits
from gui.dialogs import Dialogs
from gui.main_window import MainWindow
from gui.palette import FAMILY_MIME


class Answers(Dialogs):
    """Scripted answers instead of modal dialogs; records what was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.asked: list[str] = []
        self.discard = "discard"
        self.restore = True

    def open_path(self, parent, title, filter=""):  # noqa: A002
        return self.paths.pop(0) if self.paths else None

    def save_path(self, parent, title, suggested, filter=""):  # noqa: A002
        return self.paths.pop(0) if self.paths else None

    def confirm_discard(self, parent, name):
        self.asked.append(name)
        return self.discard

    def ask_restore(self, parent, names):
        self.asked.extend(names)
        return self.restore

    def error(self, parent, title, text):
        self.errors.append((title, text))

    def info(self, parent, title, text):
        pass


def make_window(qtbot, folder: Path) -> MainWindow:
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_dir=folder / "recovery", dialogs=Answers(),
                        autosave_ms=3_600_000)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, tmp_path) -> MainWindow:
    return make_window(qtbot, tmp_path)


def spec_of(window: MainWindow):
    return window.document.spec


def double_click_palette(qtbot, window: MainWindow, family: str) -> None:
    tree = window.design.palette.tree
    item = window.design.palette.items[("family", family)]
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # Qt needs the press first
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def editor_rows(window: MainWindow) -> list[str]:
    model = window.design.editor.model
    return [model.item(r, 0).text() for r in range(model.rowCount())]


# ------------------------------------------------------------------------------------ building
def test_build_a_network_through_the_palette(qtbot, window) -> None:
    window.new_document()
    window.hub.select("")
    for family in ("conv", "residual"):
        double_click_palette(qtbot, window, family)
    assert window.hub.selection == "body[1]"
    qtbot.keyClick(window.design.editor.tree, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # wrap in stage
    for family in ("inverted_residual", "global_pool", "flatten", "classifier"):
        double_click_palette(qtbot, window, family)
    spec = spec_of(window)
    assert [b.block for b in spec.body] == ["conv", "stage", "inverted_residual", "global_pool", "flatten",
                                            "classifier"]
    assert spec.body[1].params["unit"].block == "residual"
    assert len(window.hub.undo_group.activeStack()) == 7
    assert window.hub.undo_group.activeStack().text(2) == "Wrap body[1] in a stage"

    rep = analyze(spec)
    # the editor lists every block with its output shape
    rows = editor_rows(window)
    assert len(rows) == 6 and rows[1].startswith("1  stage x1: residual basic 64")  # wrapping keeps the network
    out = window.design.editor.model.item(5, 1).text()
    assert out == "10" == "x".join(map(str, rep.blocks[-1].out_shape))
    # totals: the status bar and the table footer show the engine's figures for the same spec
    assert window.stats["params"].text() == f"{count(rep.totals.params)} params"
    assert window.stats["macs"].text() == f"{count(rep.totals.macs)} MACs"
    assert window.stats["rf"].text() == f"RF {hw(rep.receptive_field.size)}"
    assert f"{rep.totals.params:,}" in window.design.analysis.totals.text()
    assert window.design.analysis.models["Layers"].rowCount() == len(rep.layers)
    # ... and an independent witness: the built torch model
    import torch

    from arch.builder import build

    torch.set_num_threads(1)
    model = build(spec)
    assert sum(p.numel() for p in model.parameters()) == rep.totals.params
    # the diagram has a box per block, the stage's repeats and the residual branches inside them
    glyphs = window.design.diagram.glyphs
    assert set(glyphs) == {"body[0]", "body[1]", "body[1][0]", "body[2]", "body[3]", "body[4]", "body[5]"}
    residual = glyphs["body[1][0]"].sketch
    assert sum(op[0] == "circle" and op[3] == "+" for op in residual.ops) == 1
    assert any(op[0] == "text" and op[2] == "identity" for op in residual.ops)


def test_drop_from_palette_and_drag_to_reorder(qtbot, window) -> None:
    window.new_document("lenet5")
    tree = window.design.editor.tree
    proxy = window.design.editor.proxy
    first = tree.visualRect(proxy.index(0, 0))

    def drop(mime: QMimeData, at: QPoint) -> None:
        event = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        tree.dropEvent(event)

    palette = window.design.palette
    mime = palette.tree.mimeData([palette.items[("family", "batchnorm")]])  # what dragging a palette row carries
    assert bytes(mime.data(FAMILY_MIME)) == b"batchnorm"
    drop(mime, QPoint(first.center().x(), first.bottom() - 1))  # lower half of row 0: insert after it
    assert [b.block for b in spec_of(window).body[:3]] == ["conv", "batchnorm", "pool"]
    assert window.hub.selection == "body[1]"
    mime = QMimeData()
    mime.setData("application/x-convsmith-move", b"1")
    drop(mime, QPoint(first.center().x(), first.top() + 1))  # upper half of row 0: before it
    assert [b.block for b in spec_of(window).body[:3]] == ["batchnorm", "conv", "pool"]
    assert window.hub.undo_group.activeStack().text(1) == "Move body[1] up"


def test_keyboard_edits_in_the_editor(qtbot, window) -> None:
    window.new_document("lenet5")
    tree = window.design.editor.tree
    tree.setFocus()
    window.hub.select("body[1]")
    qtbot.keyClick(tree, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert [b.block for b in spec_of(window).body[:4]] == ["conv", "pool", "pool", "conv"]
    assert window.hub.selection == "body[2]"
    qtbot.keyClick(tree, Qt.Key.Key_Delete)
    assert len(spec_of(window).body) == 8
    qtbot.keyClick(tree, Qt.Key.Key_Up)  # arrows move the selection
    assert window.hub.selection == "body[1]"
    qtbot.keyClick(tree, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert [b.block for b in spec_of(window).body[1:3]] == ["conv", "pool"]
    qtbot.keyClick(tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(spec_of(window)) == dumps(load_template("lenet5"))
    assert not window.document.dirty
    qtbot.keyClick(tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(spec_of(window).body) == 9 and window.document.dirty


# ----------------------------------------------------------------------------------- inspector
def test_inspector_edit_invalid_value_and_undo(qtbot, window) -> None:
    original = load_template("cifar_cnn")
    window.open_spec(original)
    window.hub.select("body[3]")
    inspector = window.design.inspector
    table = window.design.analysis.models["Layers"]

    def conv_params() -> int:
        return next(r.params for r in table.records if r.name == "body.3.conv")

    before_params = conv_params()
    kernel = inspector.rows["body[3].kernel"]
    kernel.editor.boxes[0].setValue(5)  # linked: both sides become 5 and the edit is committed
    edited = spec_of(window)
    assert get_value(edited, "body[3].kernel") == 5
    assert conv_params() == analyze(edited).layer("body.3.conv").params == 32 * 64 * 25 + 2 * 0
    assert window.hub.undo_group.undoText() == "Set body[3].kernel to 5"

    groups = inspector.rows["body[3].groups"]
    groups.editor.box.setValue(3)  # 3 does not divide 64 output channels
    assert "must divide out 64" in groups.message.text() and not groups.message.isHidden()
    assert groups.editor.error and spec_of(window) is edited  # flagged, not applied
    assert len(window.hub.undo_group.activeStack()) == 1

    window.act_undo.trigger()
    assert dumps(spec_of(window)) == dumps(original) and conv_params() == before_params
    assert inspector.rows["body[3].kernel"].editor.value() == 3
    assert not inspector.rows["body[3].groups"].editor.error
    window.act_redo.trigger()
    assert dumps(spec_of(window)) == dumps(edited) and conv_params() == analyze(edited).layer("body.3.conv").params


def test_inspector_is_generated_for_stages_and_settings(qtbot, window) -> None:
    window.new_document("resnet18")
    window.hub.select("body[3][1]")  # a repeat edits its stage
    inspector = window.design.inspector
    assert {"body[3].repeat", "body[3].unit.out", "body[3].unit.kind", "body[3].first.stride"} <= set(inspector.rows)
    first = inspector.rows["body[3].first.stride"].editor
    assert first.on.isChecked() and first.inner.value() == 2
    first.on.setChecked(False)  # drop the override
    assert "first" not in spec_of(window).body[3].params
    assert window.hub.undo_group.undoText() == "Clear body[3].first.stride"
    inspector.rows["body[3].unit.out"].editor.box.setValue(96)
    assert spec_of(window).body[3].params["unit"].params["out"] == 96
    window.hub.select("")
    assert {"name", "input", "num_classes", "width_mult"} <= set(inspector.rows)
    inspector.rows["input"].editor.boxes[1].setValue(160)
    assert spec_of(window).input == (3, 160, 224)


def test_shape_errors_show_on_the_block_and_the_table_keeps_the_last_analysis(qtbot, window) -> None:
    window.new_document("cifar_cnn")
    good = window.hub.evaluation.report
    window.hub.apply(edits.set_setting, "input", [3, 4, 4])
    ev = window.hub.evaluation
    assert ev.stale and ev.problems[0].path == "body[7]"
    editor = window.design.editor
    output = editor.model.item(7, 1).text()
    assert output.startswith("⚠") and "would become 0x0" in output
    assert editor.model.item(8, 1).text() == "—"  # not reached
    table = window.design.analysis.models["Layers"]
    assert table.stale and table.records == good.layers
    assert "last valid analysis" in window.design.analysis.totals.text()
    glyph = window.design.diagram.glyphs["body[7]"]
    assert any(op[0] == "text" and "would become 0x0" in op[2] for op in glyph.sketch.ops)
    window.act_undo.trigger()
    assert not window.hub.evaluation.stale and not table.stale


# ------------------------------------------------------------------------------------- files
def test_save_close_open_round_trip(qtbot, window, tmp_path) -> None:
    doc = window.new_document("mobilenet_mnist")
    window.hub.select("body[0]")
    box = window.design.inspector.rows["body[0].out"].editor.box
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "24")  # typed, not yet confirmed with Enter
    window.dialogs.paths = [str(tmp_path / "mine.json")]
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # no path yet: asks where
    assert get_value(spec_of(window), "body[0].out") == 24  # the pending value was committed first
    assert not doc.dirty and doc.path == tmp_path / "mine.json"
    saved = dumps(spec_of(window))
    assert (tmp_path / "mine.json").read_text() == saved
    window.close_document(doc)
    assert window.workspace.find(tmp_path / "mine.json") is None and window.dialogs.asked == []
    window.dialogs.paths = [str(tmp_path / "mine.json")]
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert dumps(spec_of(window)) == saved and not window.document.dirty
    assert window.recent_files()[0] == str((tmp_path / "mine.json").resolve())


@pytest.mark.parametrize("text, where", [
    ('{"format": "convsmith/1", "name": "x", "input": [1, 28, 28], "num_classes": 10, '
     '"body": [{"block": "conv"}, {"block": "conv", "kernel": 0}]}', "body[1].kernel: must be >= 1"),
    ('{"format": "convsmith/1", "name": ', "invalid JSON at line 1"),
])
def test_opening_a_bad_file_changes_nothing(qtbot, window, tmp_path, text, where) -> None:
    doc = window.new_document("lenet5")
    before = dumps(doc.spec)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert window.open_file(bad) is None
    (title, message), = window.dialogs.errors
    assert title == "Cannot open bad.json" and where in message
    assert window.document is doc and dumps(doc.spec) == before and window.workspace.documents == [doc]
    assert bad.read_text() == text


def test_unsaved_changes_prompt_on_close(qtbot, window) -> None:
    window.new_document("lenet5")
    window.hub.apply(edits.remove_block, 0)
    window.dialogs.discard = "cancel"
    assert not window.close() and window.isVisible()
    assert window.dialogs.asked == ["LeNet-5"]
    window.dialogs.discard = "discard"
    assert window.close()


def test_autosave_and_restore_after_a_crash(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.new_document("lenet5")
    window.hub.apply(edits.remove_block, 1)
    edited = dumps(spec_of(window))
    window.autosave()
    (file,) = (tmp_path / "recovery").glob("*.json")
    # simulate the crash: the process that wrote it is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record = json.loads(file.read_text())
    record["pid"] = int(dead.stdout)
    file.write_text(json.dumps(record))
    again = make_window(qtbot, tmp_path / "second")
    again.recovery = type(window.recovery)(tmp_path / "recovery")
    assert again.offer_recovery() == 1
    assert dumps(spec_of(again)) == edited and again.document.dirty
    (asked,) = again.dialogs.asked
    assert asked.startswith("LeNet-5, autosaved ")
    again.dialogs.discard = "discard"
    again.close()
    assert not file.exists() and list((tmp_path / "recovery").glob("*.json")) == []


def test_window_layout_is_remembered(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.design.docks["lints"].hide()
    window.resize(700, 520)  # the offscreen screen is 800x600
    window.close()
    again = make_window(qtbot, tmp_path)
    assert again.design.docks["lints"].isHidden() and again.size().width() == 700


def test_exports_run_in_a_worker(qtbot, window, tmp_path) -> None:
    window.new_document("lenet5")
    target = tmp_path / "lenet.py"
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        assert window.export("py", target)
        assert window.busy.isVisible()
    assert not window.busy.isVisible() and not window.dialogs.errors
    assert "class" in target.read_text() and "import torch" in target.read_text()
    report = tmp_path / "lenet.html"
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        window.export("html", report)
    assert f"{analyze(spec_of(window)).totals.params:,}" in report.read_text()
    window.hub.apply(edits.set_setting, "input", [1, 4, 4])  # shapes fail: the export reports why
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        window.export("onnx", tmp_path / "bad.onnx")
    (title, message), = window.dialogs.errors
    assert title == "Cannot export bad.onnx" and "body[" in message and not (tmp_path / "bad.onnx").exists()
    for kind in ("png", "svg"):
        assert window.export_diagram(kind, tmp_path / f"net.{kind}")
    assert not QImage(str(tmp_path / "net.png")).isNull()
    assert "<svg" in (tmp_path / "net.svg").read_text()


# ---------------------------------------------------------------------------- diagram, RF, lints
def test_selection_is_shared_by_diagram_editor_and_table(qtbot, window) -> None:
    window.new_document("resnet18")
    diagram = window.design.diagram
    glyph = diagram.glyphs["body[4][1]"]
    diagram.centerOn(glyph)
    pos = diagram.mapFromScene(glyph.sceneBoundingRect().center())
    qtbot.mouseClick(diagram.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.hub.selection == "body[4][1]" and glyph.selected
    current = window.design.editor.tree.currentIndex()
    assert current.data(Qt.ItemDataRole.UserRole) == "body[4][1]"
    table = window.design.analysis.table
    rows = {index.row() for index in table.selectionModel().selectedRows()}
    blocks = {window.design.analysis.model.records[r].block for r in rows}
    made = [r for r in window.hub.evaluation.report.layers if r.block == "body[4][1]"]
    assert blocks == {"body[4][1]"} and len(rows) == len(made) == 7
    window.hub.select("body[0]")
    assert diagram.glyphs["body[0]"].selected and not glyph.selected


def test_receptive_field_rectangle_matches_the_analysis(qtbot, window) -> None:
    window.new_document("cifar_cnn")
    view = window.design.rf
    window.design.docks["rf"].raise_()
    rep = window.hub.evaluation.report
    view.set_layer("body.4.conv")
    record = rep.layer("body.4.conv")
    rect = view.field_rect()
    assert (rect.height(), rect.width()) == tuple(float(s) for s in record.rf_size)
    row, col = view.rows.value(), view.cols.value()
    cy, cx = (record.rf_offset[0] + row * record.rf_jump[0], record.rf_offset[1] + col * record.rf_jump[1])
    assert rect.center() == QPointF(cx + 0.5, cy + 0.5)
    view.cols.setValue(col + 1)
    assert view.field_rect().center().x() - rect.center().x() == record.rf_jump[1]
    view.canvas.clicked.emit(QPointF(0.6, 0.6))  # a click picks the nearest output unit
    assert (view.rows.value(), view.cols.value()) == (0, 0)
    window.hub.select("body[7]")  # selecting a block shows its last spatial layer
    assert view.layer.currentData() == "body.7.pool"
    assert view.field_rect().width() == rep.layer("body.7.pool").rf_size[1]


def test_receptive_field_view_waits_while_its_tab_is_hidden(qtbot, window) -> None:
    window.new_document("cifar_cnn")
    docks, view = window.design.docks, window.design.rf
    docks["rf"].raise_()
    before = [view.layer.itemText(i) for i in range(view.layer.count())]
    docks["inspector"].raise_()
    assert window.hub.apply(edits.set_field, "body[0].out", 24) is None
    window.hub.select("body[7]")
    assert [view.layer.itemText(i) for i in range(view.layer.count())] == before  # nothing drawn off screen
    docks["rf"].raise_()
    after = [view.layer.itemText(i) for i in range(view.layer.count())]
    assert after != before and any("24x" in text for text in after)
    assert view.layer.currentData() == "body.7.pool"  # the selection made while hidden is followed


def test_lint_fix_is_one_click_and_one_undo_step(qtbot, window) -> None:
    window.open_spec(dataclasses.replace(load_template("resnet18"), input=(3, 8, 8)))
    panel = window.design.lints
    index = next(i for i, lint in enumerate(panel.lints) if lint.fix is not None)
    lint = panel.lints[index]
    panel.tree.setCurrentItem(panel.tree.topLevelItem(index))
    assert panel.fix.isEnabled()
    before = dumps(spec_of(window))
    qtbot.mouseClick(panel.fix, Qt.MouseButton.LeftButton)
    after = spec_of(window)
    for path, value in lint.fix.edits:
        assert get_value(after, path) == value
    assert window.hub.undo_group.undoText() == f"Apply fix: {lint.fix.description}"
    assert lint.code not in {x.code for x in window.hub.evaluation.report.lints if x.block == lint.block}
    window.act_undo.trigger()
    assert dumps(spec_of(window)) == before


def test_open_spec_adds_a_document_tab(qtbot, window) -> None:
    first = window.new_document("lenet5")
    window.open_spec(load_template("resnet18"))
    bar = window.design.documents
    assert [bar.tabText(i) for i in range(bar.count())] == ["LeNet-5", "ResNet-18"]
    bar.setCurrentIndex(0)
    assert window.document is first and window.hub.evaluation.spec is first.spec
    page = type(window.design.palette)()
    index = window.add_page(page, "Other")  # after Design and the Training / Search / Compare pages
    assert index == window.pages.count() - 1 and window.pages.widget(index) is page


def test_gui_command_without_display_runs_the_demo(monkeypatch, capsys) -> None:
    import arch.cli
    from gui import cli
    from main import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    ran = []
    monkeypatch.setattr(arch.cli, "_demo", lambda args: ran.append(args) or 0)
    assert not cli.has_display()
    assert main(["gui", "template:lenet5"]) == 0 and len(ran) == 1
    assert "no display found" in capsys.readouterr().err


def test_gui_command_rejects_a_bad_spec_before_opening(tmp_path, capsys) -> None:
    from main import main

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["gui", str(bad)]) == 1
    assert "format: missing" in capsys.readouterr().err

