"""Open documents, Qt-free: a spec, where it lives on disk and whether it has unsaved changes.

Views and other tabs (search, compare) reach documents through ``Workspace`` and subscribe with plain
callbacks, so nothing here needs a QApplication. The undo history lives in the Qt session as
commands holding spec snapshots; each snapshot carries the revision it had, so undoing back to the
saved revision makes the document clean again.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from pathlib import Path

from arch.spec import Spec, parse_spec, to_dict

_revisions = itertools.count(1)


def new_revision() -> int:
    """A revision number never handed out before (unique across all documents)."""
    return next(_revisions)


class Document:
    """One open network: the current spec, its file (None until saved) and a dirty flag."""

    def __init__(self, spec: Spec, path: str | Path | None = None, dirty: bool = False) -> None:
        self._spec = spec
        self.path: Path | None = Path(path) if path is not None else None
        self._revision = new_revision()
        self._saved_revision: int | None = None if dirty else self._revision
        self._listeners: list[Callable[[Document], None]] = []

    @property
    def spec(self) -> Spec:
        return self._spec

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def dirty(self) -> bool:
        return self._revision != self._saved_revision

    @property
    def title(self) -> str:
        """File name when saved, else the network's name."""
        return self.path.name if self.path is not None else self._spec.name

    def subscribe(self, listener: Callable[[Document], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Document], None]) -> None:
        self._listeners.remove(listener)

    def set_spec(self, spec: Spec, revision: int | None = None) -> None:
        """Replace the spec; ``revision`` restores a snapshot's revision on undo / redo."""
        self._spec = spec
        self._revision = new_revision() if revision is None else revision
        self._notify()

    def mark_saved(self, path: str | Path) -> None:
        self.path = Path(path)
        self._saved_revision = self._revision
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self)


class Workspace:
    """The open documents and which one is current; tabs of the main window mirror it."""

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.current: Document | None = None
        self._listeners: list[Callable[[str, Document], None]] = []
        self._guards: list[Callable[[str, Document], bool]] = []

    def subscribe(self, listener: Callable[[str, Document], None]) -> None:
        """``listener(event, document)`` with event "opened", "closed" or "current"."""
        self._listeners.append(listener)

    def guard(self, allows: Callable[[str, Document], bool]) -> None:
        """``allows(action, document)`` before the current document changes ("switch" to it) or a document
        closes ("close"); False keeps things as they are (e.g. training of the current one is asked first)."""
        self._guards.append(allows)

    def allows(self, action: str, doc: Document) -> bool:
        return all(allows(action, doc) for allows in list(self._guards))

    def open(self, spec: Spec, path: str | Path | None = None, dirty: bool = False) -> Document:
        """Add a document and make it current (also what the search tab calls for a trial).

        The document gets its own validated copy: a spec built in code may share one BlockSpec between
        several positions, and an edit of one of them must not change the others (SpecError if invalid).
        """
        own = parse_spec(copy.deepcopy(to_dict(spec)))
        doc = Document(own, path, dirty)
        self.documents.append(doc)
        self._emit("opened", doc)
        self.set_current(doc)
        return doc

    def close(self, doc: Document) -> None:
        index = self.documents.index(doc)
        self.documents.remove(doc)
        self._emit("closed", doc)
        if self.current is doc:
            self.current = None
            if self.documents:
                self.set_current(self.documents[min(index, len(self.documents) - 1)])

    def set_current(self, doc: Document) -> None:
        """Make ``doc`` current unless a guard refuses (a document closing is not asked twice)."""
        if doc is not self.current and (self.current is None or self.allows("switch", doc)):
            self.current = doc
            self._emit("current", doc)

    def find(self, path: str | Path) -> Document | None:
        """The open document of a file, so opening it twice switches to it."""
        target = Path(path).resolve()
        return next((d for d in self.documents if d.path is not None and d.path.resolve() == target), None)

    def _emit(self, event: str, doc: Document) -> None:
        for listener in list(self._listeners):
            listener(event, doc)
