"""Signals are blocked only inside a QSignalBlocker (restored even when the guarded code raises), and a
refusal is shown by the one error label in the one error colour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gui.field_editors import IntEditor
from gui.widgets import ERROR_COLOUR, ErrorLabel

GUI = Path(__file__).resolve().parent.parent / "gui"


def test_a_failed_update_leaves_the_editor_live(qtbot) -> None:
    editor = IntEditor(0, 10)
    qtbot.addWidget(editor)
    committed: list[object] = []
    editor.committed.connect(committed.append)
    with pytest.raises(ValueError):
        editor.set_value("not a number")  # int() fails inside the guarded block
    assert not editor.box.signalsBlocked()
    editor.set_value(3)
    assert not committed and not editor.box.signalsBlocked()  # set_value itself emits nothing


def test_no_unguarded_signal_blocking_nor_hard_coded_error_colours() -> None:
    unguarded, colours = [], []
    for path in sorted(GUI.glob("*.py")):
        text = path.read_text()
        if "blockSignals(True)" in text:
            unguarded.append(path.name)
        if path.name != "widgets.py":
            colours += [f"{path.name}: {m}" for m in re.findall(r"setStyleSheet\(\"color: #(?:c02020|b00020)[^\"]*\"",
                                                                  text)]
    assert not unguarded, f"use QSignalBlocker in {unguarded}"
    assert not colours, f"use gui.widgets.ErrorLabel: {colours}"


def test_the_error_label_wraps_in_the_error_colour(qtbot) -> None:
    label = ErrorLabel("body[2].kernel: must be >= 1", bold=True)
    qtbot.addWidget(label)
    assert label.wordWrap() and ERROR_COLOUR in label.styleSheet() and "bold" in label.styleSheet()
    assert "bold" not in ErrorLabel().styleSheet()
