"""Work off the UI thread, one mechanism for all of it: a :class:`Job` runs one function on its own thread,
and a :class:`Runner` starts jobs and keeps them until they report back.

A job function takes the job as its only argument and may

- call ``job.progress(done, total, text)`` (the newest report reaches the UI; older ones are skipped),
- call ``job.send(value)`` to deliver intermediate results in order (training records, say),
- watch ``job.cancel`` (a ``threading.Event``; ``job.cancelled()``) and return early when it is set.

What it returns goes to ``on_done``; what it raises goes to ``on_error`` as the exception, whose
``describe(error)`` is one line for a ConvSmithError (the person's to fix) and the traceback otherwise.
Every callback runs on the UI thread; nothing arrives once the job's owner is deleted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from arch.errors import ConvSmithError

JobFunction = Callable[["Job"], Any]


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``done`` of ``total`` (None: unknown), and what it is doing."""

    done: float
    total: float | None = None
    text: str = ""

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(max(self.done / self.total, 0.0), 1.0)


def describe(error: BaseException) -> str:
    """A ConvSmithError is the person's to fix: its message. Anything else is a bug: type, message and the
    traceback of where it was raised, so that it can be reported."""
    if isinstance(error, ConvSmithError):
        return str(error)
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{type(error).__name__}: {error}\n\n{trace}"


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's scheduling priority (Linux: per thread; its torch worker threads inherit
    it), so that on a busy machine the window's thread runs first. Nothing changes on an idle machine."""
    if niceness and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class Job(QObject):
    """One function on its own thread. Signals (all on the UI thread): ``progressed(Progress)``,
    ``item(value)`` for each ``send``, then ``done(result)`` or ``failed(exception)``, then ``finished(job)``."""

    progressed = pyqtSignal(object)
    item = pyqtSignal(object)
    done = pyqtSignal(object)
    failed = pyqtSignal(object)
    finished = pyqtSignal(object)
    _relay = pyqtSignal(str, object)  # (which signal, value): queued from the job's thread to this object

    def __init__(self, title: str, fn: JobFunction, parent: QObject | None = None, niceness: int = 0) -> None:
        super().__init__(parent)
        self.title, self.fn, self.niceness = title, fn, niceness
        self.cancel = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.last: Progress | None = None
        self._progress_lock = threading.Lock()
        self._pending: Progress | None = None  # the newest report not yet delivered
        self._thread = threading.Thread(target=self._run, name=f"job-{title}", daemon=True)
        self._relay.connect(self._deliver)  # a slot of this object: nothing arrives once it is deleted

    # -------------------------------------------------------------- the owner's side (UI thread)
    def start(self) -> Job:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the function to stop; it decides where (between steps, between files)."""
        self.cancel.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread (not for the delivery of its signals); True when it has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -------------------------------------------------------------- the function's side (its thread)
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def progress(self, done: float, total: float | None = None, text: str = "") -> None:
        with self._progress_lock:
            first = self._pending is None
            self._pending = Progress(done, total, text)
        if first:
            self._emit("progress", None)

    def send(self, value: Any) -> None:
        self._emit("item", value)

    def _emit(self, which: str, value: Any) -> None:
        try:
            self._relay.emit(which, value)
        except RuntimeError:  # the owner (and this object) is gone: nobody to tell, so stop
            self.cancel.set()

    def _run(self) -> None:
        lower_priority(self.niceness)
        try:
            self.result = self.fn(self)
        except Exception as e:  # reported on the UI thread, never lost in this one
            self.error = e
            self._emit("failed", e)
        else:
            self._emit("done", self.result)
        self._emit("finished", self)

    @pyqtSlot(str, object)
    def _deliver(self, which: str, value: Any) -> None:
        if which == "progress":
            with self._progress_lock:
                value, self._pending = self._pending, None
            if value is None:
                return
            self.last = value
            self.progressed.emit(value)
        else:
            getattr(self, which).emit(value)


class BusyIndicator(QWidget):
    """A progress bar and what is running (indeterminate until a job reports how far it is); hidden when idle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.hide()

    def show_jobs(self, jobs: list[Job]) -> None:
        self.label.setText(", ".join(j.title + (f" ({j.last.text})" if j.last and j.last.text else "")
                                     for j in jobs))
        fraction = jobs[0].last.fraction if len(jobs) == 1 and jobs[0].last is not None else None
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))
        self.setVisible(bool(jobs))


@dataclass
class _Request:
    title: str
    fn: JobFunction
    on_done: Callable[[Any], None] | None
    on_error: Callable[[Exception], None] | None
    on_progress: Callable[[Progress], None] | None


class Runner(QObject):
    """Starts jobs and keeps them until they report back.

    ``newest_only``: one job at a time, and a request made while one runs replaces the one waiting, because
    only the newest matters (a study poll, the filters of the layer chosen last). Otherwise every request
    starts at once (exports, imports). ``indicator`` shows what runs. ``finished`` follows every callback.
    """

    finished = pyqtSignal()

    def __init__(self, name: str, parent: QObject | None = None, newest_only: bool = True,
                 indicator: BusyIndicator | None = None) -> None:
        super().__init__(parent)
        self.name, self.newest_only, self.indicator = name, newest_only, indicator
        self.running: list[Job] = []
        self._waiting: _Request | None = None

    def submit(self, fn: JobFunction, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[Exception], None] | None = None, *, title: str = "",
               on_progress: Callable[[Progress], None] | None = None) -> Job | None:
        """Run ``fn(job)`` off the UI thread; the job started, or None when it waits behind a running one."""
        request = _Request(title or self.name, fn, on_done, on_error, on_progress)
        if self.newest_only and self.running:
            self._waiting = request
            return None
        return self._start(request)

    @property
    def busy(self) -> bool:
        return bool(self.running) or self._waiting is not None

    def stop(self) -> None:
        """Cancel every running job and drop the waiting one."""
        self._waiting = None
        for job in self.running:
            job.stop()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the running jobs' threads have ended (closing the window; tests). Their results are
        delivered by the event loop afterwards; a waiting request starts then."""
        end = time.monotonic() + timeout
        return all(job.join(max(0.0, end - time.monotonic())) for job in list(self.running))

    def _start(self, request: _Request) -> Job:
        job = Job(request.title, request.fn, self)
        if request.on_progress is not None:
            job.progressed.connect(request.on_progress)
        if self.indicator is not None:
            job.progressed.connect(lambda _p: self._show())
        job.done.connect(lambda value: self._call(request.on_done, value))
        job.failed.connect(lambda error: self._call(request.on_error, error))
        job.finished.connect(self._ended)
        self.running.append(job)
        self._show()
        return job.start()

    def _call(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is not None:
            callback(value)

    def _ended(self, job: Job) -> None:
        if job in self.running:
            self.running.remove(job)
        job.deleteLater()
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._start(waiting)
        self._show()
        self.finished.emit()

    def _show(self) -> None:
        if self.indicator is not None:
            self.indicator.show_jobs(self.running)
