"""The analysis table: the engine's per-layer records or per-block rollups, sortable and filterable,
with the totals beneath. When the spec's shapes fail it keeps the last valid analysis, greyed.

The model formats each record once when the analysis changes (figures come from the records only);
sorting and filtering happen in a QSortFilterProxyModel on raw values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor, QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from analysis.formats import count, hw, nbytes
from arch.graph import fmt_shape
from gui.evaluation import Evaluation
from gui.session import Hub
from gui.widgets import TextPane

SORT = Qt.ItemDataRole.UserRole
DISPLAY, ALIGN, FONT, FOREGROUND = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
                                    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole)
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
STALE = QColor("#9aa0a6")


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[Any], Any]
    kind: str = "text"  # text, mono, count, bytes, shape, pair
    tip: str = ""


def _rf(field: str) -> Callable[[Any], Any]:
    return lambda r: None if r.rf_whole_input else getattr(r, field)


SHARED = (
    Column("Input", lambda r: r.in_shape, "shape", "input shape (without the batch)"),
    Column("Output", lambda r: r.out_shape, "shape", "output shape (without the batch)"),
    Column("Params", lambda r: r.params, "count", "learned parameters"),
    Column("MACs", lambda r: r.macs, "count", "multiply-accumulates of conv and linear layers (bias excluded)"),
    Column("FLOPs", lambda r: r.flops, "count", "every operation (2 x MACs, bias, norm, activations, pooling)"),
    Column("Activations", lambda r: r.activation_bytes, "bytes", "memory of the output values at batch 1"),
    Column("RF", _rf("rf_size"), "pair", "theoretical receptive field (input pixels, h x w)"),
    Column("Jump", _rf("rf_jump"), "pair", "input pixels between neighbouring output units"),
)
LAYER_COLUMNS = (
    Column("Layer", lambda r: r.name, "mono", "module path in the built model"),
    Column("Block", lambda r: r.block, "mono", "the spec block that made it"),
    Column("Type", lambda r: r.type),
) + SHARED
BLOCK_COLUMNS = (
    Column("Block", lambda r: r.path, "mono", "spec path"),
    Column("Family", lambda r: r.family),
    Column("Summary", lambda r: r.summary),
) + SHARED


def _cell(kind: str, value: Any) -> tuple[str, Any]:
    """(display text, sort key) of one value."""
    if kind == "count":
        return f"{value:,}", value
    if kind == "bytes":
        return nbytes(value), value
    if kind == "shape":
        n = 1
        for s in value:
            n *= s
        return fmt_shape(value), n
    if kind == "pair":
        if value is None:
            return "whole", float("inf")
        return hw(value), float(value[0]) * float(value[1])
    return str(value), str(value)


class RecordModel(QAbstractTableModel):
    """Rows of records under a set of columns, formatted once per analysis."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        super().__init__()
        self.columns = columns
        self.records: list[Any] = []
        self._cells: dict[int, list[tuple[str, Any]]] = {}  # formatted on first display (or sort)
        self.stale = False
        self.was_reset = False  # the view must lay out again before it can scroll
        self.mono = QFont("monospace")
        self.mono.setStyleHint(QFont.StyleHint.Monospace)
        numeric = ("count", "bytes", "shape", "pair")
        self._align = [RIGHT if c.kind in numeric else LEFT for c in columns]
        self._fonts = [self.mono if c.kind in ("mono", "shape", "pair") else None for c in columns]
        self._grey = QBrush(STALE)

    def set_records(self, records: list[Any], stale: bool) -> None:
        """New records. The same number of rows (a field edit) keeps selection and scroll, and only the
        rows that differ are redrawn."""
        if len(records) != len(self.records) or not records:
            self.beginResetModel()
            self.records, self._cells, self.stale = records, {}, stale
            self.endResetModel()
            self.was_reset = True
            return
        changed = [i for i, (a, b) in enumerate(zip(self.records, records)) if a != b]
        if stale != self.stale:
            changed = [0, len(records) - 1]
        self.records, self.stale = records, stale
        for i in changed:
            self._cells.pop(i, None)
        if changed:
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], len(self.columns) - 1))

    def cells(self, row: int) -> list[tuple[str, Any]]:
        """(text, sort key) of every column of a row, formatted once."""
        cells = self._cells.get(row)
        if cells is None:
            record = self.records[row]
            cells = self._cells[row] = [_cell(c.kind, c.get(record)) for c in self.columns]
        return cells

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 (Qt override)
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called for every role of every visible cell on each paint: keep it to lookups
        if role == DISPLAY:
            return self.cells(index.row())[index.column()][0]
        if role == ALIGN:
            return self._align[index.column()]
        if role == FONT:
            return self._fonts[index.column()]
        if role == SORT:
            return self.cells(index.row())[index.column()][1]
        if role == FOREGROUND and self.stale:
            return self._grey
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if column.kind in ("count", "bytes", "shape", "pair") else LEFT
        return None


