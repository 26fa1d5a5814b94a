"""The network editor: the ordered body as a tree (stages show their repeats, multi-path blocks their
branches), each with its summary and output shape; shape errors inline on the block that fails.

Reorder by dragging, insert by dropping a palette family, and the block actions (delete, duplicate,
move, wrap in / unwrap a stage) from the toolbar, the context menu or the keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from PyQt6.QtCore import QItemSelectionModel, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PyQt6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDrag,
    QFont,
    QFontMetrics,
    QKeySequence,
    QStandardItem,
    QStandardItemModel,
)
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLineEdit,
    QMenu,
    QStyle,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from arch import paths
from arch.graph import BlockInfo, fmt_shape
from arch.paths import get_block, path_of, top_index
from arch.registry import family
from arch.spec import BlockSpec, Spec
from gui import edits
from gui.branch_actions import PATH_MOVE_MIME, BranchActions, drop_target
from gui.evaluation import Evaluation
from gui.palette import FAMILY_MIME
from gui.session import Hub

PATH = Qt.ItemDataRole.UserRole
ERROR_ROLE = Qt.ItemDataRole.UserRole + 1
BRANCH_ROLE = Qt.ItemDataRole.UserRole + 2  # set on branch rows: their index
MOVE_MIME = "application/x-convsmith-move"
ERROR = QColor("#c02020")
MUTED = QColor("#8a8a8a")


@dataclass
class Row:
    """One line of the tree, computed from the evaluation before any item is touched."""

    path: str
    text: str
    shape: str
    kind: str  # "stage" or "block" (its icon)
    error: str = ""
    branches: bool = False  # a multi-path block: its branches are listed under it
    children: list[Row] = field(default_factory=list)

    @cached_property
    def signature(self) -> tuple[Any, ...]:
        """What decides the tree's shape; rows with the same signatures are updated in place (kept with the
        row: an edit reuses the rows of the blocks it did not re-expand)."""
        return (self.path, self.kind, self.branches, tuple(c.signature for c in self.children))


def _walk(row: Row) -> list[Row]:
    """A row and every row under it, depth first."""
    return [row] + [r for child in row.children for r in _walk(child)]


def _lists_branches(name: str) -> bool:
    """A multi-path block lists its branches as text lines; a branch block shows its path blocks instead."""
    return family(name).multipath and not family(name).composite


def summary_of(spec: Spec, bs: BlockSpec) -> str:
    """A block's one-line summary straight from its family (for blocks expansion did not reach)."""
    fam = family(bs.block)
    return fam.summary(fam.resolve(bs.params, spec.width_mult))


