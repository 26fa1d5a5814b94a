"""Run under a real X server (tests/test_gui_x11.py starts Xvfb and a window manager): the designer's diagram
as X shows it, compared with a fresh render of the same viewport, after each step of Apply fix -> Undo ->
Wrap in stage (issue 11, item 13: an old block stayed painted until Ctrl+0). Prints one JSON line:
per network and try, the pixels where the screen differs from the render, and a control (a block moved
while the view may not repaint: stale on purpose) that shows the comparison can see stale paint."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PyQt6.QtCore import QPoint, QPointF, QSettings  # noqa: E402
from PyQt6.QtGui import QGuiApplication, QImage  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    bits = image.constBits()
    bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return rows[:, :image.width(), :3].astype(int)


def main() -> None:
    app = QApplication(sys.argv[:1])
    from arch.spec import parse_spec
    from gui import edits
    from gui.main_window import MainWindow
    from tests.test_gui_view_hygiene import SMALL_FIELD

    folder = tempfile.mkdtemp()
    window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"), QSettings.Format.IniFormat),
                        recovery_dir=folder)
    window.resize(1400, 900)
    window.show()

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def stale_pixels() -> int:
        viewport = window.design.diagram.viewport()
        corner = viewport.mapToGlobal(QPoint(0, 0))
        shown = QGuiApplication.primaryScreen().grabWindow(0, corner.x(), corner.y(), viewport.width(),
                                                           viewport.height())
        a, b = pixels(shown.toImage()), pixels(viewport.grab().toImage())
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        return int((np.abs(a[:h, :w] - b[:h, :w]).sum(2) > 30).sum())

    spin(2.0)
    found: dict[str, list[int]] = {}
    tall = {**SMALL_FIELD, "name": "tall", "input": [3, 64, 64], "body": [  # taller than the view: it scrolls
        SMALL_FIELD["body"][0], SMALL_FIELD["body"][1], *[{"block": "conv", "out": 32, "kernel": 3}] * 10,
        *SMALL_FIELD["body"][-3:]]}
    for name, spec, target in (("small field", parse_spec(SMALL_FIELD), "body[3]"),
                               ("tall", parse_spec(tall), "body[9]")):
        window.open_spec(spec)
        spin(0.5)
        found[name] = []
        for _ in range(2):
            lint = next(x for x in window.design.lints.lints if x.code == "rf-small" and x.fix is not None)
            window.hub.apply(edits.apply_fix, lint.fix.description, lint.fix.edits)
            spin(0.3)
            window.act_undo.trigger()
            spin(0.3)
            window.hub.select(target)
            spin(0.2)
            window.block_actions.wrap.trigger()
            spin(0.6)
            found[name].append(stale_pixels())
            window.act_undo.trigger()
            spin(0.3)
    # the control: a glyph moved while the view may not repaint is stale on screen, and the comparison sees it
    view = window.design.diagram
    view.setViewportUpdateMode(view.ViewportUpdateMode.NoViewportUpdate)
    glyph = view.glyphs[target]  # selected, so in view
    glyph.setPos(glyph.pos() + QPointF(150, 0))
    spin(0.5)
    found["control"] = [stale_pixels()]
    print(json.dumps(found), flush=True)
    window.close()


if __name__ == "__main__":
    main()
