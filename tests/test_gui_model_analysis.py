"""File > Analyse model (read-only): ONNX files, module classes and torchvision names open in a read-only
analysis window that shows the same records as the CLI, lower bounds marked."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QMenu

from analysis import columns
from analysis.columns import NOT_COUNTED
from gui.model_analysis import ReportView
from tests.test_gui_designer import make_window
from tests.test_onnx_import import odd_onnx

CSV_KEYS = [c.key for c in columns.shown(columns.LAYER_COLUMNS, "csv")]  # what the window shows


def _menu(window, title: str) -> QMenu:  # noqa: ANN001
    file_menu = window.menuBar().actions()[0].menu()
    return next(a.menu() for a in file_menu.actions() if a.menu() is not None and a.text() == title)


def _wait_view(qtbot, window) -> ReportView:  # noqa: ANN001
    qtbot.waitUntil(lambda: bool(window.analysis_views), timeout=60_000)
    return window.analysis_views[-1]


def test_onnx_file_opens_read_only_with_lower_bounds(qtbot, tmp_path: Path, artifacts: Path) -> None:  # noqa: ANN001
    path = odd_onnx(tmp_path / "odd.onnx")
    window = make_window(qtbot, tmp_path)
    window.dialogs.paths = [str(path)]
    menu = _menu(window, "&Analyse model (read-only)")
    next(a for a in menu.actions() if a.text() == "&ONNX file…").trigger()
    view = _wait_view(qtbot, window)
    assert "read-only" in view.windowTitle() and window.dialogs.errors == []
    text = view.totals.text()
    assert "MACs ≥ 3,888" in text and "LOWER BOUNDS" in text and "onnx:CumSum" in text
    assert view.table.columnCount() == len(CSV_KEYS) and view.table.rowCount() == len(view.report.layers)
    last = view.table.rowCount() - 1
    assert view.table.item(last, len(CSV_KEYS) - 1).text() == NOT_COUNTED
    view.grab().save(str(artifacts / "gui_model_analysis_onnx.png"))


def test_torchvision_transformer_opens_read_only(qtbot, tmp_path: Path, artifacts: Path) -> None:  # noqa: ANN001
    window = make_window(qtbot, tmp_path)
    vision = next(a.menu() for a in _menu(window, "&Analyse model (read-only)").actions()
                  if a.menu() is not None and a.text() == "&torchvision")
    assert len(vision.actions()) >= 80
    next(a for a in vision.actions() if a.text() == "vit_b_32").trigger()
    view = _wait_view(qtbot, window)
    assert "≥" not in view.totals.text() and "4,409,186,304" in view.totals.text()  # FlopCounterMode / 2
    column = CSV_KEYS.index("rf_size")
    assert view.table.item(view.table.rowCount() - 1, column).text() == "global"
    view.grab().save(str(artifacts / "gui_model_analysis_vit.png"))


def test_a_failing_module_shows_one_error(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from gui.model_analysis import analyse

    bad = tmp_path / "bad.py"
    bad.write_text("from torch import nn\nclass Bad(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                   "        self.fc = nn.Linear(5, 2)\n    def forward(self, x):\n        return self.fc(x)\n")
    window = make_window(qtbot, tmp_path)
    analyse(window, f"{bad}:Bad")
    qtbot.waitUntil(lambda: bool(window.dialogs.errors), timeout=60_000)
    title, text = window.dialogs.errors[0]
    assert "Cannot analyse" in title and "at node fc" in text and window.analysis_views == []
