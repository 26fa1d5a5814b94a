"""Screenshots of the designer with templates loaded, written to artifacts/ for a person to look at."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtGui import QImage

from gui.main_window import MainWindow

# template, block to select, dock to raise on the right
SHOTS = [("resnet18", "body[3]", "inspector"), ("mobilenet_v2", "body[4]", "rf"), ("googlenet", "body[6]", "inspector")]


@pytest.mark.parametrize("template, block, dock", SHOTS)
def test_screenshot(qtbot, tmp_path, artifacts, template: str, block: str, dock: str) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_dir=tmp_path / "recovery", autosave_ms=3_600_000)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.new_document(template)
    window.design.docks[dock].raise_()
    window.hub.select(block)
    qtbot.wait(50)  # let the docks settle before grabbing
    path = artifacts / f"designer_{template}.png"
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1600, 1000)
    colours = {image.pixel(x, y) for x in range(0, 1600, 37) for y in range(0, 1000, 29)}
    assert len(colours) > 20  # drawn, not a blank window
