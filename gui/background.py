"""Work for the training, search and compare tabs that runs off the UI thread and delivers on it.

``Latest`` runs one function at a time on its own thread; a request made while one runs replaces the
one queued, because only the newest matters (a study poll, filters of the layer chosen last, the
analysis of the trial clicked last). Results and errors come back through a queued Qt signal.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

Job = tuple[Callable[[], Any], Callable[[Any], None], Callable[[Exception], None] | None]


class Latest(QObject):
    _delivered = pyqtSignal(object, object)  # callback, value

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._lock = threading.Lock()
        self._queued: Job | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._delivered.connect(self._deliver)  # a slot of this object: nothing arrives once it is deleted

    @pyqtSlot(object, object)
    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        callback(value)

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[Exception], None] | None = None) -> None:
        """Run ``fn`` after the running job (if any), replacing a job still waiting."""
        with self._lock:
            self._queued = (fn, on_done, on_error)
            if self._thread is not None:
                return
            self._idle.clear()
            self._thread = threading.Thread(target=self._loop, name=f"background-{self.name}", daemon=True)
            self._thread.start()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until nothing runs or waits (tests, closing the window)."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            with self._lock:
                job, self._queued = self._queued, None
                if job is None:
                    self._thread = None
                    self._idle.set()
                    return
            fn, on_done, on_error = job
            try:
                value: Any = fn()
                callback: Callable[[Any], None] | None = on_done
            except Exception as e:  # reported on the UI thread, never lost in this one
                e.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                value, callback = e, on_error
            if callback is not None:
                try:
                    self._delivered.emit(callback, value)
                except RuntimeError:  # the window (and this object) is gone: nobody to tell
                    pass
