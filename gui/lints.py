"""The lints panel: the analysis engine's warnings per block; a suggested fix applies in one click
(one undo step). Double-clicking a lint selects its block everywhere. A lint that does not apply to this
network can be dismissed for the document (kept with it); infos never count as warnings.
"""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from analysis import Lint
from gui import edits
from gui.evaluation import Evaluation
from gui.inspector import error_text
from gui.session import Hub
from gui.widgets import TextPane


def lint_key(lint: Lint) -> str:
    """What a dismissal remembers: the rule and the block (``rf-small@body[7]``)."""
    return f"{lint.code}@{lint.block}"


class LintsPanel(QWidget):
    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Block", "Message", "Suggested fix"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.Interactive)):
            header.setSectionResizeMode(column, mode)
        header.resizeSection(2, 150)
        layout.addWidget(self.tree, 1)
        self.detail = TextPane(lines=3)  # the selected lint in full (rows are one line each)
        layout.addWidget(self.detail)
        row = QHBoxLayout()
        self.status = TextPane(lines=1)
        self.fix = QPushButton("Apply fix")
        self.fix.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
        self.fix.setToolTip("apply the selected lint's suggested fix (one undo step)")
        self.fix.setEnabled(False)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setToolTip("hide the selected lint for this document (kept with it); Restore shows them again")
        self.restore = QPushButton("Restore dismissed")
        row.addWidget(self.status, 1)
        row.addWidget(self.dismiss)
        row.addWidget(self.restore)
        row.addWidget(self.fix)
        layout.addLayout(row)
        self.lints: list[Lint] = []
        self.stale = False
        self._shown: tuple[list[Lint], bool, int] | None = None
        style = self.style()
        self._icons = {"warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
                       "info": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)}
        self.tree.currentItemChanged.connect(lambda *_: self._update_button())
        self.tree.itemDoubleClicked.connect(self._select_block)
        self.fix.clicked.connect(self.apply_selected)
        self.dismiss.clicked.connect(self.dismiss_selected)
        self.restore.clicked.connect(self.restore_dismissed)
        hub.evaluated.connect(self.show_evaluation)

    def dismissed(self) -> frozenset[str]:
        ev = self.hub.evaluation
        return frozenset(ev.spec.dismissed_lints) if ev is not None else frozenset()

    def visible(self, lints: list[Lint]) -> list[Lint]:
        """The lints not dismissed for the current document."""
        gone = self.dismissed()
        return [lint for lint in lints if lint_key(lint) not in gone]

    def dismiss_selected(self) -> None:
        lint = self.selected()
        if lint is not None:
            self.hub.apply(edits.set_dismissed, sorted(self.dismissed() | {lint_key(lint)}))

    def restore_dismissed(self) -> None:
        self.hub.apply(edits.set_dismissed, [])

    def show_evaluation(self, ev: Evaluation) -> None:
        rep = ev.shown
        everything = list(rep.lints) if rep else []
        lints = self.visible(everything)
        if (lints, ev.stale, len(everything)) == self._shown:
            return  # most edits leave the lints as they were
        self._shown = (lints, ev.stale, len(everything))
        self.lints = lints
        self.stale = ev.stale
        self.tree.clear()
        grey = QBrush(QColor("#9aa0a6"))
        for i, lint in enumerate(self.lints):
            item = QTreeWidgetItem([lint.block, lint.message, lint.fix.description if lint.fix else ""])
            item.setIcon(0, self._icons.get(lint.severity, self._icons["info"]))
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            for c in range(3):
                item.setToolTip(c, f"{lint.severity} {lint.code} at {lint.block}: {lint.message}")
                if ev.stale:
                    item.setForeground(c, grey)
            self.tree.addTopLevelItem(item)
        if self.lints:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        warnings = sum(lint.severity == "warning" for lint in self.lints)
        hidden = len(everything) - len(lints)
        self.status.setText((f"{warnings} warnings, {len(self.lints) - warnings} infos" if self.lints else "No lints.")
                            + (f" ({hidden} dismissed)" if hidden else ""))
        self.restore.setEnabled(bool(hidden))
        self._update_button()

    def selected(self) -> Lint | None:
        item = self.tree.currentItem()
        return self.lints[item.data(0, Qt.ItemDataRole.UserRole)] if item is not None else None

    def _update_button(self) -> None:
        lint = self.selected()
        self.fix.setEnabled(lint is not None and lint.fix is not None and not self.stale)
        self.dismiss.setEnabled(lint is not None)
        if lint is None:
            self.detail.setText("")
            return
        fix = f"<br><i>Suggested fix:</i> {escape(lint.fix.description)}" if lint.fix else ""
        self.detail.setText(f"<b>{escape(lint.code)}</b> ({lint.severity}) at <tt>{escape(lint.block)}</tt>: "
                            f"{escape(lint.message)}{fix}")

    def apply_selected(self) -> None:
        lint = self.selected()
        if lint is None or lint.fix is None:
            return
        error = self.hub.apply(edits.apply_fix, lint.fix.description, lint.fix.edits)
        if error is not None:
            self.status.setText(f"<span style='color:#c5221f'>The fix could not be applied: "
                                f"{error_text(error)}</span>")

    def _select_block(self, item: QTreeWidgetItem) -> None:
        self.hub.select(self.lints[item.data(0, Qt.ItemDataRole.UserRole)].block)
