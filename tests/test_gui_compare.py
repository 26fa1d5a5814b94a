"""The Compare page (pytest-qt, offscreen): networks from a template, a file, a training run and an open
document side by side, and the comparison exported as one HTML file holding each network's totals (the
analysis engine's figures, witnessed by the built torch models), curves and filters; a failed export
leaves a good file untouched."""

from __future__ import annotations

import threading

import pytest
from PyQt6.QtCore import Qt

from analysis import analyze
from arch.builder import build
from arch.spec import load, parse_spec, save
from arch.templates import load_template
from gui import compare_tab
from tests.test_gui_designer import make_window
from training import TrainConfig, load_data, train
from training.runs import load_history

SPEC = {"format": "convsmith/1", "name": "tiny", "input": [1, 16, 16], "num_classes": 4, "body": [
    {"block": "conv", "out": 6, "kernel": 5}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 12, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished training run of SPEC (two epochs), made without the GUI."""
    path = tmp_path_factory.mktemp("runs") / "tiny-run"
    data = load_data("synthetic:shapes?n=256&size=16&channels=1&classes=4", "cpu")
    for _ in train(parse_spec(SPEC), data, TrainConfig(epochs=2, batch_size=32, threads=2), run_dir=path,
                   cancel=threading.Event()):
        pass
    return path


def menu_action(menu, *path: str):
    for name in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == name)
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_compare_networks_and_export_html(qtbot, tmp_path, run_dir, monkeypatch) -> None:
    window = make_window(qtbot, tmp_path)
    tab = window.pages_extra.compare
    window.pages_extra.show(tab)
    window.new_document("lenet5")
    spec_file = tmp_path / "wide.json"
    save(parse_spec({**SPEC, "name": "wide", "body": [{"block": "conv", "out": 32, "kernel": 3}, *SPEC["body"][1:]]}),
         spec_file)
    # through the Add menu: a template and an open document; then a file and a run
    tab._fill_add_menu()
    menu_action(tab.add_menu, "Template", "mobilenet_mnist").trigger()
    menu_action(tab.add_menu, "Open document", "LeNet-5").trigger()
    tab.add_file(spec_file)
    tab.add_run(run_dir)
    qtbot.waitUntil(lambda: len(tab.items()) == 4, timeout=60_000)
    specs = [load_template("mobilenet_mnist"), load_template("lenet5"), load(spec_file), load(run_dir / "spec.json")]
    labels = [n.label for n in tab.networks]
    assert labels == ["MobileNet-MNIST", "LeNet-5", "wide", "tiny (trained)"]

    # side by side: the engine's totals, witnessed by the built models
    head = [tab.totals.horizontalHeaderItem(c).text() for c in range(tab.totals.columnCount())]
    assert head == ["", *labels]
    rows = {tab.totals.item(r, 0).text(): r for r in range(tab.totals.rowCount())}
    for col, spec in enumerate(specs, start=1):
        params = sum(p.numel() for p in build(spec).parameters())
        assert tab.totals.item(rows["params"], col).text() == f"{params:,}" == f"{analyze(spec).totals.params:,}"
    assert tab.stages.rowCount() >= 2
    # the run brings its accuracy, curve and first-layer filters (6 kernels of 5x5)
    history = load_history(run_dir)
    run_item = tab.items()[3]
    assert run_item.accuracy == history.run["best_val_acc"]
    assert tab.totals.item(rows["validation accuracy"], 4).text() == f"{100 * run_item.accuracy:.2f} %"
    assert [r["epoch"] for r in run_item.curve] == [1, 2]
    assert run_item.filters.total == (6, 1) and run_item.filters.kernel == (5, 5)
    curves = [i for i in tab.curves.getPlotItem().listDataItems() if i.name() == labels[3]]
    assert len(curves) == 1 and len(curves[0].getData()[0]) == 2
    assert len(tab.scatter.getPlotItem().listDataItems()) == 4 and len(tab.rf.getPlotItem().listDataItems()) == 4

    # the Report view shows the comparative report's sections, the run found by what it builds
    view = tab.report_view
    assert [s.key for s in view.sections] == ["summary", "totals", "cost", "rf", "diff", "speed", "reached",
                                              "pictures", "lints"]
    assert [len(x.entry.runs) for x in tab.items()] == [0, 0, 0, 1]
    assert view.body.findChildren(compare_tab.QTableWidget)
    assert "tiny (trained) is the cheapest" in view.sections[0].parts[0].text

    # one HTML file with every network's totals, the curves and the filters
    target = tmp_path / "comparison.html"
    window.dialogs.paths = [str(target)]  # the answer to the save dialog
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        qtbot.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    html = target.read_text()
    for label, spec in zip(labels, specs):
        totals = analyze(spec).totals
        assert label in html and f'<td class="n">{totals.params:,}</td>' in html and f"{totals.macs:,}" in html
    assert "Validation accuracy per epoch" in html and html.count("data:image/png;base64,") == 1
    assert not window.dialogs.errors

    # a failing export reports it and leaves the good file as it was
    def broken(items, path):
        raise RuntimeError("disk on fire")
    good = target.read_bytes()
    monkeypatch.setattr(compare_tab, "render_report", broken)
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        tab.export_html(target)
    assert target.read_bytes() == good
    assert window.dialogs.errors == [("Cannot export comparison.html", "disk on fire")]

    # a bad file is refused with the reason; removing networks updates every view
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "convsmith/1", "name": "x", "input": [1, 8, 8], "num_classes": 0, "body": []}')
    assert tab.add_file(bad) is None and "num_classes" in window.dialogs.errors[-1][1]
    tab.list.item(0).setSelected(True)
    tab.remove_selected()
    assert [n.label for n in tab.networks] == labels[1:] and tab.totals.columnCount() == 4


def test_report_view_measures_and_can_be_stopped(qtbot, tmp_path) -> None:
    """The Report view's button times the networks in a worker (progress shown) and shows the speed section;
    pressed again it stops the measuring between steps."""
    window = make_window(qtbot, tmp_path)
    tab = window.pages_extra.compare
    window.pages_extra.show(tab)
    spec_file = tmp_path / "tiny.json"
    save(parse_spec(SPEC), spec_file)
    tab.add_file(spec_file)
    qtbot.waitUntil(lambda: len(tab.items()) == 1, timeout=60_000)
    view = tab.report_view
    tab.views.setCurrentWidget(view)
    speed = next(s for s in view.sections if s.key == "speed")
    assert speed.parts[0].text.startswith("Not measured")
    seen: list[str] = []
    view.progressed.connect(lambda done, total, label: seen.append(label))
    with qtbot.waitSignal(window.workers.finished, timeout=180_000):
        qtbot.mouseClick(view.measure_button, Qt.MouseButton.LeftButton)
        assert view.measure_button.text() == "Stop measuring"
    entry = tab.items()[0].entry
    assert {(t.engine, t.batch) for t in entry.timings} == {("PyTorch", 1), ("PyTorch", 64), ("ONNX Runtime", 1),
                                                             ("ONNX Runtime", 64)}
    speed = next(s for s in view.sections if s.key == "speed")
    assert [row[1] for row in speed.parts[0].rows] == ["PyTorch", "ONNX Runtime"] * 2
    assert "tiny: PyTorch, cpu, batch 1" in seen and view.progress.text().startswith("measured")
    # stopped before its first step: nothing new is measured
    with qtbot.waitSignal(window.workers.finished, timeout=60_000):
        view.toggle_measuring()
        view.toggle_measuring()
    assert view.progress.text() == "stopped" and view.measure_button.text() == "Measure latency and memory"
    assert len(tab.items()[0].entry.timings) == 4  # the earlier figures stay
