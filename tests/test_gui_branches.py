"""The designer with branches (pytest-qt, offscreen): the editor lists path blocks, adds paths, moves blocks
into, out of and between paths by dragging, wraps a block in a branch and unwraps it (identical totals),
undo / redo restore the exact spec; the inspector edits the merge; the diagram draws the paths side by
side with the merge; the receptive-field view picks layers inside paths; File > Open takes a torch model."""

from __future__ import annotations

import dataclasses
import textwrap

from PyQt6.QtCore import QMimeData, QPointF, Qt
from PyQt6.QtGui import QDropEvent

from analysis import analyze
from arch.paths import get_block, get_value
from arch.spec import dumps
from gui.branch_actions import PATH_MOVE_MIME
from gui.editor import MOVE_MIME, PATH
from tests.test_composition import CONV, INCEPTION, spec_of
from tests.test_gui_designer import make_window


def _open(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    window.open_spec(spec_of([CONV, INCEPTION]))
    qtbot.waitUntil(lambda: window.hub.evaluation is not None and len(window.hub.evaluation.spec.body) == 5)
    return window


def _spec(window):
    return window.document.spec


def _undo_redo_exact(window, before: str, after: str) -> None:
    window.act_undo.trigger()
    assert dumps(_spec(window)) == before
    window.act_redo.trigger()
    assert dumps(_spec(window)) == after


def _drop_on(qtbot, window, source: str, target: str, below: bool = False) -> None:
    """Drag the editor row ``source`` onto the row ``target`` (upper or lower half)."""
    editor = window.design.editor
    window.hub.select(source)
    tree = editor.tree
    index = editor.proxy.mapFromSource(editor.items[target].index())
    tree.scrollTo(index)
    rect = tree.visualRect(index)
    pos = QPointF(rect.center().x(), rect.bottom() - 2 if below else rect.top() + 2)
    data = QMimeData()
    data.setData(MOVE_MIME, b"1")
    data.setData(PATH_MOVE_MIME, source.encode())
    event = QDropEvent(pos, Qt.DropAction.MoveAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tree.dropEvent(event)


def test_editor_lists_path_blocks_and_adds_a_path(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    editor = window.design.editor
    assert "body[1].paths[2][0]" in editor.items  # a block inside a path is its own row
    assert editor.items["body[1].paths[2][0]"].data(PATH) == "body[1].paths[2][0]"
    before = dumps(_spec(window))
    window.hub.select("body[1].paths[0][0]")
    assert window.block_actions.branch.add_path.isEnabled()
    window.block_actions.branch.add_path.trigger()
    assert get_block(_spec(window), "body[1]").params["paths"][4] == []
    assert window.hub.undo_group.undoText() == "Add path 4 to body[1]"
    _undo_redo_exact(window, before, dumps(_spec(window)))


def test_drag_moves_blocks_between_into_and_out_of_paths(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    start = dumps(_spec(window))
    _drop_on(qtbot, window, "body[1].paths[1][0]", "body[1].paths[0][0]", below=True)  # between paths
    lanes = get_block(_spec(window), "body[1]").params["paths"]
    assert [len(p) for p in lanes] == [2, 1, 1, 1] and window.hub.selection == "body[1].paths[0][1]"
    moved = dumps(_spec(window))
    _undo_redo_exact(window, start, moved)
    _drop_on(qtbot, window, "body[1].paths[0][1]", "body[0]")  # out of a path, into the body
    assert _spec(window).body[0].params["kernel"] == 1 and len(_spec(window).body) == 6
    out = dumps(_spec(window))
    _drop_on(qtbot, window, "body[0]", "body[2].paths[0][0]", below=True)  # into a path
    assert dumps(_spec(window)) == moved
    _undo_redo_exact(window, out, moved)


def test_nested_paths_are_rows_and_a_block_drops_into_an_identity_path(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    editor = window.design.editor
    nested, identity = "body[1].paths[1][1]", "body[1].paths[1][1].paths[1]"
    assert f"{nested}.paths[0][0]" in editor.items  # a branch inside a path lists its own path blocks
    assert identity in editor.items and "identity" in editor.items[identity].text()
    editor.tree.setCurrentIndex(editor.proxy.mapFromSource(editor.items[identity].index()))
    assert window.hub.selection == nested  # the empty path's row selects its branch
    start = dumps(_spec(window))
    _drop_on(qtbot, window, "body[0]", identity)
    lanes = get_block(_spec(window), "body[0].paths[1][1]").params["paths"]  # body[1] moved up to body[0]
    assert [b.block for b in lanes[1]] == ["conv"] and len(_spec(window).body) == 4
    assert identity.replace("body[1]", "body[0]") not in editor.items  # no longer empty: no drop row
    _undo_redo_exact(window, start, dumps(_spec(window)))


def test_wrap_and_unwrap_keep_the_totals(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    before = dumps(_spec(window))
    totals = dataclasses.asdict(analyze(_spec(window)).totals)
    window.hub.select("body[0]")
    window.activateWindow()
    window.design.editor.tree.setFocus()
    qtbot.waitUntil(window.design.editor.tree.hasFocus)
    qtbot.keyClick(window.design.editor.tree, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert get_block(_spec(window), "body[0]").block == "branch"
    assert dataclasses.asdict(analyze(_spec(window)).totals) == totals
    qtbot.waitUntil(lambda: window.design.analysis.totals.text() != "")
    assert f"{totals['params']:,}" in window.design.analysis.totals.text()
    wrapped = dumps(_spec(window))
    window.hub.select("body[0]")
    window.block_actions.branch.unwrap.trigger()
    assert dumps(_spec(window)) == before
    _undo_redo_exact(window, wrapped, before)
    window.hub.select("body[1].paths[1][0]")  # inside a path too
    window.block_actions.branch.wrap.trigger()
    assert get_block(_spec(window), "body[1].paths[1][0]").block == "branch"
    assert dataclasses.asdict(analyze(_spec(window)).totals) == totals


def test_inspector_edits_the_merge(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    window.hub.select("body[1]")
    assert window.hub.evaluation.graph.block("body[1]").out_shape == (32, 16, 16)  # four paths of 8, concatenated
    row = window.design.inspector.rows["body[1].merge"]
    box = row.editor.box
    box.setCurrentIndex(box.findText("max"))
    box.activated.emit(box.currentIndex())
    assert get_value(_spec(window), "body[1].merge") == "max"
    assert window.hub.evaluation.graph.block("body[1]").out_shape == (8, 16, 16)  # their element-wise maximum
    assert window.hub.undo_group.undoText() == "Set body[1].merge to 'max'"
    window.hub.select("body[1].paths[1][1].paths[0][0]")
    assert "body[1].paths[1][1].paths[0][0].kernel" in window.design.inspector.rows


def test_diagram_draws_paths_side_by_side_with_the_merge(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    glyph = window.design.diagram.glyphs["body[1]"]
    texts = [op[2] for op in glyph.sketch.ops if op[0] == "text"]
    assert "concat" in texts and "max" in texts  # the branch's merge and the nested one
    assert sum("conv 1x1/1, 8" in t for t in texts) == 2 and any("max pool 3x3/1" in t for t in texts)
    xs = {round(op[1].center().x()) for op in glyph.sketch.ops if op[0] == "text" and "conv 1x1/1, 8" in op[2]}
    assert len(xs) == 2  # two paths, side by side


def test_rf_view_picks_layers_inside_paths(qtbot, tmp_path) -> None:
    window = _open(qtbot, tmp_path)
    rf = window.design.rf
    window.design.docks["rf"].raise_()  # tabbed behind the inspector: updated once its tab is raised
    layers = [rf.layer.itemData(i) for i in range(rf.layer.count())]
    assert "body.1.paths.2.0.1.conv" in layers and "body.1.paths.1.1.paths.0.0.conv" in layers
    rf.set_layer("body.1.paths.1.1.paths.0.0.conv")
    record = rf.record()
    assert record.name == "body.1.paths.1.1.paths.0.0.conv" and record.rf_size == (5, 5)


def test_file_open_takes_a_torch_model(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    source = tmp_path / "tiny.py"
    source.write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(3, 4, 3, padding=1)
                self.b = nn.Conv2d(3, 4, 1)
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(torch.relu(self.a(x) + self.b(x)),
                                                                                  1), 1))
    '''))
    window.dialogs.paths.append(str(source))
    assert window.open_file() is None  # imported off the UI thread: the document opens when it is written
    qtbot.waitUntil(lambda: window.document is not None and window.document.spec.body[0].block == "branch",
                    timeout=30_000)
    spec = window.document.spec
    assert spec.body[0].params["activation"] == "relu" and window.document.dirty
    assert analyze(spec).totals.params == 3 * 4 * 9 + 4 + 3 * 4 + 4 + 4 * 2 + 2
    bad = tmp_path / "bad.py"
    bad.write_text("from torch import nn\nclass A(nn.Module):\n    pass\nclass B(nn.Module):\n    pass\n")
    window.dialogs.paths.append(str(bad))
    assert window.open_file() is None
    qtbot.waitUntil(lambda: bool(window.dialogs.errors), timeout=30_000)
    assert "defines 2 nn.Module classes (A, B)" in window.dialogs.errors[-1][1]


def test_opening_a_torch_model_shows_its_steps_and_can_be_cancelled(qtbot, tmp_path) -> None:
    from PyQt6.QtWidgets import QProgressDialog, QPushButton

    from arch.spec_import import STEPS
    from gui.model_import import import_document

    window = make_window(qtbot, tmp_path)
    opened = len(window.workspace.documents)
    seen: list[str] = []
    job = import_document(window, "torchvision:resnet18")
    job.progressed.connect(lambda p: seen.append(p.text))
    qtbot.waitUntil(lambda: not job.running(), timeout=60_000)
    qtbot.waitUntil(lambda: len(window.workspace.documents) == opened + 1, timeout=10_000)
    assert window.document.spec.name and seen and set(seen) <= set(STEPS) and seen[-1] == STEPS[-1]
    assert not window.findChildren(QProgressDialog) or not any(d.isVisible() for d in window.findChildren(
        QProgressDialog))
    job = import_document(window, "torchvision:resnet50")
    dialog = next(d for d in window.findChildren(QProgressDialog) if "resnet50" in d.labelText())
    dialog.findChild(QPushButton).click()  # Cancel, before the job can report (it shows after 0.3 s)
    assert job.cancelled()
    qtbot.waitUntil(lambda: not job.running(), timeout=60_000)
    for _ in range(5):
        qtbot.wait(20)
    assert len(window.workspace.documents) == opened + 1 and not window.dialogs.errors  # nothing opened or said


def test_subtree_run_equals_a_scan_of_the_graph() -> None:
    """The diagram takes a branch's ops as one run of the graph; a scan over every op is the witness."""
    from arch.expand import build_graph
    from arch.registry import family
    from arch.templates import load_template
    from gui.branches import Walker

    for name in ("densenet121", "inception_v3"):
        graph = build_graph(load_template(name))
        walker = Walker(graph)
        composite = [b for b in graph.blocks if family(b.family).composite]
        assert composite
        for b in composite:
            assert walker.subtree(b)[0] == [n.name for n in graph.subtree_nodes(b)], b.path
