"""Issue 11: the Training page describes the current document's network, and runs show what they are
(pytest-qt, offscreen, tiny synthetic data). Each test names the issue item it guards."""

from __future__ import annotations

import json

import pytest
from PyQt6.QtCore import Qt

from arch.spec import parse_spec
from gui import edits
from tests import test_gui_training
from tests.test_gui_training import DATA, SPEC, prepare
from training.runs import load_history

window = test_gui_training.window  # the fixture: the tiny network open, its runs folder, the Training page
OTHER = {**SPEC, "name": "other", "body": [{"block": "conv", "out": 12, "kernel": 3}, *SPEC["body"][1:]]}


def answer(window, *answers: str) -> list[str]:
    """Script the answers to "a run is going: keep it / stop it / cancel"; returns what was asked."""
    queue, asked = list(answers), []

    def ask(parent, running, action):  # noqa: ANN001
        asked.append(f"{running}: {action}")
        return queue.pop(0)

    window.dialogs.ask_running = ask
    return asked


def train(qtbot, tab) -> None:
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.running(), timeout=120_000)


def test_item02_start_continue_header_and_runs_describe_the_current_document(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab)
    train(qtbot, tab)
    run_a = str(tab.last_run)
    qtbot.waitUntil(lambda: tab.runs.latest_match() == run_a, timeout=10_000)
    assert tab.continue_button.isEnabled()
    a = window.document
    window.open_spec(parse_spec(OTHER))  # network B: nothing of A's is offered as B's
    assert "other" in tab.network.text() and "tiny" not in tab.network.text()
    qtbot.waitUntil(lambda: tab.runs.spec is window.document.spec and tab.runs.latest_match() is None,
                    timeout=10_000)
    assert not tab.continue_button.isEnabled() and tab.runs.tree.topLevelItemCount() == 0
    tab.runs.only_this.setChecked(False)  # every run of the folder, on request
    assert tab.runs.tree.topLevelItemCount() == 1
    tab.runs.only_this.setChecked(True)
    window.workspace.set_current(a)
    qtbot.waitUntil(lambda: tab.runs.latest_match() == run_a, timeout=10_000)
    assert tab.continue_button.isEnabled() and "tiny" in tab.network.text()

    # a run going: switching documents asks (keep training in the background, stop, cancel)
    prepare(qtbot, tab, "synthetic:shapes?n=1200&size=16&channels=1&classes=4", epochs=40)
    asked = answer(window, "cancel", "background")
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running()
    b = window.workspace.documents[1]
    window.design.documents.setCurrentIndex(1)
    assert window.document is a and window.design.documents.currentIndex() == 0 and tab.running()  # cancelled
    assert window.close_document(a) is True  # closing it asks too: keep training in the background
    assert window.document is b and tab.running() and "Training tiny in the background" in tab.network.text()
    window.design.documents.setCurrentIndex(0)  # decided once: not asked again for this run
    assert asked == ["tiny: switch to other", "tiny: close tiny"]
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running(), timeout=60_000)
    assert "in the background" not in tab.network.text()
    assert json.loads((tab.last_run / "run.json").read_text())["status"] == "cancelled"


def test_item02_closing_the_window_mid_run_asks(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab, "synthetic:shapes?n=1200&size=16&channels=1&classes=4", epochs=40)
    asked = answer(window, "cancel", "stop")
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert not window.close() and window.isVisible() and tab.running()  # cancel: nothing happens
    assert window.close()  # stop: the run stops and finalises its directory
    assert asked == ["tiny: close the window"] * 2
    (run,) = tab.runs.folder().iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "cancelled"


def test_closing_the_window_mid_run_with_two_documents_asks_once(qtbot, window) -> None:
    """"Stop the run" answers for the whole close: asking about another document's unsaved changes then
    switches to it without asking again about a run already told to stop (found driving the app under Xvfb)."""
    tab = window.pages_extra.training
    a = window.document
    window.open_spec(parse_spec(OTHER), dirty=True)
    window.workspace.set_current(a)
    prepare(qtbot, tab, "synthetic:shapes?n=1200&size=16&channels=1&classes=4", epochs=400)
    asked = answer(window, "stop")  # a second question would find no answer and fail
    window.dialogs.confirm_discard = lambda parent, name: "discard"
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running()
    assert window.close()
    assert asked == ["tiny: close the window"]
    qtbot.waitUntil(lambda: not tab.running(), timeout=60_000)
    (run,) = tab.runs.folder().iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "cancelled"


