"""The layout the Training and Search pages share: their settings in a column on the left that scrolls
vertically, the live views on the right, a splitter between."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHBoxLayout, QScrollArea, QSplitter, QWidget


def sidebar_page(page: QWidget, side: QWidget, main: QWidget, width: tuple[int, int] = (390, 480)) -> None:
    """Lay out ``page`` as ``side`` (between ``width`` pixels wide) beside ``main``."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(side)
    scroll.setMinimumWidth(width[0])
    scroll.setMaximumWidth(width[1])
    outer = QHBoxLayout(page)
    outer.setContentsMargins(4, 4, 4, 4)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(scroll)
    splitter.addWidget(main)
    splitter.setStretchFactor(1, 1)
    outer.addWidget(splitter)
