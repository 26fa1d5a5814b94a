"""Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y mean the document's undo and redo wherever the focus is.

A line edit or spin box claims these keys for its own text undo (a ShortcutOverride), which made Ctrl+Z
do nothing while an inspector field had focus. This filter declines the override for fields inside the
window, so the keys reach the window's Undo / Redo actions (the current document's undo stack).
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject
from PyQt6.QtGui import QKeyEvent, QKeySequence
from PyQt6.QtWidgets import QWidget

KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)
EXTRA = (QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y"))


def is_undo_key(event: QKeyEvent) -> bool:
    if any(event.matches(k) for k in KEYS):
        return True
    pressed = QKeySequence(event.keyCombination())
    return any(pressed.matches(k) == QKeySequence.SequenceMatch.ExactMatch for k in EXTRA)


class UndoKeys(QObject):
    """Installed on the application by the main window (its parent); acts only on the window's widgets."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QWidget)
                and self.window.isAncestorOf(obj) and is_undo_key(event)):
            event.ignore()  # not claimed by the field: the window's shortcut fires
            return True
        return False
