"""File > Analyse model (read-only): an ONNX file, an nn.Module class in a Python file or any torchvision
classifier, analysed where it cannot become an editable design (transformers, ONNX graphs). The window
shows the analysis records as the CLI renders them (``analysis.formats``): totals first, a lower-bound
line in red when some op could not be counted, then one row per layer, uncounted ones marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QLabel, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from analysis import columns
from analysis.formats import header_lines
from analysis.records import Report

if TYPE_CHECKING:
    from gui.main_window import MainWindow

ONNX_FILTER = "ONNX models (*.onnx);;All files (*)"
PY_FILTER = "Python files (*.py);;All files (*)"
RED = "#c5221f"


class ReportView(QWidget):
    """One analysed model, read-only: nothing here can be edited or saved back."""

    def __init__(self, report: Report, source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.report = report
        self.setWindowTitle(f"{report.name} — analysis (read-only)")
        self.setObjectName("model-analysis")
        layout = QVBoxLayout(self)
        lines = header_lines(report)
        html = [f"<b>{_esc(lines[0])}</b> <span style='color:#5f6368'>({_esc(source)}, read-only)</span>"]
        html += [f"<span style='color:{RED}'><b>{_esc(x)}</b></span>" if x.startswith("LOWER BOUNDS") else _esc(x)
                 for x in lines[2:]]
        self.totals = QLabel("<br>".join(html))
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.totals)
        cols = columns.shown(columns.LAYER_COLUMNS, "csv")  # every figure, as the CSV export writes it
        rows = columns.rows(report.layers, cols, "raw")
        self.table = QTableWidget(len(rows), len(cols))
        self.table.setHorizontalHeaderLabels([c.key for c in cols])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        uncounted = QBrush(QColor("#fce8e6"))
        for r, (row, layer) in enumerate(zip(rows, report.layers)):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if not columns.counted(layer):
                    item.setBackground(uncounted)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        layout.addWidget(self.table, 1)
        self.resize(1200, 700)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def analyse(window: MainWindow, ref: str) -> None:
    """Analyse ``ref`` (``model.onnx``, ``FILE.py:Class``, ``torchvision:NAME``) off the UI thread; the
    busy indicator shows it running; the result opens in its own read-only window."""
    from analysis.sources import analyze_ref

    def done(report: Report) -> None:
        view = ReportView(report, ref, window)
        window.analysis_views.append(view)
        view.show()

    def failed(error: Exception) -> None:
        window.dialogs.error(window, f"Cannot analyse {ref}", str(error))

    window.workers.submit(lambda _job: analyze_ref(ref), done, failed, title=f"Analysing {ref}")


def install(window: MainWindow, file_menu: QMenu) -> QMenu:
    """File > Analyse model (read-only): ONNX file, Python file, every torchvision classifier."""
    import torchvision

    window.analysis_views = []  # open read-only views (kept alive with the window)
    menu = file_menu.addMenu("&Analyse model (read-only)")

    def onnx_file() -> None:
        path = window.dialogs.open_path(window, "Analyse an ONNX model", ONNX_FILTER)
        if path:
            analyse(window, path)

    def python_file() -> None:
        from arch.errors import ConvSmithError
        from gui.model_import import module_ref

        path = window.dialogs.open_path(window, "Analyse an nn.Module (FILE.py)", PY_FILTER)
        if path:
            try:
                analyse(window, module_ref(path))
            except ConvSmithError as e:
                window.dialogs.error(window, "Cannot analyse", str(e))

    menu.addAction("&ONNX file…", onnx_file)
    menu.addAction("&Python file (FILE.py:Class)…", python_file)
    vision = menu.addMenu("&torchvision")
    for name in torchvision.models.list_models(module=torchvision.models):
        vision.addAction(name, lambda n=name: analyse(window, f"torchvision:{n}"))
    return menu
