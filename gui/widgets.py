"""Small widgets shared by the panels."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

ERROR_COLOUR = "#c02020"  # what the person must fix: error labels and the border of a refused field


def labelled(name: str, picker: QWidget) -> QHBoxLayout:
    """A row of a picker (epoch, layer, cost) after its name, the picker taking the width."""
    row = QHBoxLayout()
    row.addWidget(QLabel(name))
    row.addWidget(picker, 1)
    return row


class ErrorLabel(QLabel):
    """Why something was refused, in the one error colour, wrapped; ``bold`` for a block's own problem."""

    def __init__(self, text: str = "", bold: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {ERROR_COLOUR};" + (" font-weight: bold;" if bold else ""))


class TextPane(QWidget):
    """A few lines of (rich) text whose changes never re-lay out the window.

    A QLabel asks its layout for a new geometry on every setText; in a dock of a QMainWindow that
    re-applies the whole dock layout and repaints every dock. Here the label lives in a container of
    fixed height without a layout, so new text only repaints the label.
    """

    def __init__(self, lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._height = lines * self.fontMetrics().lineSpacing() + 4
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self._height)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, self._height)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())

    def setText(self, text: str) -> None:  # noqa: N802 (reads like QLabel's)
        if text != self.label.text():
            self.label.setText(text)
            self.label.setToolTip(text if "<" not in text else "")

    def text(self) -> str:
        return self.label.text()
