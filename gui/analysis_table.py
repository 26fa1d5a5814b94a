"""The analysis table: the engine's per-layer records or per-block rollups, sortable and filterable,
with the totals beneath. When the spec's shapes fail it keeps the last valid analysis, greyed.

The model formats a record's text when a view first asks for it (figures come from the records only),
so an edit costs the rows on screen, not the whole network: a same-sized update compares only the rows
the table shows and signals those that changed (every row while sorted or filtered). Qt asks ``data``
for every role of every visible cell on each paint, and each call crosses into Python: so the model
sorts and filters itself (on raw values) instead of sitting behind a QSortFilterProxyModel, whose every
mapped call costs two or three more crossings, and ``data`` is kept to lookups returning plain ints.

With the training option ``freeze`` set (the designer's "Freeze up to here", ``Hub.set_freeze``) the evaluation
is the analysis at that freeze point: frozen layers and blocks marked, the totals split into trainable and frozen.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from PyQt6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
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

from analysis import Report, columns
from analysis.columns import Column
from analysis.formats import at_least, count, hw, nbytes
from gui.evaluation import Evaluation
from gui.session import Hub
from gui.widgets import TextPane

R = Qt.ItemDataRole  # roles as plain ints: data() compares them for every cell on each paint
DISPLAY, ALIGN, FONT, FOREGROUND = (R.DisplayRole.value, R.TextAlignmentRole.value, R.FontRole.value,
                                    R.ForegroundRole.value)
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT_KINDS = ("int", "count", "bytes", "shape", "pair")  # right-aligned in the table
MONO_KINDS = ("name", "shape", "pair")
STALE = QColor("#9aa0a6")


def title(column: Column) -> str:
    """A column's header here: its declared title with a capital (``memory`` -> ``Memory``, ``MACs`` kept)."""
    return column.title[:1].upper() + column.title[1:]


def _key(kind: str, value: Any) -> Any:
    """What one value sorts by: numbers by size, shapes by element count, a whole-input field last."""
    if kind == "shape":
        n = 1
        for s in value:
            n *= s
        return n
    if kind == "pair":
        return float("inf") if value is None else float(value[0]) * float(value[1])
    return value if kind in ("int", "count", "bytes") else str(value)