def block_of(record: Any) -> str:
    return getattr(record, "block", None) or record.path


class AnalysisPanel(QWidget):
    """Layers / blocks table with a filter, the totals line and the stale notice."""

    layer_chosen = pyqtSignal(str)  # a layer row was picked (the receptive-field view follows)

    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItems(["Layers", "Blocks"])
        self.mode.setToolTip("one row per primitive op, or per spec block (stages and their repeats)")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter rows")
        self.filter.setClearButtonEnabled(True)
        top.addWidget(self.mode)
        top.addWidget(self.filter, 1)
        layout.addLayout(top)
        self.models = {"Layers": RecordModel(LAYER_COLUMNS), "Blocks": RecordModel(BLOCK_COLUMNS)}
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSortRole(SORT)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSourceModel(self.models["Layers"])
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # graph order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setWordWrap(False)
        layout.addWidget(self.table, 1)
        self.totals = TextPane(lines=2)
        layout.addWidget(self.totals)
        self._syncing = False
        self._shown_path = ""  # the selection last scrolled to
        self._sized: set[str] = set()
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_selection)

    @property
    def model(self) -> RecordModel:
        return self.models[self.mode.currentText()]

    def show_evaluation(self, ev: Evaluation) -> None:
        rep = ev.shown
        self._syncing = True
        self.models["Layers"].set_records(rep.layers if rep else [], ev.stale)
        self.models["Blocks"].set_records(rep.blocks if rep else [], ev.stale)
        self._syncing = False
        if self.mode.currentText() not in self._sized and rep is not None:
            self._sized.add(self.mode.currentText())
            self.table.resizeColumnsToContents()
        self.totals.setText(self.totals_text(ev))
        self.show_selection(self.hub.selection)

    @staticmethod
    def totals_text(ev: Evaluation) -> str:
        rep = ev.shown
        if rep is None:
            return "<span style='color:#c5221f'>No analysis: " + "; ".join(map(str, ev.problems)) + "</span>"
        t, rf = rep.totals, rep.receptive_field
        text = (f"<b>Total</b> {t.params:,} params ({count(t.params)}) · "
                f"{count(t.macs)} MACs · {count(t.flops)} FLOPs · "
                f"activations {nbytes(t.activation_bytes_train)} (training, batch 1) · "
                f"peak inference {nbytes(t.peak_activation_bytes_inference)} · "
                f"RF {hw(rf.size)} at <tt>{rf.layer}</tt>, jump {hw(rf.jump)}")
        if ev.stale:
            text = ("<span style='color:#c5221f'>Shapes fail — showing the last valid analysis. "
                    + "; ".join(map(str, ev.problems)) + "</span><br>" + text)
        return text

    def _mode_changed(self, mode: str) -> None:
        self.proxy.setSourceModel(self.models[mode])
        if mode not in self._sized and self.models[mode].records:
            self._sized.add(mode)
            self.table.resizeColumnsToContents()
        self.show_selection(self.hub.selection)

    # -------------------------------------------------------------- selection
    def show_selection(self, path: str) -> None:
        """Select every row made by the selected block (a stage selects its repeats' rows)."""
        if not path:
            return
        model = self.model
        selection = QItemSelection()
        first: QModelIndex | None = None
        for row, record in enumerate(model.records):
            block = block_of(record)
            if block == path or block.startswith(path + "[") or block.startswith(path + "."):
                index = self.proxy.mapFromSource(model.index(row, 0))
                if index.isValid():
                    selection.select(index, index.siblingAtColumn(model.columnCount() - 1))
                    first = index if first is None or index.row() < first.row() else first
        self._syncing = True
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._syncing = False
        if first is not None and (path != self._shown_path or model.was_reset):
            if model.was_reset:
                self.table.doItemsLayout()  # after a reset the scroll range is only updated lazily
                model.was_reset = False
            self.table.scrollTo(first, QAbstractItemView.ScrollHint.PositionAtCenter)
        self._shown_path = path

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        record = self.model.records[self.proxy.mapToSource(current).row()]
        if hasattr(record, "name"):
            self.layer_chosen.emit(record.name)
        self._syncing = True
        self.hub.select(block_of(record))
        self._syncing = False
