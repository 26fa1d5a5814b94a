"""The Training tab's Inspect area driven like a person would (pytest-qt, offscreen, a tiny run): every method
runs off the UI thread and shows the same picture and numbers the CLI computes, is saved in the run folder,
can be cancelled, and a confusion-matrix click opens that cell's misclassified images."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PyQt6.QtCore import Qt

from arch.spec import parse_spec
from gui.inspect_panel import InspectPanel
from tests.test_gui_training import SPEC, prepare, train_and_wait, window  # noqa: F401  (fixture)
from training.config import TrainConfig
from training.data import load_data
from training.interpret.methods import run
from training.interpret.subject import load_subject
from training.interpret.table import METHODS, Request
from training.loop import train

DATA = "synthetic:shapes?n=200&size=16&channels=1&classes=4"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect") / "run"
    recs = list(train(parse_spec(SPEC), load_data(DATA, "cpu"), TrainConfig(epochs=2, batch_size=32, threads=1),
                      run_dir=out))
    assert recs[-1].status == "completed"
    return out


def loaded_panel(qtbot, run_dir) -> InspectPanel:
    panel = InspectPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 500)
    panel.show()
    with qtbot.waitSignal(panel.loaded, timeout=60_000):
        panel.set_run(run_dir)
    return panel


def test_every_method_runs_in_the_background_and_matches_the_cli_computation(qtbot, run_dir) -> None:
    panel = loaded_panel(qtbot, run_dir)
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert [panel.layer.itemData(i) for i in range(panel.layer.count())] == panel.subject.spatial_layers()
    witness = load_subject(run_dir)
    for name in METHODS:
        panel.method.setCurrentIndex(panel.method.findData(name))
        assert panel.index.isEnabled() == METHODS[name].image and panel.channel.isEnabled() == METHODS[name].channel
        panel.channel.setValue(1)
        panel.index.setValue(3)
        qtbot.waitUntil(panel.run_button.isEnabled, timeout=10_000)  # the previous job has ended
        with qtbot.waitSignal(panel.shown, timeout=60_000) as got:
            qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        result = got.args[0]
        assert result.method == name and not panel.picture.pixmap().isNull()
        saved = run_dir / "inspect" / f"{result.request.slug()}.png"
        assert saved.is_file()
        assert json.loads(saved.with_suffix(".json").read_text())["method"] == name
        if name != "maximize":  # an independent computation on the run loaded again gives the same numbers
            again = run(witness, Request(name, result.request.layer, 1, index=3, k=result.request.k))
            for key, value in again.numbers.items():
                if isinstance(value, float):
                    assert result.numbers[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, key)
                elif not isinstance(value, list) or key in ("indices", "unit", "peak", "rf_box"):
                    assert result.numbers[key] == value, (name, key)
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=10_000)


def test_a_long_method_shows_progress_and_can_be_cancelled(qtbot, run_dir) -> None:
    panel = loaded_panel(qtbot, run_dir)
    fractions: list[float] = []
    job = panel.inspect(Request("maximize", "body.2.conv", 0, steps=100_000))
    job.progressed.connect(lambda p: fractions.append(p.fraction))
    qtbot.waitUntil(lambda: bool(fractions), timeout=30_000)
    assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status.label.text() == "Cancelled.", timeout=30_000)
    qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=10_000)
    assert 0 < fractions[0] < 0.01


def test_a_bad_image_file_is_one_line(qtbot, run_dir, tmp_path) -> None:
    panel = loaded_panel(qtbot, run_dir)
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    panel.method.setCurrentIndex(panel.method.findData("probs"))
    panel.use_file(str(bad))
    panel.inspect()
    qtbot.waitUntil(lambda: "not a readable image" in panel.status.label.text(), timeout=30_000)
    assert "\n" not in panel.status.label.text()


def test_training_tab_inspects_the_finished_run_and_a_confusion_click(qtbot, window) -> None:  # noqa: F811
    tab = window.pages_extra.training
    prepare(qtbot, tab, "synthetic:shapes?n=256&size=16&channels=1&classes=4", epochs=1)
    train_and_wait(qtbot, tab)
    qtbot.waitUntil(lambda: tab.inspect.subject is not None, timeout=60_000)
    assert tab.inspect.run_dir == tab.last_run
    m = tab.confusion.matrix
    off = [(i, j) for i in range(len(m)) for j in range(len(m)) if i != j and m[i, j] > 0]
    assert off, "a one-epoch run of 4 shapes is not perfect"
    true, predicted = off[0]
    # a click in the middle of that cell of the confusion matrix
    view = tab.confusion
    pos = view.image.mapToScene(predicted + 0.5, true + 0.5)
    point = view.view.mapFromScene(pos)
    with qtbot.waitSignal(tab.inspect.shown, timeout=60_000) as got:
        qtbot.mouseClick(view.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    numbers = got.args[0].numbers
    assert tab.views.currentWidget() is tab.inspect
    assert numbers["misclassified"] == int(m[true, predicted])  # the cell's count, from the live run
    x, y = tab.inspect.subject.validation()
    with torch.no_grad():
        pred = tab.inspect.subject.model(x).argmax(1).numpy()
    expect = set(np.nonzero((y.numpy() == true) & (pred == predicted))[0].tolist())
    assert set(numbers["indices"]) == expect


def test_compare_shows_the_runs_pictures_side_by_side(qtbot, tmp_path) -> None:
    from PIL import Image

    from gui.compare_inspect import InspectCompare

    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, size in ((a, (120, 60)), (b, (90, 40))):
        (folder / "inspect").mkdir(parents=True)
        Image.new("RGB", size, "red").save(folder / "inspect" / "gradcam-body.3.pool-i0.png")
    Image.new("RGB", (10, 10)).save(a / "inspect" / "probs-i0.png")
    view = InspectCompare()
    qtbot.addWidget(view)
    view.show_runs([("A", a), ("B", b), ("C", c), ("spec only", None)])
    assert [view.choice.itemText(i) for i in range(view.choice.count())] == ["gradcam-body.3.pool-i0", "probs-i0"]
    view.choice.setCurrentText("gradcam-body.3.pool-i0")
    boxes = [view.row.itemAt(i).widget() for i in range(4)]
    pictures = [box.layout().itemAt(1).widget() for box in boxes]
    assert [(p.pixmap().width(), p.pixmap().height()) for p in pictures[:2]] == [(120, 60), (90, 40)]
    assert pictures[2].text() == "not computed for this run" and pictures[3].text() == "no training run"
