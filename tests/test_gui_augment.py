"""The Training tab's augmentation preview follows the form's options; the designer's right-click "Freeze up
to here" sets the training option and marks the frozen blocks; a fine-tuning run from a saved torchvision
state_dict reports its frozen parameters. Screenshots go to artifacts/ for a person to look at."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision

from arch.spec import parse_spec
from arch.templates import load_template
from gui.freeze_marks import FROZEN
from tests.test_gui_designer import make_window
from tests.test_gui_tab_screenshots import SPEC


def _commit(form, name, value) -> None:
    form.editors[name].set_value(value)
    form.editors[name].committed.emit(value)


@pytest.mark.timeout(300)
def test_augmentation_preview_follows_the_form(qtbot, tmp_path, artifacts) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(1600, 1000)
    window.open_spec(parse_spec(SPEC))
    training = window.pages_extra.training
    window.pages_extra.show(training)
    training.chooser.set_source("synthetic:shapes?n=120&size=32&channels=3")
    training.chooser.load_now()
    qtbot.waitUntil(lambda: training.chooser.data is not None, timeout=60_000)
    view = next(training.views.widget(i) for i in range(training.views.count())
                if training.views.tabText(i) == "Augmentation")
    training.views.setCurrentWidget(view)
    for name, value in (("rotate", 20.0), ("scale", 0.1), ("brightness", 0.3), ("saturation", 0.5),
                        ("erase", 0.5), ("policy", "trivialaugment")):
        _commit(training.form, name, value)
    qtbot.waitUntil(lambda: "rotate 20" in view.caption.text(), timeout=60_000)
    assert "trivialaugment" in view.caption.text() and not view.picture.pixmap().isNull()
    first = view.picture.pixmap().toImage()
    view.again.click()
    qtbot.waitUntil(lambda: view.picture.pixmap().toImage() != first, timeout=60_000)  # new draws
    qtbot.wait(200)
    assert window.grab().save(str(artifacts / "augment_preview.png"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_freeze_up_to_here_marks_the_designer_and_trains_frozen(qtbot, tmp_path, artifacts) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)  # offline: a saved state_dict
    window = make_window(qtbot, tmp_path)
    window.resize(1600, 1000)
    window.open_spec(dataclasses.replace(load_template("resnet18"), input=(3, 32, 32)))
    training = window.pages_extra.training
    editor, marks = window.design.editor, training.freeze_marks
    qtbot.waitUntil(lambda: "body[3]" in editor.items, timeout=30_000)
    window.hub.select("body[3]")
    marks.action.trigger()  # what the right-click menu's "Freeze up to here" does
    assert training.form.values()["freeze"] == "body[3]"
    from arch.builder import build
    from training.pretrained import freeze, trainable_counts

    model = build(window.hub.evaluation.spec)
    freeze(model, "body[3]")
    assert marks.counts() == trainable_counts(model)  # the analysis' count against the built model's
    assert f"{trainable_counts(model)[1]:,} parameters frozen" in editor.items["body[0]"].toolTip()
    assert marks.action in editor.extra_actions
    for path, item in editor.items.items():
        index = int(path[5:path.index("]")]) if path.startswith("body[") else None
        frozen = index is not None and index <= 3
        assert (item.background().color() == FROZEN) == frozen, path

    window.pages_extra.show(training)
    training.runs.root.setText(str(tmp_path / "runs"))
    training.chooser.set_source("synthetic:shapes?n=64&size=32&channels=3")
    training.chooser.load_now()
    qtbot.waitUntil(lambda: training.chooser.data is not None, timeout=60_000)
    for name, value in (("epochs", 2), ("batch_size", 32), ("pretrained", str(weights)), ("pretrained_lr", 0.1),
                        ("lr", 1e-3)):
        _commit(training.form, name, value)
    assert training.form.config() is not None, training.form.problems.text()
    assert training.start()
    qtbot.waitUntil(lambda: not training.running(), timeout=240_000)
    log = training.log.toPlainText()
    assert "tensors loaded from" in log and "body.8.fc.weight" in log and "frozen)" in log
    qtbot.wait(300)
    assert window.grab().save(str(artifacts / "training_transfer.png"))
    window.pages.setCurrentWidget(window.design)
    window.hub.select("body[3]")
    qtbot.wait(300)
    assert editor.items["body[0]"].background().color() == FROZEN  # still marked after the run
    assert window.grab().save(str(artifacts / "designer_frozen.png"))
