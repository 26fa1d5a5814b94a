"""The live trials table as a Qt model: rows are trials (by number), updated in place as the storage is
polled — a changed trial redraws its row, a new trial inserts one, a newly sampled parameter adds a column;
nothing is ever refilled, so the selection and scroll position survive every poll."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PyQt6.QtGui import QBrush, QColor

from analysis.formats import count
from gui.widgets import ERROR_COLOUR
from search.records import State, TrialRecord

SORT = Qt.ItemDataRole.UserRole
STATE_COLOURS = {State.COMPLETE: "#2d7d46", State.INFEASIBLE: "#9a4a00", State.PRUNED: "#6b6b6b",
                 State.FAILED: ERROR_COLOUR, State.INTERRUPTED: "#9a4a00", State.RUNNING: "#1a73e8",
                 State.WAITING: "#6b6b6b"}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# title, text, sort key, numeric
FIXED: list[tuple[str, Callable[[TrialRecord], str], Callable[[TrialRecord], Any], bool]] = [
    ("#", lambda r: str(r.number), lambda r: r.number, True),
    ("State", lambda r: r.state, lambda r: r.state, False),
    ("Accuracy", lambda r: _pct(r.accuracy), lambda r: -1.0 if r.accuracy is None else r.accuracy, True),
    ("MACs", lambda r: "-" if r.macs is None else count(r.macs), lambda r: r.macs or 0, True),
    ("Params", lambda r: "-" if r.param_count is None else count(r.param_count), lambda r: r.param_count or 0, True),
    ("Duration", lambda r: "-" if r.duration is None else f"{r.duration:.1f} s", lambda r: r.duration or 0.0, True),
    ("Epochs", lambda r: str(len(r.curve)), lambda r: len(r.curve), True),
    ("Reason", lambda r: r.reason, lambda r: r.reason, False),
]


class TrialsModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[TrialRecord] = []
        self.rows: dict[int, int] = {}   # trial number -> row
        self.params: list[str] = []      # sampled parameter names, in order of first appearance
        self.study = ""

    def set_records(self, study: str, records: list[TrialRecord]) -> None:
        if study != self.study:
            self.beginResetModel()
            self.study, self.records, self.rows, self.params = study, [], {}, []
            self.endResetModel()
        new_params = [k for r in records for k in r.params if k not in self.params]
        for name in dict.fromkeys(new_params):
            at = len(FIXED) - 1 + len(self.params)  # sampled values go before the last column (the reason)
            self.beginInsertColumns(QModelIndex(), at, at)
            self.params.append(name)
            self.endInsertColumns()
        added = [r for r in records if r.number not in self.rows]
        for r in records:
            row = self.rows.get(r.number)
            if row is not None and self.records[row] != r:
                self.records[row] = r
                self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        if added:
            first = len(self.records)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            for r in added:
                self.rows[r.number] = len(self.records)
                self.records.append(r)
            self.endInsertRows()

    def record(self, row: int) -> TrialRecord:
        return self.records[row]

    def row_of(self, number: int) -> int | None:
        return self.rows.get(number)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(FIXED) + len(self.params)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        fixed = self._fixed(section)
        return fixed[0] if fixed is not None else self.params[section - len(FIXED) + 1]

    def _fixed(self, col: int) -> tuple | None:
        """The fixed column at ``col`` (the reason is last, after the sampled values), or None."""
        if col < len(FIXED) - 1:
            return FIXED[col]
        return FIXED[-1] if col == self.columnCount() - 1 else None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.records[index.row()], index.column()
        fixed = self._fixed(col)
        if role == Qt.ItemDataRole.DisplayRole:
            if fixed is not None:
                return fixed[1](r)
            v = r.params.get(self.params[col - len(FIXED) + 1])
            return "" if v is None else _value(v)
        if role == SORT:
            if fixed is not None:
                return fixed[2](r)
            v = r.params.get(self.params[col - len(FIXED) + 1])
            return "" if v is None else (v if isinstance(v, (int, float)) else str(v))
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(QColor(STATE_COLOURS.get(r.state, "#333333")))
        if role == Qt.ItemDataRole.TextAlignmentRole and (fixed is None or fixed[3]):
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.reason or None
        return None


class TrialsProxy(QSortFilterProxyModel):
    """Sorting on raw values (numbers as numbers, missing parameters last)."""

    def __init__(self, model: TrialsModel) -> None:
        super().__init__()
        self.setSourceModel(model)
        self.setSortRole(SORT)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802 (Qt override)
        a, b = left.data(SORT), right.data(SORT)
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return str(a) < str(b)
        return a < b
