"""UI-thread responsiveness while the desktop app trains and searches: a heartbeat QTimer ticks every
10 ms on the UI thread and every gap between ticks is recorded; a gap longer than the interval is time the
UI thread could not run (a stall).

Phases, each in the same window and the same run:
  start-up  the app starting as ``convsmith gui`` does (gui.startup): the splash on screen at once, torch and
            the window's code loaded behind it with progress, then every gap from the window's first paint
            for 3 s (the window's own start-up work: the runs list, the background preloader)
  idle      the window open on the Training page, nothing running (the baseline)
  training  a short run started from the Training page (curves, confusion matrix, filters, feature maps and
            the effective receptive field all live)
  inspect   the Training tab's Inspect area on that run: top-k patches, Grad-CAM, occlusion, activation
            maximisation and the misclassified browser, one after another (each off the UI thread)
  search    a short study started from the Search page (its process running trials, the page polling the
            storage, the table and plots updating)
Target: the worst stall from the first paint on (start-up, training, inspecting, searching) stays under 100 ms.
Offscreen when there is no display, so painting is Qt's software rasteriser.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TICK_MS = 10
TARGET_MS = 100
SPEC = {"format": "convsmith/1", "name": "Bench CNN", "input": [3, 32, 32], "num_classes": 6, "body": [
    {"block": "conv", "out": 16, "kernel": 5}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 32, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 48, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]}
SEARCH = {"body[0].out": {"choices": [8, 16]},
          "body[2]": {"blocks": [{"block": "conv", "out": 32}, {"block": "residual", "out": 32}]}}


class Heartbeat:
    """Records the gaps between ticks of a 10 ms timer on the UI thread."""

    def __init__(self) -> None:
        from PyQt6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.gaps: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last:
            self.gaps.append((now - self.last) * 1000)
        self.last = now

    def measure(self, app, until: Callable[[], bool], limit_s: float) -> list[float]:
        """Tick until ``until()`` (or the limit); returns the gaps in ms."""
        self.gaps, self.last = [], 0.0
        self.timer.start()
        t0 = time.perf_counter()
        while not until() and time.perf_counter() - t0 < limit_s:
            app.processEvents()
            time.sleep(0.001)
        self.timer.stop()
        return self.gaps


def summary(name: str, gaps: list[float], baseline: float | None) -> float:
    ordered = sorted(gaps)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    worst = ordered[-1]
    over = sum(g > TARGET_MS for g in gaps)
    ratio = f"  worst / idle worst {worst / baseline:5.2f}x" if baseline else ""
    print(f"  {name:<9} {len(gaps):5d} ticks  median {statistics.median(gaps):6.1f}  p95 {pct(0.95):6.1f}  "
          f"p99 {pct(0.99):6.1f}  worst {worst:6.1f} ms  stalls > {TARGET_MS} ms: {over}{ratio}")
    return worst


def main() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_process = time.perf_counter()
    from PyQt6.QtCore import QEvent, QObject, QSettings
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    t_app = time.perf_counter()
    from gui.startup import load

    steps: list[tuple[str, float]] = []
    splash = load(app, lambda what, _i, _n: steps.append((what, time.perf_counter())))
    t_loaded = time.perf_counter()

    from arch.spec import parse_spec
    from gui.dialogs import Dialogs
    from gui.main_window import MainWindow

    class FirstPaint(QObject):
        """The time of the first paint of any widget of the window."""

        def __init__(self, window: QObject) -> None:
            super().__init__()
            self.window, self.at = window, 0.0

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
            if not self.at and event.type() == QEvent.Type.Paint and obj.isWidgetType() and (
                    obj is self.window or self.window.isAncestorOf(obj)):
                self.at = time.perf_counter()
            return False

    class Quiet(Dialogs):  # a benchmark answers no questions; an error ends it
        def error(self, parent, title, text):  # noqa: ANN001
            raise SystemExit(f"{title}: {text}")

    folder = Path(tempfile.mkdtemp(prefix="convsmith-responsive-"))
    window = MainWindow(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat), folder / "recovery",
                        dialogs=Quiet(), autosave_ms=3_600_000)
    window.resize(1600, 1000)
    painted = FirstPaint(window)
    app.installEventFilter(painted)
    window.show()
    splash.finish(window)
    beat = Heartbeat()
    print(f"heartbeat every {TICK_MS} ms on the UI thread; gaps in ms (a gap above {TICK_MS} ms is a stall)")
    training = window.pages_extra.training
    beat.measure(app, lambda: bool(painted.at), 60)
    app.removeEventFilter(painted)
    startup = summary("start-up", beat.measure(
        app, lambda: time.perf_counter() - painted.at > 3.0 and not training.preloader.busy, 60), None)
    loaded = ", ".join(f"{what} {(b - a):.1f} s" for (what, a), (_, b) in zip(steps, [*steps[1:],
                                                                                    ("", t_loaded)]))
    print(f"            (splash on screen {1000 * (steps[0][1] - t_app):.0f} ms after the QApplication; behind it: "
          f"{loaded}; window first painted {painted.at - t_process:.1f} s after start)")
    pages = window.pages_extra
    window.open_spec(parse_spec(SPEC))
    pages.show(training)
    training.runs.root.setText(str(folder / "runs"))
    training.chooser.set_source("synthetic:shapes?n=3000&size=32&channels=3")
    training.chooser.load_now()
    beat.measure(app, lambda: training.chooser.data is not None, 120)  # the preview data, loaded once
    idle = summary("idle", beat.measure(app, lambda: False, 3.0), None)

    training.form.editors["epochs"].set_value(3)
    training.form.editors["batch_size"].set_value(64)
    t0 = time.perf_counter()
    assert training.start()
    worst_train = summary("training", beat.measure(app, lambda: not training.running(), 300), idle)
    print(f"            ({time.perf_counter() - t0:.1f} s; {training.status.text()})")

    from training.interpret.table import Request

    inspect = training.inspect
    training.views.setCurrentWidget(inspect)
    beat.measure(app, lambda: inspect.subject is not None, 120)  # the finished run, loaded in the background
    queue = [Request("topk"), Request("gradcam", index=1), Request("occlusion", index=1),
             Request("maximize", channel=0, steps=32), Request("misclassified")]
    done: list[str] = []

    def next_method() -> bool:
        """Start the next method once the previous one has ended; True when all have."""
        if inspect.jobs.busy:
            return False
        if inspect.result is not None and (not done or done[-1] != inspect.result.method):
            done.append(inspect.result.method)
        if not queue:
            return True
        inspect.inspect(queue.pop(0))
        return False

    t0 = time.perf_counter()
    worst_inspect = summary("inspect", beat.measure(app, next_method, 300), idle)
    print(f"            ({time.perf_counter() - t0:.1f} s; {', '.join(done)})")

    window.open_spec(parse_spec({**SPEC, "name": "Bench search", "search": SEARCH}))
    search = pages.search
    pages.show(search)
    search.form.fill(study="bench", root=folder / "studies", data="synthetic:shapes?n=1200&size=32&channels=3",
                     trials=3, epochs=2)
    t0 = time.perf_counter()
    assert search.start()
    worst_search = summary("search", beat.measure(
        app, lambda: not search.running() and search.model.rowCount() == 3
        and all(r.state not in ("running", "waiting") for r in search.model.records), 600), idle)
    print(f"            ({time.perf_counter() - t0:.1f} s; {search.status.text()})")
    worst = max(startup, worst_train, worst_inspect, worst_search)
    print(f"  worst stall from the first paint (start-up, training, inspecting, searching): {worst:.1f} ms — "
          f"{'within' if worst <= TARGET_MS else 'OVER'} the {TARGET_MS} ms target")
    window.close()


if __name__ == "__main__":
    main()
