"""The Qt side of a document: its undo stack, its evaluation and its selection; and the hub that
relays whichever session is current to the views, so a view connects once and never re-wires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from arch import paths
from arch.errors import SpecError
from gui.document import Document
from gui.edits import Edit
from gui.evaluation import Evaluation, evaluate

FIELD_EDIT = 1  # QUndoCommand id of edits of one field (merged while consecutive)


class SpecCommand(QUndoCommand):
    """One edit as spec snapshots; undo restores the old spec and its revision exactly.

    Consecutive edits of one field (arrow clicks, typing again) merge: one Ctrl+Z undoes them all.
    """

    def __init__(self, document: Document, edit: Edit) -> None:
        super().__init__(edit.title)
        self.document = document
        self.field = edit.field
        self.before, self.before_revision = document.spec, document.revision
        self.after, self.after_revision = edit.spec, None

    def id(self) -> int:
        return FIELD_EDIT if self.field else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt override)
        if not isinstance(other, SpecCommand) or other.field != self.field or other.document is not self.document:
            return False
        self.after, self.after_revision = other.after, other.after_revision
        self.setText(other.text())
        return True

    def redo(self) -> None:
        self.document.set_spec(self.after, self.after_revision)
        self.after_revision = self.document.revision

    def undo(self) -> None:
        self.document.set_spec(self.before, self.before_revision)


class Session(QObject):
    """One open document inside the window."""

    evaluated = pyqtSignal(object)  # Evaluation
    selected = pyqtSignal(str)  # block path, '' for the network itself
    document_changed = pyqtSignal()  # spec, path or dirty flag

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo = QUndoStack(self)
        self.freeze: str | None = None  # the training option the analysis assumes (Hub.set_freeze)
        self.evaluation: Evaluation = evaluate(document.spec)
        self.selection = ""
        self._evaluated_revision = document.revision
        document.subscribe(self._on_document)

    def close(self) -> None:
        self.document.unsubscribe(self._on_document)

    def _on_document(self, doc: Document) -> None:
        if doc.revision != self._evaluated_revision:
            self._evaluated_revision = doc.revision
            self.evaluation = evaluate(doc.spec, self.evaluation, self.freeze)
            self._keep_selection_valid()
            self.evaluated.emit(self.evaluation)
        self.document_changed.emit()

    def set_freeze(self, freeze: str | None) -> None:
        """Analyse at another freeze point (the spec is unchanged: every block's counts come from the cache)."""
        if freeze != self.freeze:
            self.freeze = freeze
            self.evaluation = evaluate(self.document.spec, self.evaluation, freeze)
            self.evaluated.emit(self.evaluation)

    def _keep_selection_valid(self) -> None:
        index = paths.top_index(self.selection)
        body = len(self.document.spec.body)
        if index is None:
            return
        if index >= body:
            self.select(paths.body(body - 1) if body else "")
        elif self.evaluation.info(self.selection) is None and not self.selection.endswith(".unit"):
            self.select(paths.body(index))

    def select(self, path: str) -> None:
        if path != self.selection:
            self.selection = path
            self.selected.emit(path)

    def apply(self, make: Callable[..., Edit], *args: Any) -> SpecError | None:
        """Run an edit function on the current spec; push it as one undo step, or return its error."""
        try:
            edit = make(self.document.spec, *args)
        except SpecError as e:
            return e
        self.undo.push(SpecCommand(self.document, edit))
        return None


class Hub(QObject):
    """The current session, re-emitted: views connect here once."""

    evaluated = pyqtSignal(object)
    selected = pyqtSignal(str)
    document_changed = pyqtSignal()
    session_changed = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.undo_group = QUndoGroup(self)
        self.freeze: str | None = None  # the training option freeze, for every document's analysis

    def set_session(self, session: Session | None) -> None:
        if session is self.session:
            return
        if self.session is not None:
            for signal, slot in self._links(self.session):
                signal.disconnect(slot)
        self.session = session
        self.undo_group.setActiveStack(session.undo if session is not None else None)
        if session is not None:
            session.set_freeze(self.freeze)  # before the links: its evaluation is emitted once, below
            for signal, slot in self._links(session):
                signal.connect(slot)
            self.session_changed.emit(session)
            self.evaluated.emit(session.evaluation)
            self.selected.emit(session.selection)
            self.document_changed.emit()
        else:
            self.session_changed.emit(None)

    def _links(self, session: Session) -> list[tuple[Any, Any]]:
        return [(session.evaluated, self.evaluated), (session.selected, self.selected),
                (session.document_changed, self.document_changed)]

    def set_freeze(self, freeze: str | None) -> None:
        """The training option freeze changed: the current document is analysed at it (the others when shown)."""
        self.freeze = freeze
        if self.session is not None:
            self.session.set_freeze(freeze)

    @property
    def evaluation(self) -> Evaluation | None:
        return self.session.evaluation if self.session is not None else None

    @property
    def selection(self) -> str:
        return self.session.selection if self.session is not None else ""

    def select(self, path: str) -> None:
        if self.session is not None:
            self.session.select(path)

    def apply(self, make: Callable[..., Edit], *args: Any) -> SpecError | None:
        if self.session is None:
            return None
        return self.session.apply(make, *args)
