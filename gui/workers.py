"""Work that may take longer than a frame (exports, reports, imports) runs on a thread pool; the status
bar shows a busy indicator while any task runs, and the result comes back on the UI thread.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class _Signals(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()
        self.setAutoDelete(False)  # the owner keeps it until its signal has been delivered

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # reported to the person, never lost in the thread
            e.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.signals.failed.emit(e)
        else:
            self.signals.done.emit(result)


class BusyIndicator(QWidget):
    """An indeterminate progress bar and what is running; hidden when idle."""

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

    def show_tasks(self, titles: list[str]) -> None:
        self.label.setText(", ".join(titles))
        self.setVisible(bool(titles))


class Workers(QObject):
    """Starts tasks and keeps them alive until they report back."""

    finished = pyqtSignal()

    def __init__(self, indicator: BusyIndicator, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.indicator = indicator
        self.pool = QThreadPool.globalInstance()
        self.running: dict[_Task, str] = {}

    def start(self, title: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
              on_failed: Callable[[Exception], None]) -> None:
        task = _Task(fn)
        self.running[task] = title
        task.signals.done.connect(lambda result: self._end(task, on_done, result))
        task.signals.failed.connect(lambda error: self._end(task, on_failed, error))
        self.indicator.show_tasks(list(self.running.values()))
        self.pool.start(task)

    def _end(self, task: _Task, callback: Callable[[Any], None], value: Any) -> None:
        self.running.pop(task, None)
        self.indicator.show_tasks(list(self.running.values()))
        try:
            callback(value)
        finally:
            self.finished.emit()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (closing the window; tests)."""
        return self.pool.waitForDone(msecs)
