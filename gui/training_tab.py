"""The Training page: train the current network (or continue a saved run) on a chosen dataset, and watch
it learn — curves, progress, confusion matrix, filters, feature maps, receptive fields — without the
UI ever waiting on the training thread.

Records arrive from ``train_job.TrainJob`` as queued signals and are only appended to buffers; a timer
redraws at most ten times a second, so a fast run never floods the UI thread.
"""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from analysis import Report, analyze
from arch.errors import ConvSmithError
from arch.spec import Spec, load
from gui.background import Latest
from gui.dataset_chooser import DatasetChooser
from gui.page_layout import sidebar_page
from gui.plots import ConfusionView
from gui.runs_panel import RunsPanel
from gui.train_form import TrainForm
from gui.train_job import TrainJob, Visuals, visualize
from gui.train_views import CurvesPanel, LearnedPanel
from gui.widgets import TextPane

if TYPE_CHECKING:
    from gui.main_window import MainWindow

REDRAW_MS = 100
# Imported off the UI thread soon after start-up: loading torch's libraries holds the GIL for long stretches
# (over 200 ms), which would stall the UI in the middle of the first run if it happened at Start.
PRELOAD = ("torch", "torch._dynamo", "training.loop", "training.visualize", "arch.builder")


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def new_run_dir(root: Path, name: str) -> Path:
    """``root/NAME-YYYYmmdd-HHMMSS`` (with a counter when that exists already)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "run"
    base = root / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class TrainingTab(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.job: TrainJob | None = None
        self.finished_job: TrainJob | None = None  # the last run's trained model, for later layer choices
        self.classes: list[str] = []
        self.last_step: Any = None
        self.last_run: Path | None = None
        self.analysing = Latest("analysis", self)
        self.drawing = Latest("visuals", self)
        self.preloader = Latest("preload", self)
        QTimer.singleShot(500, lambda: self.preloader.submit(lambda: [importlib.import_module(m) for m in PRELOAD],
                                                             lambda _modules: None))

        self.network = QLabel()
        self.network.setWordWrap(True)
        self.chooser = DatasetChooser()
        self.form = TrainForm()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("train the network of the current document (a new run directory)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step; the run directory keeps everything so far")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("train the last run's network again from its final checkpoint")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.status = TextPane(lines=2)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setFixedHeight(90)
        self.curves = CurvesPanel()
        self.confusion = ConfusionView()
        self.learned = LearnedPanel()
        self.runs = RunsPanel()
        self._layout()

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(lambda: self.last_run and self.continue_run(self.last_run))
        self.chooser.loaded.connect(self._data_loaded)
        if self.chooser.strip is not None:
            self.chooser.strip.chosen.connect(self._sample_chosen)
        self.learned.layer_chosen.connect(self._layer_chosen)
        self.runs.overlay.connect(self._overlay)
        self.runs.continue_requested.connect(lambda p: self.continue_run(Path(p)))
        self.runs.open_requested.connect(self._open_run_network)
        self.runs.failed.connect(lambda text: self.log.appendPlainText(text))
        window.hub.document_changed.connect(self._show_network)
        self._show_network()
        self._buttons()

    def _layout(self) -> None:
        side = QWidget()
        v = QVBoxLayout(side)
        v.addWidget(self.network)
        buttons = QHBoxLayout()  # the run's controls and progress first: always in sight
        for b in (self.start_button, self.stop_button, self.continue_button):
            buttons.addWidget(b)
        v.addLayout(buttons)
        v.addWidget(self.progress)
        v.addWidget(self.status)
        for title, widget in (("Dataset", self.chooser), ("Hyperparameters", self.form)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(widget)
            v.addWidget(box)
        v.addWidget(QLabel("Log"))
        v.addWidget(self.log)
        v.addStretch(1)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.confusion)
        middle.addWidget(self.learned)
        middle.setStretchFactor(1, 4)
        middle.setSizes([260, 1000])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(middle)
        right.addWidget(self.runs)
        right.setSizes([300, 330, 200])
        sidebar_page(self, side, right, (390, 460))

    # ------------------------------------------------------------------ state
    def running(self) -> bool:
        return self.job is not None

    def _buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and not self.job.cancel.is_set())
        self.continue_button.setEnabled(not running and self.last_run is not None)
        self.runs.continue_button.setEnabled(not running and self.runs.selected() is not None)

    def _show_network(self) -> None:
        doc = self.window_.document
        if doc is None:
            self.network.setText("No network open.")
            return
        c, h, w = doc.spec.input
        self.network.setText(f"<b>Network:</b> {doc.spec.name} ({c}x{h}x{w}, {doc.spec.num_classes} classes) — "
                             "the current document of the designer")

    def _error(self, title: str, text: str) -> None:
        self.log.appendPlainText(f"{title}: {text}")
        self.window_.dialogs.error(self, title, text)

    # ------------------------------------------------------------------ start / stop
    def start(self, spec: Spec | None = None, init_from: Path | None = None) -> bool:
        """Train ``spec`` (default: the current document); False when it could not start (said why)."""
        if self.running():
            return False
        self.window_.commit_pending_edit()
        if spec is None:
            doc = self.window_.document
            if doc is None:
                self._error("Cannot train", "no network is open")
                return False
            spec = doc.spec
        config = self.form.config()
        if config is None:
            self._error("Cannot train", "invalid training options:\n" + "\n".join(self.form.candidate().problems()))
            return False
        source = self.chooser.source()
        if source is None:
            self._error("Cannot train", f"the dataset string is not valid:\n{self.chooser.message.text()}")
            return False
        root = self.runs.folder()
        run_dir = new_run_dir(root, spec.name)
        job = TrainJob(spec, source, self.chooser.data_for(source), config, run_dir, init_from, parent=self)
        job.record.connect(self._record)
        job.visuals.connect(self._visuals)
        job.failed.connect(self._failed)
        job.finished.connect(self._finished)
        job.choose(self.learned.layer.currentData() or "", self._sample())
        self.job = job
        self.last_step = None
        self.progress.setValue(0)
        self.progress.setFormat("starting …")
        self.status.setText(f"Loading {source} and building {spec.name} …")
        self.log.appendPlainText(f"run {run_dir}: {spec.name} on {source}"
                                 + (f", from {init_from}" if init_from else ""))
        self.analysing.submit(lambda: analyze(spec), self._analysed,
                              lambda e: self.log.appendPlainText(f"analysis: {e}"))
        job.start()
        self.timer.start()
        self._buttons()
        return True

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping after this step …")
            self._buttons()

    def continue_run(self, run_dir: Path) -> bool:
        """Train a saved run's network again from its final checkpoint (a new run directory)."""
        try:
            spec = load(run_dir / "spec.json")
        except ConvSmithError as e:
            self._error("Cannot continue this run", str(e))
            return False
        return self.start(spec, init_from=run_dir)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Closing the window: stop the run between steps and let it finalise its run directory."""
        if self.job is not None:
            self.job.stop()
            self.job.join(timeout)
        self.timer.stop()

    # ------------------------------------------------------------------ records
    def _record(self, rec: Any) -> None:
        if rec.kind == "start":
            self.classes = list(rec.classes)
            self.curves.start(rec.steps_per_epoch, rec.epochs, self.job.config.lr if self.job else 0.0)
            self.progress.setFormat("%p%")
            self.status.setText(f"Training {rec.params:,} parameters on {rec.device}: {rec.train_size} train / "
                                f"{rec.val_size} val images, {rec.steps_per_epoch} steps per epoch")
            for note in rec.adapted:
                self.log.appendPlainText(f"adapted: {note}")
            self.runs.refresh()
        elif rec.kind == "step":
            self.curves.step(rec)
            self.last_step = rec
        elif rec.kind == "epoch":
            self.curves.epoch(rec)
            self.confusion.set_matrix(rec.confusion, self.classes, rec.epoch)
            self.log.appendPlainText(f"epoch {rec.epoch}: loss {rec.train_loss:.4f}, val loss {rec.val_loss:.4f}, "
                                     f"val acc {100 * rec.val_acc:.2f} %{' (best)' if rec.is_best else ''}")
        elif rec.kind == "done":
            self._done(rec)

    def _redraw(self, everything: bool = False) -> None:
        """The timer's redraw: one plot per tick while the run goes on; all of them at its end."""
        if everything:
            self.curves.flush()
        else:
            self.curves.flush_next()
        rec = self.last_step
        if rec is not None:
            self.progress.setValue(round(rec.progress * 1000))
            self.progress.setFormat(f"%p%  ·  epoch {rec.epoch}  ·  ETA {clock(rec.eta)}  ·  "
                                    f"{rec.images_per_s:,.0f} img/s")
            self.last_step = None

    def _done(self, rec: Any) -> None:
        self._redraw(everything=True)
        final = "-" if rec.final_val_acc is None else f"{100 * rec.final_val_acc:.2f} %"
        self.status.setText(f"{rec.status}: {rec.epochs} epochs, {rec.steps} steps in {clock(rec.elapsed)}; "
                            f"final val acc {final}. {rec.message}")
        self.log.appendPlainText(f"{rec.status}: {rec.message or 'done'} ({rec.run_dir})")
        if rec.status == "completed":
            self.progress.setValue(1000)
        self.progress.setFormat(f"{rec.status} · %p%")
        if rec.run_dir:
            self.last_run = Path(rec.run_dir)

    def _failed(self, text: str) -> None:
        self._error("Training failed", text)

    def _finished(self, job: TrainJob) -> None:
        if self.job is job:
            self.job = None
            self.finished_job = job if job.model is not None else self.finished_job
            self.timer.stop()
            self._redraw(everything=True)
            self._buttons()
            self.runs.refresh()

    # ------------------------------------------------------------------ visuals
    def _visuals(self, v: Visuals) -> None:
        self.learned.show_visuals(v)

    def _analysed(self, report: Report) -> None:
        layer = self.learned.set_report(report)
        if self.job is not None:
            self.job.choose(layer=layer)
        elif layer:
            self._layer_chosen(layer)

    def _sample(self) -> int:
        return self.chooser.strip.current() if self.chooser.strip is not None else 0

    def _layer_chosen(self, layer: str) -> None:
        self._redraw_visuals(layer=layer)

    def _sample_chosen(self, index: int) -> None:
        strip = self.chooser.strip
        if strip is not None and index < len(strip.pictures):
            self.window_.design.rf.use_array(strip.pictures[index])
        self._redraw_visuals(sample=index)

    def _redraw_visuals(self, layer: str | None = None, sample: int | None = None) -> None:
        """A new layer or sample: the running job draws it at its next step; after a run, a background task."""
        if self.job is not None:
            self.job.choose(layer, sample)
            return
        job = self.finished_job
        if job is None or job.model is None:
            return
        name = layer if layer is not None else (self.learned.layer.currentData() or "")
        index = sample if sample is not None else self._sample()
        self.drawing.submit(lambda: visualize(job.model, job.images, name, index), self._visuals,
                            lambda e: self.log.appendPlainText(f"visuals: {e}"))

    def _data_loaded(self, data: Any) -> None:
        strip = self.chooser.strip
        if strip is not None and strip.pictures:
            self.window_.design.rf.use_array(strip.pictures[strip.current()])

    # ------------------------------------------------------------------ runs
    def _overlay(self, name: str, history: Any) -> None:
        if history is None:
            self.curves.remove_overlay(name)
        else:
            self.curves.overlay(name, history.epochs, len(self.curves.overlays))

    def _open_run_network(self, run_dir: str) -> None:
        try:
            spec = load(Path(run_dir) / "spec.json")
        except ConvSmithError as e:
            self._error("Cannot open the run's network", str(e))
            return
        self.window_.open_spec(spec)
        self.window_.pages.setCurrentWidget(self.window_.design)
