"""Issue 11: views that tell the truth about themselves — stable buttons, fixes stated in numbers, full
repaints after a relayout, hints, plot placeholders and axes, start-up (pytest-qt, offscreen). Each test
names the issue item it guards."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pyqtgraph as pg
import torch
from PyQt6.QtCore import QEvent, QObject, QRect, Qt
from PyQt6.QtGui import QRegion

from analysis import analyze
from arch.spec import parse_spec
from gui import edits
from gui.plots import make_plot
from search.records import TrialRecord
from tests.test_gui_designer import make_window

SMALL_FIELD = {"format": "convsmith/1", "name": "small field", "input": [3, 24, 24], "num_classes": 10, "body": [
    {"block": "conv", "out": 16, "kernel": 3}, {"block": "pool", "kernel": 2},
    {"block": "conv", "out": 32, "kernel": 3}, {"block": "conv", "out": 32, "kernel": 3},
    {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]}
STEM_ONLY = {"format": "convsmith/1", "name": "stem only", "input": [3, 64, 64], "num_classes": 10, "body": [
    {"block": "conv", "out": 16, "kernel": 3}, {"block": "residual", "out": 16},
    {"block": "residual", "out": 32, "stride": 2}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}


def test_item07_compare_buttons_never_move(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(1400, 900)
    compare = window.pages_extra.compare
    window.pages_extra.show(compare)
    qtbot.wait(20)
    buttons = (compare.add_button, compare.remove_button, compare.export_button)
    before = [b.mapTo(window, b.rect().topLeft()) for b in buttons]
    for name in ("lenet5", "cifar_cnn", "resnet20", "vgg11"):
        compare.add_template(name)
    qtbot.waitUntil(lambda: len(compare.items()) == 4, timeout=60_000)
    qtbot.wait(20)
    assert compare.status.text().count("no training run") == 4  # a long status ...
    assert [b.mapTo(window, b.rect().topLeft()) for b in buttons] == before  # ... and the buttons stay put


def rf_lint(window):
    return next(lint for lint in window.design.lints.lints if lint.code == "rf-small")


def test_item09_field_fix_targets_where_it_helps_and_states_numbers(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.open_spec(parse_spec(STEM_ONLY))  # the only conv block is the stem, before the down-sampling
    lint = rf_lint(window)
    assert lint.fix is None and "down-sample more" in lint.message  # never "dilate the stem by 7"
    window.open_spec(parse_spec(SMALL_FIELD))
    lint = rf_lint(window)
    before = analyze(window.document.spec)
    assert lint.fix.edits == [("body[3].dilation", 4)]  # the deepest conv, after the pooling
    shown = window.design.lints.tree.topLevelItem(window.design.lints.lints.index(lint)).text(2)
    assert "12x12 -> 24x24" in shown and "params and MACs unchanged" in shown  # said before it is applied
    window.design.lints.tree.setCurrentItem(window.design.lints.tree.topLevelItem(
        window.design.lints.lints.index(lint)))
    qtbot.mouseClick(window.design.lints.fix, Qt.MouseButton.LeftButton)
    after = analyze(window.document.spec)  # the witness: the numbers the fix announced
    assert after.receptive_field.size == (24, 24)
    assert (after.totals.params, after.totals.macs) == (before.totals.params, before.totals.macs)


class Painted(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.region = QRegion()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.region = self.region.united(event.region())
        return False


def test_item13_diagram_repaints_whole_after_fix_undo_wrap(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(1400, 900)
    window.open_spec(parse_spec(SMALL_FIELD))
    view = window.design.diagram
    for _ in range(4):
        lint = rf_lint(window)
        window.hub.apply(edits.apply_fix, lint.fix.description, lint.fix.edits)
        window.act_undo.trigger()
        window.hub.select("body[3]")
        qtbot.wait(30)
        painted = Painted()
        view.viewport().installEventFilter(painted)
        window.block_actions.wrap.trigger()
        qtbot.waitUntil(lambda p=painted: not p.region.isEmpty(), timeout=5_000)
        qtbot.wait(30)
        view.viewport().removeEventFilter(painted)
        # every pixel of the viewport was repainted: no box of the old layout can stay on screen
        assert painted.region.contains(QRect(view.viewport().rect()))
        scene = {id(i) for i in view.scene().items() if i.__class__.__name__ == "Glyph"}
        assert scene == {id(g) for g in view._cache.values()}  # and no glyph is left in the scene
        window.act_undo.trigger()


def test_item17_export_docstring_load_line_works_for_state_dict_and_best_pt(qtbot, tmp_path) -> None:
    from arch.builder import build
    from training.checkpoint import save_checkpoint

    window = make_window(qtbot, tmp_path)
    window.new_document("lenet5")
    target = tmp_path / "lenet_export.py"
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        assert window.export("py", target)
    text = target.read_text()
    lines = [line.strip() for line in text.split('"""')[1].splitlines()]
    load_lines = lines[lines.index("state = torch.load(PATH, weights_only=True)"):][:2]
    assert load_lines[1] == "model.load_state_dict(state.get('state_dict', state))"
    spec = window.document.spec
    trained = build(spec)
    torch.save(trained.state_dict(), tmp_path / "weights.pt")
    save_checkpoint(tmp_path / "best.pt", trained, spec, {"epoch": 1})  # what a run keeps
    sys.path.insert(0, str(tmp_path))
    try:
        exported = importlib.import_module("lenet_export")
    finally:
        sys.path.remove(str(tmp_path))
    name = next(line for line in lines if line.startswith("model = ")).split("=")[1].split("(")[0].strip()
    cls = getattr(exported, name)  # the class the docstring's own usage names
    for path in (tmp_path / "weights.pt", tmp_path / "best.pt"):
        model = cls()
        scope = {"torch": torch, "PATH": path, "model": model}
        exec("\n".join(load_lines), scope)  # the documented lines, as written
        for key, value in trained.state_dict().items():
            assert torch.equal(model.state_dict()[key], value)