class BlockActions(QObject):
    """Edits of the selected block, shared by the Edit menu, the toolbars and the editor's context menu;
    the window owns them, so their shortcuts work wherever the selection was made (editor or diagram)."""

    def __init__(self, hub: Hub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        style = QApplication.style()

        def make(text: str, keys: list[QKeySequence | str], slot: Any, icon: QStyle.StandardPixmap | None = None,
                 tip: str = "") -> QAction:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            if icon is not None:
                action.setIcon(style.standardIcon(icon))
            action.setToolTip(f"{tip or text} ({QKeySequence(keys[0]).toString()})" if keys else tip or text)
            action.triggered.connect(slot)
            return action

        sp = QStyle.StandardPixmap
        self.delete = make("Delete block", [QKeySequence.StandardKey.Delete], self._delete, sp.SP_TrashIcon)
        self.duplicate = make("Duplicate block", ["Ctrl+D"], self._duplicate, sp.SP_FileDialogNewFolder)
        self.move_up = make("Move up", ["Alt+Up", "Ctrl+Shift+Up"], lambda: self._move(-1), sp.SP_ArrowUp)
        self.move_down = make("Move down", ["Alt+Down", "Ctrl+Shift+Down"], lambda: self._move(1), sp.SP_ArrowDown)
        self.wrap = make("Wrap in stage", ["Ctrl+G"], self._wrap, None, "repeat the selected block in a stage")
        self.unwrap = make("Unwrap stage", ["Ctrl+Shift+G"], self._unwrap, None, "write a stage's repeats out")
        self.branch = BranchActions(hub, self)  # add path, wrap in / unwrap a branch (gui/branch_actions.py)
        self.all = [self.delete, self.duplicate, self.move_up, self.move_down, self.wrap, self.unwrap, *self.branch.all]
        hub.selected.connect(lambda _p: self.update_enabled())
        hub.evaluated.connect(lambda _e: self.update_enabled())
        self.update_enabled()

    def index(self) -> int | None:
        return top_index(self.hub.selection)

    def update_enabled(self) -> None:
        ev, i = self.hub.evaluation, self.index()
        n = len(ev.spec.body) if ev is not None else 0
        has = i is not None and i < n
        for action in (self.delete, self.duplicate, self.wrap):
            action.setEnabled(has)
        self.move_up.setEnabled(has and i > 0)
        self.move_down.setEnabled(has and i < n - 1)
        self.unwrap.setEnabled(has and ev is not None and ev.spec.body[i].block == "stage")

    def _delete(self) -> None:
        i = self.index()
        if i is not None and self.hub.apply(edits.remove_block, i) is None:
            n = len(self.hub.evaluation.spec.body)
            self.hub.select(paths.body(min(i, n - 1)) if n else "")

    def _duplicate(self) -> None:
        i = self.index()
        if i is not None and self.hub.apply(edits.duplicate_block, i) is None:
            self.hub.select(paths.body(i + 1))

    def _move(self, step: int) -> None:
        i = self.index()
        if i is not None and self.hub.apply(edits.move_block, i, i + step) is None:
            self.hub.select(paths.body(i + step))

    def _wrap(self) -> None:
        i = self.index()
        if i is not None:
            self.hub.apply(edits.wrap_in_stage, i)
            self.hub.select(paths.body(i))

    def _unwrap(self) -> None:
        i = self.index()
        if i is not None:
            self.hub.apply(edits.unwrap_stage, i)
            self.hub.select(paths.body(i))


class BlockTree(QTreeView):
    """The tree with drag-to-reorder and drops from the palette (both become undoable edits)."""

    def __init__(self, editor: NetworkEditor) -> None:
        super().__init__()
        self.editor = editor
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)

    def startDrag(self, actions: Qt.DropAction) -> None:  # noqa: N802 (Qt override)
        index = top_index(self.editor.hub.selection)
        if index is None:
            return
        drag = QDrag(self)
        data = self.model().mimeData(self.selectedIndexes())
        data.setData(MOVE_MIME, str(index).encode())
        data.setData(PATH_MOVE_MIME, self.editor.hub.selection.encode())  # a block inside a path moves itself
        drag.setMimeData(data)
        drag.exec(Qt.DropAction.MoveAction)  # the edit happens in dropEvent; no row is removed here

    def _accepts(self, event: Any) -> bool:
        return event.mimeData().hasFormat(FAMILY_MIME) or event.mimeData().hasFormat(MOVE_MIME)

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if self._accepts(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        super().dragMoveEvent(event)
        if self._accepts(event):
            event.acceptProposedAction()

    def drop_position(self, pos: Any) -> int:
        """Where a drop at ``pos`` inserts in the body: before or after the top-level row under it."""
        index = self.indexAt(pos)
        n = len(self.editor.hub.evaluation.spec.body)
        if not index.isValid():
            return n
        while index.parent().isValid():
            index = index.parent()
        row = top_index(index.data(PATH))
        rect = self.visualRect(index)
        return row + 1 if pos.y() > rect.center().y() else row

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        data = event.mimeData()
        at = self.drop_position(event.position().toPoint())
        if data.hasFormat(FAMILY_MIME):
            self.editor.insert_family(bytes(data.data(FAMILY_MIME)).decode(), at)
        elif data.hasFormat(MOVE_MIME):
            source = bytes(data.data(PATH_MOVE_MIME)).decode() if data.hasFormat(PATH_MOVE_MIME) else ""
            pos = event.position().toPoint()
            under = self.indexAt(pos)
            below = under.isValid() and pos.y() > self.visualRect(under).center().y()
            into, where = drop_target(under.data(PATH) if under.isValid() else None, below, at)
            if path_of(source) is not None or into != "body":  # into, out of or between a branch's paths
                self.editor.actions.branch.move(source, into, where)
            else:
                self.editor.move_to(int(bytes(data.data(MOVE_MIME)).decode()), at)
        else:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()


class NetworkEditor(QWidget):
    def __init__(self, hub: Hub, actions: BlockActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        bar = QToolBar()
        bar.setIconSize(bar.iconSize() * 0.75)
        for action in actions.all[:4]:
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(actions.wrap)
        bar.addAction(actions.unwrap)
        bar.addSeparator()
        for action in actions.branch.all[:3]:
            bar.addAction(action)
        layout.addWidget(bar)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter blocks")
        self.filter.setClearButtonEnabled(True)
        layout.addWidget(self.filter)
        self.model = QStandardItemModel(0, 2)
        self.model.setHorizontalHeaderLabels(["Block", "Output"])
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.tree = BlockTree(self)
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.tree)
        self.actions = actions
        self.extra_actions: list[QAction] = []  # added by other pages (Training: "Freeze up to here")
        self.items: dict[str, QStandardItem] = {}
        self._signature: list[tuple[Any, ...]] = []
        self._shown: dict[str, Row] = {}  # the row each top-level item shows
        self._rows_made: dict[str, tuple[Any, ...]] = {}  # per top-level block: (info, spec, errors, row)
        self._open: dict[str, bool] = {}  # rows the person expanded or collapsed
        self._syncing = False
        self._mono = QFont("monospace")
        self._mono.setStyleHint(QFont.StyleHint.Monospace)
        # a fixed width (not ResizeToContents, which measures every row after each edit)
        self.tree.header().resizeSection(1, QFontMetrics(self._mono).horizontalAdvance("1024x112x112") + 12)
        self._icons = {key: self.style().standardIcon(icon) for key, icon in (
            ("error", QStyle.StandardPixmap.SP_MessageBoxWarning),
            ("stage", QStyle.StandardPixmap.SP_DirIcon),
            ("block", QStyle.StandardPixmap.SP_FileIcon),
            ("branch", QStyle.StandardPixmap.SP_ArrowRight),
            ("path", QStyle.StandardPixmap.SP_ArrowRight))}
        self.filter.textChanged.connect(self._filter)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.collapsed.connect(lambda i: self._remember(i, False))
        self.tree.expanded.connect(self._expanded)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_selection)

    # ------------------------------------------------------------------ edits
    def insert_family(self, name: str, at: int | None = None) -> None:
        """Add a family at ``at`` (default: after the selection) and select it."""
        if at is None:
            i = top_index(self.hub.selection)
            at = i + 1 if i is not None else len(self.hub.evaluation.spec.body)
        if self.hub.apply(edits.add_family, name, at) is None:
            self.hub.select(paths.body(at))

    def move_to(self, index: int, at: int) -> None:
        """Move body[index] to the insertion position ``at`` (0..len) of a drop."""
        to = at - 1 if at > index else at
        if to != index and self.hub.apply(edits.move_block, index, to) is None:
            self.hub.select(paths.body(to))

    # ------------------------------------------------------------------ model
    def rows(self, ev: Evaluation) -> list[Row]:
        """What the tree shows, as plain rows: blocks, stage repeats, errors."""
        errors: dict[str, list[str]] = {}
        for p in ev.problems:
            errors.setdefault(p.path, []).append(p.message)
            errors.setdefault(paths.body(top_index(p.path)), []).append(p.message)
        repeats: dict[str, list[BlockInfo]] = {}  # the blocks inside each block: gathered for the first row made

        def children(path: str, block: BlockSpec | None) -> list[Row]:
            """A stage's repeats, a branch's path blocks (nested ones under theirs), its identity paths."""
            if not repeats:
                for b in ev.graph.blocks:
                    if b.parent is not None:
                        repeats.setdefault(b.parent, []).append(b)
            rows = [Row(b.path, f"{b.path[len(path):]}  {b.summary}", fmt_shape(b.out_shape) if b.output else "—",
                        "block", "; ".join(errors.get(b.path, [])), _lists_branches(b.family) and bool(b.output),
                        children(b.path, get_block(ev.spec, b.path) if b.family == "branch" else None))
                    for b in repeats.get(path, [])]
            if block is not None and block.block == "branch":  # an empty path has no block: a row to drop into
                rows += [Row(paths.lane(path, p), f".paths[{p}]  identity (drop a block here)", "—", "path")
                         for p, lane in enumerate(block.params.get("paths") or []) if not lane]
            return rows

        out = []
        made: dict[str, tuple[Any, ...]] = {}
        for i, bs in enumerate(ev.spec.body):
            path = paths.body(i)
            info = ev.info(path)
            # a block the edit did not re-expand keeps its info object (arch/expand.py) and its spec object:
            # its rows are the ones made last time (a 100-block network with branches has ~2,000 rows)
            key = (info, bs, tuple((p, m) for p, ms in errors.items() if top_index(p) == i for m in ms))
            seen = self._rows_made.get(path)
            if info is not None and seen is not None and seen[0] is info and seen[1] is bs and seen[2] == key[2]:
                row = seen[3]
            else:
                done = info is not None and bool(info.output)
                summary = info.summary if info is not None else summary_of(ev.spec, bs)
                label = f"{bs.label}: " if bs.label else ""
                row = Row(path, f"{i}  {label}{summary}", fmt_shape(info.out_shape) if done else "—",
                          "stage" if bs.block == "stage" else "block", "; ".join(errors.get(path, [])),
                          _lists_branches(bs.block) and done, children(path, bs))
            made[path] = (*key, row)
            out.append(row)
        self._rows_made = made
        return out

    def show_evaluation(self, ev: Evaluation) -> None:
        """Update the rows in place when the tree keeps its shape (a field edit), else rebuild it."""
        rows = self.rows(ev)
        signature = [r.signature for r in rows]
        self._syncing = True
        if signature == self._signature:
            for row in rows:  # only rows that differ from what they show touch their items
                shown = self._shown.get(row.path)
                if shown is not row and shown != row:
                    for each in _walk(row):
                        self._update(each)
                self._shown[row.path] = row
        else:
            scroll = self.tree.verticalScrollBar().value()
            self.model.removeRows(0, self.model.rowCount())
            self.items.clear()
            root = self.model.invisibleRootItem()
            for row in rows:
                self._add_tree(root, row)
            self._signature = signature
            self._shown = {row.path: row for row in rows}
            self._restore_expansion()
            self.tree.verticalScrollBar().setValue(scroll)
        self._syncing = False
        self.show_selection(self.hub.selection)

    def _add(self, parent: QStandardItem, row: Row) -> QStandardItem:
        name, out = QStandardItem(), QStandardItem()
        for item in (name, out):
            item.setData(row.path, PATH)
            item.setEditable(False)
            item.setDropEnabled(False)
        out.setFont(self._mono)
        name.setDragEnabled(row.kind != "path")  # an identity path is a place to drop, not a block to drag
        parent.appendRow([name, out])
        self.items[row.path] = name
        self._update(row)
        return name

    def _add_tree(self, parent: QStandardItem, row: Row) -> None:
        item = self._add(parent, row)
        for child in row.children:
            self._add_tree(item, child)

    def _update(self, row: Row) -> None:
        """Text, shape and problem of a row; a multi-path block's branches are listed when expanded."""
        name = self.items[row.path]
        out = self.model.itemFromIndex(name.index().siblingAtColumn(1))
        shape = f"⚠ {row.error}" if row.error else row.shape
        if (name.text(), out.text(), name.data(ERROR_ROLE)) == (row.text, shape, row.error):
            self._refresh_branches(name, row)
            return
        name.setText(row.text)
        name.setData(row.error, ERROR_ROLE)
        name.setIcon(self._icons["error" if row.error else row.kind])
        name.setForeground(QBrush(ERROR) if row.error else QBrush())
        name.setToolTip(f"{row.path}: {row.error or row.text.split('  ', 1)[-1]}")
        out.setText(shape)
        out.setToolTip(f"{row.path}: {row.error}" if row.error else "")
        out.setForeground(QBrush(ERROR if row.error else MUTED) if row.error or row.shape == "—" else QBrush())
        out.setTextAlignment((Qt.AlignmentFlag.AlignLeft if row.error else Qt.AlignmentFlag.AlignRight)
                             | Qt.AlignmentFlag.AlignVCenter)
        self._refresh_branches(name, row, force=True)

    def _refresh_branches(self, item: QStandardItem, row: Row, force: bool = False) -> None:
        """Branch rows are made on demand: a placeholder until the row is opened (most stay closed)."""
        listed = item.hasChildren() and item.child(0).data(BRANCH_ROLE) is not None
        if not row.branches:
            if listed:
                item.removeRows(0, item.rowCount())
            return
        if listed and not force:
            return
        index = self.proxy.mapFromSource(item.index())
        is_open = self.tree.isExpanded(index)
        if listed and not is_open and item.rowCount() == 1 and not item.child(0).text():
            return  # a closed row keeps its placeholder: replacing it would lay out (and repaint) the whole tree
        self._fill_branches(item, self._branch_lines(row.path) if is_open else [""])
        if is_open:
            self.tree.setExpanded(index, True)

    def _fill_branches(self, item: QStandardItem, lines: list[str]) -> None:
        """Replace an item's children by branch rows (one empty line is the placeholder)."""
        item.removeRows(0, item.rowCount())
        path = item.data(PATH)
        for k, line in enumerate(lines):
            branch = QStandardItem(self._icons["branch"], line)
            branch.setData(path, PATH)
            branch.setData(k, BRANCH_ROLE)
            branch.setToolTip(f"branch {k + 1} of {path}: {line}" if line else "")
            branch.setForeground(QBrush(MUTED))
            branch.setFlags(Qt.ItemFlag.ItemIsEnabled)
            empty = QStandardItem("")
            empty.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.appendRow([branch, empty])

    def _branch_lines(self, path: str) -> list[str]:
        ev = self.hub.evaluation
        info = ev.info(path) if ev is not None else None
        return ev.walker.branch_lines(info) if info is not None else []

    def _expanded(self, index: QModelIndex) -> None:
        """Fill a placeholder branch list when its block is opened."""
        self._remember(index, True)
        item = self.model.itemFromIndex(self.proxy.mapToSource(index))
        if item is not None and item.rowCount() == 1 and item.child(0).data(BRANCH_ROLE) == 0 \
                and not item.child(0).text():
            was, self._syncing = self._syncing, True
            self._fill_branches(item, self._branch_lines(item.data(PATH)))
            self._syncing = was

    def _remember(self, index: QModelIndex, is_open: bool) -> None:
        if not self._syncing:
            self._open[index.data(PATH)] = is_open

    def _restore_expansion(self) -> None:
        """Stages open, branch lists closed, unless the person chose otherwise."""
        for path, item in self.items.items():
            if item.hasChildren():
                stage = item.child(0).data(BRANCH_ROLE) is None  # a stage's children are its repeats
                self.tree.setExpanded(self.proxy.mapFromSource(item.index()), self._open.get(path, stage))

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if text:
            self.tree.expandAll()

    # -------------------------------------------------------------- selection
    def show_selection(self, path: str) -> None:
        item = self.items.get(path)
        selection = self.tree.selectionModel()
        self._syncing = True
        if item is None:
            selection.clearSelection()
        else:
            index = self.proxy.mapFromSource(item.index())
            if index.isValid():
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)
                self.tree.scrollTo(index)
        self._syncing = False

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._syncing and current.isValid():
            path = current.data(PATH)
            lane = paths.lane_of(path)  # an identity path's row selects its branch
            self.hub.select(lane[0] if lane else path)

    def _menu(self, pos: Any) -> None:
        menu = QMenu(self)
        for action in self.actions.all:
            menu.addAction(action)
        if self.extra_actions:
            menu.addSeparator()
            menu.addActions(self.extra_actions)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
