"""Start-up: the splash shows at once and says what loads, the heavy libraries load before the window
exists, and the window paints without a stall from then on.

CPython holds the GIL for long stretches while it loads torch's libraries (a background import stalled
the window ~0.5-1 s once per session); done here, behind a splash with progress, nothing is left to load
after the window's first paint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPixmap
from PyQt6.QtWidgets import QApplication, QSplashScreen

# (what the splash says, module): the window's own code, then everything training and search need
STEPS: tuple[tuple[str, str], ...] = (
    ("the window", "gui.main_window"),
    ("PyTorch", "torch"),
    ("PyTorch's compiler stack", "torch._dynamo"),
    ("the training loop", "training.loop"),
    ("filters and feature maps", "training.visualize"),
    ("the model builder", "arch.builder"),
    ("the search storage", "search.storage"),
)
TORCH_MODULES = tuple(module for _, module in STEPS[1:])  # what a window made without this splash preloads


def splash_pixmap() -> QPixmap:
    pixmap = QPixmap(460, 220)
    pixmap.fill(QColor("#ffffff"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#1a73e8"))
    font = QFont()
    font.setPointSize(26)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 40, 0, -100), Qt.AlignmentFlag.AlignHCenter, "ConvSmith")
    font.setPointSize(10)
    font.setBold(False)
    painter.setFont(font)
    painter.setPen(QColor("#6b7280"))
    painter.drawText(pixmap.rect().adjusted(0, 95, 0, 0), Qt.AlignmentFlag.AlignHCenter,
                     "design, analyse, train and search CNNs")
    painter.setPen(QColor("#9aa0a6"))
    painter.drawRect(pixmap.rect().adjusted(0, 0, -1, -1))
    painter.end()
    return pixmap


def load(app: QApplication, progress: Callable[[str, int, int], None] | None = None) -> QSplashScreen:
    """Show the splash and import every step, saying which one loads; returns the splash (``finish`` it with
    the window)."""
    splash = QSplashScreen(splash_pixmap())
    splash.show()
    app.processEvents()
    for i, (what, module) in enumerate(STEPS, 1):
        text = f"Loading {what} … ({i}/{len(STEPS)})"
        splash.showMessage(text, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter, QColor("#202124"))
        app.processEvents()
        if progress is not None:
            progress(what, i, len(STEPS))
        importlib.import_module(module)
    splash.showMessage("Opening the window …", Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                       QColor("#202124"))
    app.processEvents()
    return splash
