"""Branch edits of the selected block (add a path, wrap in / unwrap a branch, delete from a path) and the
drop rule that lets the editor's drag move blocks into, out of and between paths."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject
from PyQt6.QtGui import QAction, QKeySequence

from arch import paths
from arch.errors import SpecError
from arch.paths import get_block, path_of
from gui import branch_edits
from gui.session import Hub

PATH_MOVE_MIME = "application/x-convsmith-move-path"


def drop_target(under: str | None, below: bool, body_at: int) -> tuple[str, int]:
    """Where a drop lands: beside the path block under the cursor (in its path), else in the body at
    ``body_at`` (the editor's top-level drop position)."""
    if under is not None and path_of(under) is not None:
        where, i = branch_edits.locate(under)
        return where, i + 1 if below else i
    if under is not None and paths.lane_of(under) is not None:
        return under, 0  # the row of an empty path (the identity): the block becomes its first
    return "body", body_at


class BranchActions(QObject):
    def __init__(self, hub: Hub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub

        def make(text: str, keys: list[str], slot: Any, tip: str) -> QAction:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setToolTip(f"{tip} ({keys[0]})" if keys else tip)
            action.triggered.connect(slot)
            return action

        self.add_path = make("Add path", ["Ctrl+Shift+P"], self._add_path, "add an identity path to the branch")
        self.wrap = make("Wrap in branch", ["Ctrl+B"], self._wrap,
                         "make the selected block the one path of a new branch (the network is unchanged)")
        self.unwrap = make("Unwrap branch", ["Ctrl+Shift+B"], self._unwrap,
                           "write a one-path branch's blocks back in its place")
        self.delete = make("Delete from path", [], self._delete, "delete the selected block from its path")
        self.all = [self.add_path, self.wrap, self.unwrap, self.delete]
        hub.selected.connect(lambda _p: self.update_enabled())
        hub.evaluated.connect(lambda _e: self.update_enabled())
        self.update_enabled()

    def _block(self, path: str) -> Any:
        ev = self.hub.evaluation
        try:
            return get_block(ev.spec, path) if ev is not None and path else None
        except SpecError:
            return None

    def branch(self) -> str | None:
        """The branch the selection is, or is inside."""
        sel = self.hub.selection
        bs = self._block(sel)
        if bs is not None and bs.block == "branch":
            return sel
        where = path_of(sel)
        return where[0] if where else None

    def _wrappable(self) -> bool:
        sel = self.hub.selection
        in_a_list = path_of(sel) is not None or paths.is_top(sel or "")
        return self._block(sel) is not None and in_a_list

    def update_enabled(self) -> None:
        bs = self._block(self.hub.selection)
        self.add_path.setEnabled(self.branch() is not None)
        self.wrap.setEnabled(self._wrappable())
        self.unwrap.setEnabled(bs is not None and bs.block == "branch")
        self.delete.setEnabled(path_of(self.hub.selection or "") is not None and bs is not None)

    def _add_path(self) -> None:
        branch = self.branch()
        if branch is not None:
            self.hub.apply(branch_edits.add_path, branch)

    def _wrap(self) -> None:
        sel = self.hub.selection
        if self._wrappable():
            self.hub.apply(branch_edits.wrap_in_branch, sel)
            self.hub.select(sel)

    def _unwrap(self) -> None:
        sel = self.hub.selection
        if self.hub.apply(branch_edits.unwrap_branch, sel) is None:
            self.hub.select(sel)

    def _delete(self) -> None:
        sel = self.hub.selection
        if self.hub.apply(branch_edits.remove, sel) is None:
            where = path_of(sel)
            self.hub.select(where[0] if where else "")

    def move(self, path: str, into: str, at: int) -> None:
        """A drag's move (into, out of or between paths); the moved block stays selected."""
        if self.hub.apply(branch_edits.move, path, into, at) is None:
            src, i = branch_edits.locate(path)
            if src == into and at > i:
                at -= 1
            self.hub.select(paths.body(at) if into == "body" else paths.item(into, at))