class RecordModel(QAbstractTableModel):
    """Rows of records under a set of columns, sorted and filtered here, each formatted when first shown.

    ``records`` stay in graph order; ``order`` holds the record shown on each row."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        super().__init__()
        self.columns = columns
        self.records: list[Any] = []
        self.order: list[int] = []
        self._rows: dict[int, int] | None = None  # record -> row, made when asked while sorted or filtered
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._filter = ""
        self._texts: dict[int, list[str]] = {}  # per record, formatted on first display
        self._blocks: dict[str, list[int]] | None = None  # records of each block, made when first asked
        self.stale = False
        self.was_reset = False  # the view must lay out again before it can scroll
        self.mono = QFont("monospace")
        self.mono.setStyleHint(QFont.StyleHint.Monospace)
        # an int converts to Qt faster than an alignment flag: data() returns these on every paint
        self._align = [(RIGHT if c.kind in RIGHT_KINDS else LEFT).value for c in columns]
        self._fonts = [self.mono if c.kind in MONO_KINDS else None for c in columns]
        self._grey = QBrush(STALE)

    @property
    def arranged(self) -> bool:
        """Sorted or filtered: rows are not the records in graph order."""
        return self._sort[0] >= 0 or bool(self._filter)

    def record(self, row: int) -> Any:
        return self.records[self.order[row]]

    def row_of(self, record: int) -> int | None:
        """The row showing a record (None when filtered out)."""
        if not self.arranged:
            return record
        if self._rows is None:
            self._rows = {r: i for i, r in enumerate(self.order)}
        return self._rows.get(record)

    def set_records(self, records: list[Any], stale: bool, rows: Iterable[int] | None = None) -> None:
        """New records. The same number of rows (a field edit) keeps selection and scroll; of ``rows``
        (the rows on screen; None: all of them) those whose record differs are signalled, and every row is
        formatted again when next shown. Sorted or filtered, the rows are arranged again."""
        if len(records) != len(self.records) or not records:
            self.beginResetModel()
            self.records, self._texts, self._blocks, self.stale = records, {}, None, stale
            self.order, self._rows = self._arranged(), None
            self.endResetModel()
            self.was_reset = True
            return
        old = self.records
        self.records, self._texts, self._blocks = records, {}, None
        if stale != self.stale or self.arranged:
            self.stale = stale
            if self.arranged:
                self._arrange()
            changed = [0, len(self.order) - 1]  # every row: new colour, or new places
        else:
            changed = [i for i in (range(len(records)) if rows is None else rows) if old[i] != records[i]]
        if changed and self.order:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(self.columns) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # Qt override
        """Sort by a column's raw values (column -1: graph order), as the header asks."""
        self._sort = (column, order)
        self._arrange()

    def set_filter(self, text: str) -> None:
        """Show only rows where some cell contains ``text`` (any case)."""
        self._filter = text.casefold()
        self._arrange()

    def _arranged(self) -> list[int]:
        """Records in row order for the current sort and filter."""
        rows: list[int] = list(range(len(self.records)))
        if self._filter:
            rows = [i for i in rows if any(self._filter in t.casefold() for t in self.texts(i))]
        column, order = self._sort
        if column >= 0:
            c = self.columns[column]
            keys = {i: _key(c.kind, c.get(self.records[i])) for i in rows}
            rows.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)  # stable
        return rows

    def _arrange(self) -> None:
        """Put the rows in their new order; the selection and the current row follow their records."""
        order = self._arranged()
        if order == self.order:
            return
        if len(order) != len(self.order):
            self.beginResetModel()
            self.order, self._rows = order, None
            self.endResetModel()
            self.was_reset = True
            return
        self.layoutAboutToBeChanged.emit()
        where = {r: i for i, r in enumerate(order)}
        old = self.persistentIndexList()
        new = [self.createIndex(where[self.order[p.row()]], p.column()) if self.order[p.row()] in where
               else QModelIndex() for p in old]
        self.order, self._rows = order, None
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def texts(self, record: int) -> list[str]:
        """Every column's text for a record, formatted once."""
        texts = self._texts.get(record)
        if texts is None:
            r = self.records[record]
            texts = self._texts[record] = [c.text(r, "exact") for c in self.columns]
        return texts

    def rows_of(self, path: str) -> list[int]:
        """The records made by a block and the blocks inside it (a stage's repeats, a branch's paths), in
        graph order. A block's records are one run of the graph order: grouped once per set of records, so
        a query scans the blocks (hundreds), not the records."""
        if self._blocks is None:
            self._blocks = {}
            start = 0
            for block, run in groupby(self.records, key=block_of):
                end = start + sum(1 for _ in run)
                self._blocks.setdefault(block, []).extend(range(start, end))
                start = end
        inside = (path + "[", path + ".")
        return sorted(i for block, found in self._blocks.items() if block == path or block.startswith(inside)
                      for i in found)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 (Qt override)
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called for every role of every visible cell on each paint: keep it to lookups
        if role == DISPLAY:
            return self.texts(self.order[index.row()])[index.column()]
        if role == ALIGN:
            return self._align[index.column()]
        if role == FONT:
            return self._fonts[index.column()]
        if role == FOREGROUND and self.stale:
            return self._grey
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return title(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.doc or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if column.kind in RIGHT_KINDS else LEFT
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
        self.models = {"Layers": RecordModel(columns.shown(columns.LAYER_COLUMNS, "gui")),
                       "Blocks": RecordModel(columns.shown(columns.BLOCK_COLUMNS, "gui"))}
        self.table = QTableView()
        self.table.setModel(self.models["Layers"])
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
        self.totals = TextPane(lines=3)  # the totals wrap to two lines in a narrow dock; one line for a warning
        layout.addWidget(self.totals)
        self._syncing = False
        self.report: Report | None = None  # the records shown (the evaluation's, at the freeze point)
        self._shown_path = ""  # the selection last scrolled to
        self._sized: set[str] = set()
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.filter.textChanged.connect(lambda text: self.model.set_filter(text))
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_selection)

    @property
    def model(self) -> RecordModel:
        return self.models[self.mode.currentText()]

    def show_evaluation(self, ev: Evaluation) -> None:
        rep = self.report = ev.shown
        self._syncing = True
        for mode, model in self.models.items():
            if mode != self.mode.currentText():
                shown: Iterable[int] | None = ()  # no view shows it: nothing to signal
            else:
                shown = None if model.arranged else self._rows_on_screen()
            model.set_records((rep.layers if mode == "Layers" else rep.blocks) if rep else [], ev.stale, shown)
        self._syncing = False
        if self.mode.currentText() not in self._sized and rep is not None:
            self._sized.add(self.mode.currentText())
            self.table.resizeColumnsToContents()
        self.totals.setText(self.totals_text(ev))
        self.show_selection(self.hub.selection)

    def _rows_on_screen(self) -> range:
        """Rows the table shows now."""
        top = self.table.rowAt(0)
        if top < 0:
            return range(0)
        bottom = self.table.rowAt(self.table.viewport().height() - 1)
        return range(top, (bottom if bottom >= 0 else self.model.rowCount() - 1) + 1)

    @staticmethod
    def totals_text(ev: Evaluation) -> str:
        """The totals of the evaluation's report (at the freeze point) and what is wrong, in red."""
        rep = ev.shown
        if rep is None:
            return "<span style='color:#c5221f'>No analysis: " + "; ".join(map(str, ev.problems)) + "</span>"
        t, rf = rep.totals, rep.receptive_field
        ge = at_least(rep)  # "≥ " when an uncounted op makes these lower bounds
        by = f" by freeze {rep.freeze}" if rep.freeze else ""
        text = (f"<b>Total</b> {t.params:,} params ({count(t.params)}; trainable {t.trainable_params:,}, "
                f"frozen {t.frozen_params:,}{by}) · "
                f"{ge}{count(t.macs)} MACs · {ge}{count(t.flops)} FLOPs · "
                f"activations {ge}{nbytes(t.activation_bytes_train)} (training, batch 1) · "
                f"peak inference {ge}{nbytes(t.peak_activation_bytes_inference)} · "
                f"RF {ge}{hw(rf.size)} at <tt>{rf.layer}</tt>, jump {hw(rf.jump)}")
        if t.lower_bound:
            text += f"<br><span style='color:#c5221f'>Lower bounds: not counted {', '.join(t.unknown_ops)}</span>"
        if ev.freeze_problem:  # first, like the stale warning: a long totals line must not push it out of view
            text = (f"<span style='color:#c5221f'>Nothing frozen: {html.escape(ev.freeze_problem)}</span><br>"
                    + text)
        if ev.stale:
            text = ("<span style='color:#c5221f'>Shapes fail — showing the last valid analysis. "
                    + "; ".join(map(str, ev.problems)) + "</span><br>" + text)
        return text

    def _mode_changed(self, mode: str) -> None:
        model, previous = self.models[mode], self.table.selectionModel()
        self.table.setModel(model)
        previous.deleteLater()  # the view made a new one for the model (and does not delete the old)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        header = self.table.horizontalHeader()
        model.set_filter(self.filter.text())
        model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
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
        rows = sorted(row for record in model.rows_of(path) if (row := model.row_of(record)) is not None)
        selection = QItemSelection()
        last_column = model.columnCount() - 1
        start = 0
        for k in range(1, len(rows) + 1):  # one range per run of consecutive rows
            if k == len(rows) or rows[k] != rows[k - 1] + 1:
                selection.select(model.index(rows[start], 0), model.index(rows[k - 1], last_column))
                start = k
        first = model.index(rows[0], 0) if rows else None
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
        record = self.model.record(current.row())
        if hasattr(record, "name"):
            self.layer_chosen.emit(record.name)
        self._syncing = True
        self.hub.select(block_of(record))
        self._syncing = False