def test_item05_runs_table_is_live_and_a_past_run_shows_what_it_learned(qtbot, window) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab, "synthetic:shapes?n=600&size=16&channels=1&classes=4", epochs=3)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)

    def live_epochs() -> int:
        item = tab.runs.tree.topLevelItem(0)
        return int(item.text(3)) if item is not None else 0

    qtbot.waitUntil(lambda: live_epochs() >= 1 and tab.running(), timeout=60_000)  # while it still runs
    qtbot.waitUntil(lambda: not tab.running(), timeout=120_000)
    run = tab.last_run
    qtbot.waitUntil(lambda: live_epochs() == 3, timeout=10_000)
    # a fresh page (as after a restart) shows nothing until the past run is picked
    tab.curves.start(1, 1, 1e-3)
    tab.learned.first.set_image(None)
    assert tab.curves.series["val_acc"].points() == 0
    tab.runs.select(str(run))
    history = load_history(run)
    qtbot.waitUntil(lambda: tab.curves.series["val_acc"].points() == len(history.epochs) == 3, timeout=20_000)
    assert tab.curves.series["val_acc"].y[2] == pytest.approx(history.epochs[2]["val_acc"])
    qtbot.waitUntil(lambda: tab.learned.first.has_image() and tab.learned.features.has_image(), timeout=20_000)
    assert tab.learned.last.first.total == (8, 1) and tab.learned.last.channels > 0


def test_item14_adaptations_are_shown_before_start_with_the_choice_to_change_the_network(qtbot, window) -> None:
    tab = window.pages_extra.training
    window.hub.apply(edits.set_setting, "input", [3, 32, 32])
    window.hub.apply(edits.set_setting, "num_classes", 10)
    prepare(qtbot, tab)  # 1x16x16 images, 4 classes
    assert tab.banner.isVisible() and tab.fit_button.isVisible()
    text = tab.banner.text()
    assert "resized 16x16 -> 32x32" in text and "4x the pixels" in text
    assert "grayscale -> RGB" in text and "num_classes 10 -> 4" in text
    qtbot.mouseClick(tab.fit_button, Qt.MouseButton.LeftButton)  # change the network instead
    spec = window.document.spec
    assert (spec.input, spec.num_classes) == ((1, 16, 16), 4)
    assert not tab.banner.isVisible() and not tab.fit_button.isVisible()
    window.act_undo.trigger()  # one undo step
    assert window.document.spec.input == (3, 32, 32) and tab.banner.isVisible()


def test_item21_overlaying_a_run_on_other_data_says_so(qtbot, window, tmp_path) -> None:
    tab = window.pages_extra.training
    prepare(qtbot, tab)
    train(qtbot, tab)
    same = tab.last_run
    prepare(qtbot, tab, "synthetic:shapes?n=300&size=16&channels=1&classes=4")
    train(qtbot, tab)  # another dataset string: other data
    other = tab.last_run
    tab.runs.only_this.setChecked(False)
    qtbot.waitUntil(lambda: tab.runs.tree.topLevelItemCount() == 2, timeout=10_000)
    assert tab.run_data == "synthetic:shapes?n=300&size=16&channels=1&classes=4"  # the run shown
    tab.runs.set_checked(str(same), True)  # trained on the other dataset string: its legend says so
    qtbot.waitUntil(lambda: same.name in tab.curves.overlays, timeout=10_000)
    assert f"other data: {DATA}" in tab.curves.overlays[same.name][1].name()
    tab.runs.set_checked(str(other), True)  # the same data: nothing to say
    qtbot.waitUntil(lambda: other.name in tab.curves.overlays, timeout=10_000)
    assert "other data" not in tab.curves.overlays[other.name][1].name()