def test_item18_empty_document_says_what_to_do_next(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    window.new_document()
    hint = window.design.diagram.hint
    assert hint.isVisible() and "Double-click a block in the palette" in hint.toPlainText()
    assert "template" in hint.toPlainText()
    window.hub.apply(edits.add_family, "conv")
    assert not hint.isVisible()


def test_item19_empty_plots_show_a_placeholder(qtbot, tmp_path) -> None:
    window = make_window(qtbot, tmp_path)
    tab = window.pages_extra.training
    confusion = tab.confusion.plot
    assert confusion.placeholder.isVisible() and not confusion.getAxis("left").style["showValues"]
    for plot in (tab.curves.loss, tab.curves.acc, tab.curves.lr):
        assert plot.getPlotItem().placeholder.isVisible()
    tab.confusion.set_matrix([[3, 1], [0, 4]], ["a", "b"], 1)
    assert not confusion.placeholder.isVisible() and confusion.getAxis("left").style["showValues"]
    tab.curves.step(type("Step", (), {"step": 1, "loss": 1.0, "acc": 0.5, "lr": 1e-3})())
    tab.curves.flush()
    assert not tab.curves.loss.getPlotItem().placeholder.isVisible()
    compare = window.pages_extra.compare.curves.getPlotItem()
    assert compare.placeholder.isVisible() and "no training runs" in compare.placeholder.text()


def test_item20_integer_trial_axes_transparent_legends_single_points(qtbot, tmp_path) -> None:
    from gui.plots import IntegerAxis
    from gui.study_plots import StudyPlots

    plots = StudyPlots()
    qtbot.addWidget(plots)
    axis = plots.history.getPlotItem().getAxis("bottom")
    assert isinstance(axis, IntegerAxis)
    ticks = [v for _, values in axis.tickValues(0.0, 3.0, 400) for v in values]
    assert ticks and all(float(v).is_integer() for v in ticks)  # never 0.5, 1.5
    one_epoch = TrialRecord(0, "complete", {"accuracy": 0.5}, {}, {"macs": 1e6}, [{"epoch": 1, "val_acc": 0.5}])
    plots.set_records([one_epoch], ["accuracy"])
    plots.flush()
    line = plots.lines[0]
    assert line.opts["symbol"] is not None  # a one-epoch learning curve is drawn as a marker
    xs, ys = line.getData()
    assert len(xs) == 1 and ys[0] == 0.5
    plot = make_plot("t", "x", "y", legend="top")
    qtbot.addWidget(plot)
    legend = plot.getPlotItem().legend
    brush = legend.opts["brush"]
    assert brush is None or brush.style() == Qt.BrushStyle.NoBrush or brush.color().alpha() == 0  # hides no data
    curve = plot.plot(np.arange(3.0), np.ones(3), pen=pg.mkPen("r"), name="c")
    assert curve.opts["symbol"] is None  # markers only where a line cannot show


def test_item22_splash_with_progress_then_nothing_left_to_load(qtbot, monkeypatch) -> None:
    from PyQt6.QtWidgets import QApplication

    from gui import startup
    from gui.training_tab import PRELOAD

    app = QApplication.instance()
    seen: list[str] = []
    splash = startup.load(app, lambda what, i, n: seen.append(f"{i}/{n} {what}"))
    qtbot.addWidget(splash)
    assert seen == [f"{i}/{len(startup.STEPS)} {what}" for i, (what, _) in enumerate(startup.STEPS, 1)]
    assert splash.isVisible() and "Opening the window" in splash.message()
    assert {m for _, m in startup.STEPS} <= set(sys.modules)  # torch included: loaded before the window
    assert set(PRELOAD) <= {m for _, m in startup.STEPS}  # the window's preloader finds nothing left to load
    # `convsmith gui` goes through the splash before it makes the window
    import gui.app

    order: list[str] = []
    monkeypatch.setattr(startup, "load", lambda app, progress=None: order.append("splash") or splash)
    from gui import main_window

    class Window(main_window.MainWindow):
        def __init__(self) -> None:
            order.append("window")
            super().__init__(settings=main_window.QSettings("ConvSmithTest", "startup"), recovery_dir=None)

    monkeypatch.setattr(main_window, "MainWindow", Window)
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    assert gui.app.run("template:lenet5") == 0
    assert order == ["splash", "window"]
    for w in QApplication.topLevelWidgets():
        if isinstance(w, Window):
            w.workspace.documents[0].mark_saved(w.workspace.documents[0].path or "x.json")
            w.close()
