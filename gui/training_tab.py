"""The Training page: train the current network (or continue a saved run) on a chosen dataset, and watch
it learn — curves (top-1 and, with more than 5 classes, top-5), progress, confusion matrix, per-class accuracy,
filters, feature maps, receptive fields — without the
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from analysis import Report, analyze
from arch.errors import ConvSmithError
from arch.spec import Spec, load
from gui import edits
from gui.augment_view import AugmentView
from gui.dataset_chooser import DatasetChooser
from gui.document import Document
from gui.freeze_marks import FreezeMarks
from gui.inspect_panel import InspectPanel
from gui.jobs import Job, Runner, describe
from gui.page_layout import sidebar_page
from gui.plots import ConfusionView
from gui.runs_panel import RunsPanel
from gui.startup import TORCH_MODULES
from gui.train_form import TrainForm
from gui.train_job import TrainJob
from gui.train_views import CurvesPanel, LearnedPanel, PerClassView
from gui.widgets import TextPane
from training.adaptation import planned

if TYPE_CHECKING:
    from gui.main_window import MainWindow

REDRAW_MS = 100
# gui.startup loads these behind its splash before the window exists; a window made without it (tests,
# scripts) imports them off the UI thread soon after start-up, so that Start never waits for them.
PRELOAD = TORCH_MODULES


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
        self.job_document: Document | None = None  # the document whose network the job trains
        self.background = False  # the person chose to keep the job going while another document is current
        self.run_data = ""       # the dataset of the run whose curves are drawn (overlays from others say so)
        self.trained: tuple[Any, Any] | None = None  # (model, sample images) of the run shown, for later layer choices
        self.classes: list[str] = []
        self.last_step: Any = None
        self.last_run: Path | None = None
        self.analysing = Runner("analysis", self)
        self.drawing = Runner("visuals", self)
        self.preloader = Runner("preload", self)
        preload = QTimer(self)  # a child: it dies with the tab (a bare singleShot lambda fired into a closed window)
        preload.setSingleShot(True)
        preload.timeout.connect(lambda: self.preloader.submit(
            lambda _job: [importlib.import_module(m) for m in PRELOAD], lambda _modules: None))
        preload.start(500)

        self.network = QLabel()
        self.network.setWordWrap(True)
        self.banner = QLabel()  # what training would change to fit this network to the data, before Start
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fef7e0; border: 1px solid #f9ab00; padding: 6px; color: #202124;")
        self.banner.hide()
        self.fit_button = QPushButton("Change the network instead")
        self.fit_button.setToolTip("set the network's input and classes to the data's (one undo step), so training "
                                   "adapts nothing")
        self.fit_button.hide()
        self.chooser = DatasetChooser()
        self.form = TrainForm()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("train the network of the current document (a new run directory)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step; the run directory keeps everything so far")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("train this network again from the final checkpoint of its newest run")
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
        self.per_class = PerClassView()  # the run shown: live, or picked in the runs list
        self.inspect = InspectPanel()  # interpretation methods on the selected (or last) run
        self.runs = RunsPanel()
        self.freeze_marks = FreezeMarks(window.design.editor, window.hub, self.form)  # the designer's right-click
        self._layout()

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(self._continue_current)
        self.fit_button.clicked.connect(self._fit_network)
        self.chooser.loaded.connect(self._data_loaded)
        if self.chooser.strip is not None:
            self.chooser.strip.chosen.connect(self._sample_chosen)
        self.learned.layer_chosen.connect(self._layer_chosen)
        self.runs.overlay.connect(self._overlay)
        self.runs.continue_requested.connect(lambda p: self.continue_run(Path(p)))
        self.runs.open_requested.connect(self._open_run_network)
        self.runs.failed.connect(lambda text: self.log.appendPlainText(text))
        self.runs.listed.connect(self._buttons)
        self.runs.chosen.connect(self._show_past_run)
        self.runs.chosen.connect(lambda p: self.inspect.set_run(Path(p)))
        self.confusion.cell_clicked.connect(self._cell_clicked)
        self.inspect.loaded.connect(self._inspect_loaded)
        self.past = Runner("past-run", self)
        self.runs_due = QTimer(self)
        self.runs_due.setSingleShot(True)
        self.runs_due.setInterval(300)
        self.runs_due.timeout.connect(self._network_for_runs)
        window.hub.document_changed.connect(self._show_network)
        window.workspace.guard(self._may_leave)
        self._show_network()
        self._buttons()

    def _layout(self) -> None:
        side = QWidget()
        v = QVBoxLayout(side)
        v.addWidget(self.network)
        v.addWidget(self.banner)
        v.addWidget(self.fit_button)
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
        self.views = QTabWidget()
        self.views.addTab(self.learned, "Learned")
        self.views.addTab(self.per_class, "Per class")
        self.views.addTab(self.inspect, "Inspect")
        self.views.addTab(AugmentView(self.form, self.chooser), "Augmentation")
        middle.addWidget(self.views)
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
        self.continue_button.setEnabled(not running and self.runs.latest_match() is not None)
        self.runs.continue_button.setEnabled(not running and self.runs.selected() is not None)

    def _show_network(self) -> None:
        """Header, adaptations banner and runs list: all about the current document's network."""
        doc = self.window_.document
        if doc is None:
            self.network.setText("No network open.")
            self.runs.set_network(None)
            return
        c, h, w = doc.spec.input
        text = (f"<b>Network:</b> {doc.spec.name} ({c}x{h}x{w}, {doc.spec.num_classes} classes) — "
                "the current document of the designer")
        if self.job is not None and self.job_document is not None and self.job_document is not doc:
            text += (f"<br><i>Training {self.job_document.spec.name} in the background: the curves and the progress "
                     "below are that run's.</i>")
        if self.network.text() != text:
            self.network.setText(text)
        if self.runs.spec is not doc.spec:
            self.runs_due.start()  # the runs of this network, read once the edits pause
        self._show_adaptations()
        self._buttons()

    def _network_for_runs(self) -> None:
        doc = self.window_.document
        self.runs.set_network(doc.spec if doc is not None else None)

    def adaptations(self) -> list[str]:
        """What a run of the current network on the loaded data would change (``training.adaptation``)."""
        doc, data = self.window_.document, self.chooser.data
        if doc is None or data is None:
            return []
        return planned(tuple(doc.spec.input), doc.spec.num_classes, tuple(data.input_shape), data.num_classes)

    def _show_adaptations(self) -> None:
        notes = self.adaptations()
        data = self.chooser.data
        if notes and data is not None:
            c, h, w = data.input_shape
            self.banner.setText("<b>Training will adapt this network to the data:</b><ul>"
                                + "".join(f"<li>{n}</li>" for n in notes) + "</ul>")
            self.fit_button.setText(f"Change the network instead (input {c}x{h}x{w}, {data.num_classes} classes)")
        self.banner.setVisible(bool(notes))
        self.fit_button.setVisible(bool(notes))

    def _fit_network(self) -> None:
        data = self.chooser.data
        if data is not None:
            self.window_.hub.apply(edits.fit_to_data, tuple(data.input_shape), data.num_classes)

    def _may_leave(self, action: str, doc: Document) -> bool:
        """Workspace guard: switching away from (or closing) the document being trained asks what to do."""
        job = self.job
        if job is None or job.cancelled() or self.background or self.job_document is None:
            return True  # nothing running, or a run already told to stop or to go on in the background
        if action == "switch" and doc is self.job_document:
            return True
        if action == "close" and doc is not self.job_document:
            return True
        what = f"switch to {doc.title}" if action == "switch" else f"close {doc.title}"
        return self._ask(what)

    def _ask(self, what: str) -> bool:
        """Keep training in the background / stop it / cancel: False for cancel."""
        name = self.job_document.spec.name if self.job_document is not None else "A network"
        answer = self.window_.dialogs.ask_running(self.window_, name, what)
        if answer == "background":
            self.background = True
        elif answer == "stop":
            self.stop()
        return answer != "cancel"

    def may_close(self) -> bool:
        """Closing the window during a run: keep it going in the background (the window hides and the app
        quits when it ends), stop it, or cancel the close."""
        if self.job is None or self.job.cancelled():
            return True
        name = self.job_document.spec.name if self.job_document is not None else "A network"
        answer = self.window_.dialogs.ask_running(self.window_, name, "close the window")
        if answer == "background":
            self.window_.hide()
            self.job.finished.connect(lambda _job: self.window_.close())
            return False
        if answer == "stop":
            self.stop()
        return answer != "cancel"

    def _continue_current(self) -> None:
        path = self.runs.latest_match()
        if path is not None:
            self.continue_run(Path(path))

    def _error(self, title: str, text: str) -> None:
        self.log.appendPlainText(f"{title}: {text}")
        self.window_.dialogs.error(self, title, text)

    # ------------------------------------------------------------------ start / stop
    def start(self, spec: Spec | None = None, init_from: Path | None = None) -> bool:
        """Train ``spec`` (default: the current document); False when it could not start (said why)."""
        if self.running():
            return False
        self.window_.commit_pending_edit()
        doc = self.window_.document
        if spec is None:
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
        self.job_document = doc
        self.background = False
        self.run_data = source
        self.last_step = None
        self.progress.setValue(0)
        self.progress.setFormat("starting …")
        self.status.setText(f"Loading {source} and building {spec.name} …")
        self.log.appendPlainText(f"run {run_dir}: {spec.name} on {source}"
                                 + (f", from {init_from}" if init_from else ""))
        self.analysing.submit(lambda _job: analyze(spec), self._analysed,
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
            self.per_class.start(self.classes)
            self.curves.start(rec.steps_per_epoch, rec.epochs, self.job.config.lr if self.job else 0.0)
            self.progress.setFormat("%p%")
            self.status.setText(f"Training {rec.params:,} parameters on {rec.device}: {rec.train_size} train / "
                                f"{rec.val_size} val images, {rec.steps_per_epoch} steps per epoch")
            for note in rec.adapted:
                self.log.appendPlainText(f"adapted: {note}")
            for line in rec.setup_lines():  # frozen parameters, augmentation
                self.log.appendPlainText(line)
            if rec.adapted:
                self.status.setText(self.status.text() + "\nAdapted: " + "; ".join(rec.adapted))
            self.runs.refresh()
        elif rec.kind == "step":
            self.curves.step(rec)
            self.last_step = rec
        elif rec.kind == "epoch":
            self.curves.epoch(rec)
            if rec.confusion:  # multi-label data has none
                self.confusion.set_matrix(rec.confusion, self.classes, rec.epoch)
            self.per_class.add_epoch(rec.epoch, rec.per_class_acc)
            self.log.appendPlainText(f"epoch {rec.epoch}: loss {rec.train_loss:.4f}, val loss {rec.val_loss:.4f}, "
                                     f"val acc {100 * rec.val_acc:.2f} %{' (best)' if rec.is_best else ''}")
            if self.job is not None:  # the runs list follows the run live (its epochs, its accuracy)
                self.runs.show_progress(str(self.job.run_dir), rec.epoch, rec.best_val_acc, rec.val_acc, rec.val_top5)
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
            self.inspect.set_run(self.last_run)

    def _inspect_loaded(self, subject: Any) -> None:
        """The inspected run's confusion matrix (its checkpoint's, so a clicked cell holds what it says); a
        multi-label run has none."""
        if self.job is None and subject.data is not None and not subject.data.multilabel:
            self.confusion.set_matrix(subject.predictions().confusion, subject.classes, subject.epoch or 0)

    def _cell_clicked(self, true: int, predicted: int) -> None:
        """A confusion-matrix cell: its misclassified images in the Inspect area."""
        if true != predicted and self.inspect.subject is not None:
            self.views.setCurrentWidget(self.inspect)
            self.inspect.show_cell(true, predicted)

    def _failed(self, error: Exception) -> None:
        self._error("Training failed", describe(error))

    def _finished(self, job: TrainJob) -> None:
        if self.job is job:
            self.job = None
            self.job_document = None
            self.background = False
            self._show_network()
            if job.model is not None:
                self.trained = (job.model, job.images)
            self.timer.stop()
            self._redraw(everything=True)
            self._buttons()
            self.runs.refresh()

    # ------------------------------------------------------------------ visuals
    def _visuals(self, v: Any) -> None:
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
        if self.trained is None:
            return
        from training.snapshot import snapshot  # torch is loaded: a model exists

        model, images = self.trained
        name = layer if layer is not None else (self.learned.layer.currentData() or "")
        index = sample if sample is not None else self._sample()
        self.drawing.submit(lambda _job: snapshot(model, name, images, index), self._visuals,
                            lambda e: self.log.appendPlainText(f"visuals: {e}"))

    def _data_loaded(self, data: Any) -> None:
        strip = self.chooser.strip
        if strip is not None and strip.pictures:
            self.window_.design.rf.use_array(strip.pictures[strip.current()])
        self._show_adaptations()

    def _show_past_run(self, run_dir: str) -> None:
        """A run picked in the list (no run going): its curves, its per-class accuracy, and the filters and
        feature maps of its final weights on the loaded data's images, computed in the background."""
        if self.job is not None:
            return
        data = self.chooser.data

        def read(_job: Job) -> tuple[Any, Any, Report | None, Any]:
            from training.checkpoint import load_checkpoint
            from training.runs import load_history

            history = load_history(run_dir)
            path = Path(run_dir)
            ckpt = load_checkpoint(path, "best" if (path / "best.pt").exists() else "final")
            model = ckpt.build()
            ckpt.load_into(model)
            model.eval()
            spec = ckpt.spec
            report = analyze(spec) if spec is not None else None
            images = None
            if data is not None and spec is not None:
                from gui.train_job import sample_batch

                images = sample_batch(data.adapt(tuple(spec.input)).to("cpu"))
            return history, model, report, images

        self.past.submit(read, self._past_loaded, lambda e: self.log.appendPlainText(f"run {run_dir}: {e}"))

    def _past_loaded(self, loaded: tuple[Any, Any, Report | None, Any]) -> None:
        history, model, report, images = loaded
        if self.job is not None:
            return
        self.curves.show_history(history)
        self.per_class.show_history(history)
        self.run_data = history.config.get("data", {}).get("source", "")
        self.status.setText(f"Run {history.path.name}: {history.run.get('status', '?')}, "
                            f"{history.run.get('epochs', 0)} epochs on {self.run_data}")
        layer = self.learned.set_report(report)
        if images is None:
            self.log.appendPlainText(f"run {history.path.name}: load a dataset to see its feature maps")
            self.trained = None
            from training.snapshot import snapshot  # torch is loaded: a model exists

            self.drawing.submit(lambda _job: snapshot(model, ""), self._visuals,
                                lambda e: self.log.appendPlainText(f"visuals: {e}"))
            return
        self.trained = (model, images)
        self._redraw_visuals(layer=layer)

    # ------------------------------------------------------------------ runs
    def _overlay(self, name: str, history: Any) -> None:
        if history is None:
            self.curves.remove_overlay(name)
            return
        data = history.config.get("data", {}).get("source", "")
        other = bool(self.run_data) and data != self.run_data
        if other:
            self.log.appendPlainText(f"{name} was trained on {data}, not on {self.run_data}: its legend says so")
        self.curves.overlay(name, history.epochs, len(self.curves.overlays),
                            f"other data: {data}" if other else "")

    def _open_run_network(self, run_dir: str) -> None:
        try:
            spec = load(Path(run_dir) / "spec.json")
        except ConvSmithError as e:
            self._error("Cannot open the run's network", str(e))
            return
        self.window_.open_spec(spec)
        self.window_.pages.setCurrentWidget(self.window_.design)
