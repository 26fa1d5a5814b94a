"""The Compare page's "Report" view: the comparative report's sections (``analysis.report_sections``: the
same tables, charts, text and images the HTML and Markdown render) drawn as widgets, with a button that
measures latency and memory in a worker (progress with ETA, cancellable)."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable

from PyQt6.QtCore import QByteArray, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QPixmap
from PyQt6.QtSvgWidgets import QSvgWidget
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from analysis.report_model import Comparison
from analysis.report_sections import Chart, Images, Section, Table, Text, sections

_SIZE = re.compile(r'<svg[^>]*?width="(\d+)" height="(\d+)"')


def svg_widget(svg: str) -> QSvgWidget:
    """An inline SVG of the report at its own size."""
    w = QSvgWidget()
    w.load(QByteArray(svg.encode("utf-8")))
    m = _SIZE.search(svg)
    if m:
        w.setFixedSize(QSize(int(m.group(1)), int(m.group(2))))
    return w


def table_widget(t: Table) -> QTableWidget:
    """A read-only table; numeric columns right-aligned, tall enough to show every row."""
    w = QTableWidget(len(t.rows), len(t.head))
    w.setHorizontalHeaderLabels(t.head)
    w.verticalHeader().hide()
    w.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    w.setAlternatingRowColors(True)
    for r, row in enumerate(t.rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c in t.numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            w.setItem(r, c, item)
    w.resizeColumnsToContents()
    w.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    rows = w.verticalHeader().defaultSectionSize() * len(t.rows)
    w.setFixedHeight(min(rows + w.horizontalHeader().sizeHint().height() + 6, 420))
    columns = sum(w.columnWidth(c) for c in range(len(t.head)))
    w.setFixedWidth(min(columns + 2 * w.frameWidth() + (w.verticalScrollBar().sizeHint().width()
                                                         if rows > 400 else 0), 1300))
    if t.caption:
        w.setToolTip(t.caption)
    return w


def _label(text: str, style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


def _images(part: Images) -> QWidget:
    row = QWidget()
    h = QHBoxLayout(row)
    for title, data, caption in part.items:
        box = QVBoxLayout()
        box.addWidget(_label(f"<b>{title}</b>"))
        if data.startswith("png:"):
            pic = QLabel()
            pix = QPixmap()
            pix.loadFromData(base64.b64decode(data[4:]), "PNG")
            pic.setPixmap(pix.scaledToWidth(200, Qt.TransformationMode.FastTransformation))
            box.addWidget(pic)
        else:
            box.addWidget(svg_widget(data))
        if caption:
            box.addWidget(_label(caption, "color: #555;"))
        box.addStretch(1)
        h.addLayout(box)
    h.addStretch(1)
    return row


def part_widget(part: Table | Chart | Text | Images) -> QWidget:
    if isinstance(part, Table):
        if not part.caption:
            return table_widget(part)
        holder = QWidget()
        v = QVBoxLayout(holder)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(_label(part.caption, "color: #555;"))
        v.addWidget(table_widget(part))
        return holder
    if isinstance(part, Chart):
        return svg_widget(part.svg)
    if isinstance(part, Text):
        return _label(part.text)
    return _images(part)


class ReportView(QWidget):
    """Shows a Comparison section by section; ``measure`` asks the owner to time the networks."""

    progressed = pyqtSignal(int, int, str)

    def __init__(self, measure: Callable[[threading.Event, Callable[[int, int, str], None]], None]) -> None:
        super().__init__()
        self._measure = measure
        self.cancel: threading.Event | None = None
        self.started = 0.0
        self.sections: list[Section] = []
        self.measure_button = QPushButton("Measure latency and memory")
        self.measure_button.setToolTip("time each network (PyTorch and ONNX Runtime, batch 1 and a training-size "
                                       "batch) and measure its inference memory peak on this machine")
        self.measure_button.clicked.connect(self.toggle_measuring)
        self.progress = QLabel()
        self.progress.setStyleSheet("color: #555;")
        self.body = QWidget()
        self.column = QVBoxLayout(self.body)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        top = QHBoxLayout()
        top.addWidget(self.measure_button)
        top.addWidget(self.progress, 1)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(top)
        v.addWidget(scroll, 1)
        self.progressed.connect(self._show_progress)

    def show_comparison(self, c: Comparison | None) -> None:
        while self.column.count():
            old = self.column.takeAt(0).widget()
            if old is not None:
                old.deleteLater()
        self.sections = sections(c) if c is not None and c.entries else []
        self.measure_button.setEnabled(bool(self.sections) or self.cancel is not None)
        if not self.sections:
            self.column.addWidget(_label("Add networks to see their comparative report."))
        for s in self.sections:
            self.column.addWidget(_label(f"<h3>{s.title}</h3>"))
            for part in s.parts:
                if isinstance(part, Text):
                    self.column.addWidget(part_widget(part))
                else:
                    self.column.addWidget(part_widget(part), 0, Qt.AlignmentFlag.AlignLeft)
        self.column.addStretch(1)

    def toggle_measuring(self) -> None:
        if self.cancel is not None:
            self.cancel.set()
            self.progress.setText("stopping after the current step …")
            return
        self.cancel = threading.Event()
        self.started = time.monotonic()
        self.measure_button.setText("Stop measuring")
        self._measure(self.cancel, self.progressed.emit)

    def measuring_ended(self, message: str) -> None:
        self.cancel = None
        self.measure_button.setText("Measure latency and memory")
        self.progress.setText(message)

    def _show_progress(self, done: int, total: int, label: str) -> None:
        if self.cancel is None:
            return
        elapsed = time.monotonic() - self.started
        eta = f", about {elapsed / done * (total - done):.0f} s left" if done and done < total else ""
        self.progress.setText(f"{done}/{total}{eta}: {label}")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        return QSize(900, 600)

