"""The Training tab's Inspect area: for the selected run, one interpretation method at a time (the table of
``training.interpret.table``) with its layer, channel, class and image pickers; the result is the picture
the CLI writes (drawn once, in ``training.interpret.render``) and its numbers. Loading the run and every
method run off the UI thread (``gui.jobs``), with progress and a Cancel button; each result is also kept in
the run folder's ``inspect/``, where the Compare tab finds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.jobs import Job, Progress, Runner, describe
from gui.plots import qpixmap
from gui.widgets import TextPane
from training.interpret.table import METHODS, Request

AUTO = -1  # the class picker's "automatic" entry (predicted / labelled class)


class InspectPanel(QWidget):
    """``set_run(path)`` loads a run; ``inspect(request)`` computes one method; ``shown`` reports each result."""

    shown = pyqtSignal(object)   # training.interpret.methods.Result
    loaded = pyqtSignal(object)  # the Subject of the run now inspected

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.subject: Any = None
        self.run_dir: Path | None = None
        self.image_file: str | None = None
        self.result: Any = None
        self.loader = Runner("inspect-load", self)
        self.jobs = Runner("inspect", self)
        self.method = QComboBox()
        for m in METHODS.values():
            self.method.addItem(m.title, m.name)
            self.method.setItemData(self.method.count() - 1, m.help, Qt.ItemDataRole.ToolTipRole)
        self.layer = QComboBox()
        self.channel = QSpinBox()
        self.target = QComboBox()
        self.predicted = QComboBox()
        self.index = QSpinBox()
        self.file_button = QPushButton("Image file…")
        self.file_button.setToolTip("use an image file instead of a validation image (resized like the data)")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.status = TextPane(lines=2)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.numbers = TextPane(lines=3)
        self._layout()
        self.method.currentIndexChanged.connect(self._pickers)
        self.layer.currentIndexChanged.connect(self._channels)
        self.run_button.clicked.connect(lambda: self.inspect())
        self.cancel_button.clicked.connect(self.cancel)
        self.file_button.clicked.connect(self._choose_file)
        self.index.valueChanged.connect(self._use_index)
        self.jobs.finished.connect(self._buttons)
        self.loader.finished.connect(self._buttons)
        self._pickers()
        self._buttons()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Method", self.method)
        form.addRow("Layer", self.layer)
        form.addRow("Channel", self.channel)
        form.addRow("Class", self.target)
        form.addRow("Predicted", self.predicted)
        image = QHBoxLayout()
        image.addWidget(self.index, 1)
        image.addWidget(self.file_button)
        form.addRow("Image", image)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addLayout(buttons)
        side.addWidget(self.progress)
        side.addWidget(self.status)
        side.addStretch(1)
        left = QWidget()
        left.setLayout(side)
        left.setMaximumWidth(300)
        scroll = QScrollArea()
        scroll.setWidget(self.picture)
        scroll.setWidgetResizable(True)
        right = QVBoxLayout()
        right.addWidget(scroll, 1)
        right.addWidget(self.numbers)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addWidget(left)
        outer.addLayout(right, 1)

    # ------------------------------------------------------------------ pickers
    def _pickers(self) -> None:
        m = METHODS[self.method.currentData()]
        self.layer.setEnabled(m.layer)
        self.channel.setEnabled(m.channel)
        self.target.setEnabled(m.target)
        self.predicted.setEnabled(m.name == "misclassified")
        self.index.setEnabled(m.image)
        self.file_button.setEnabled(m.image)
        if self.subject is not None:
            self._fill_layers()

    def _fill_layers(self) -> None:
        """Spatial layers for the methods; layers with parameters (what is recorded) for the histograms."""
        from training.interpret.histograms import param_layers

        histograms = self.method.currentData() == "histograms"
        names = [n for n, _ in param_layers(self.subject.model)] if histograms else self.subject.spatial_layers()
        if [self.layer.itemData(i) for i in range(self.layer.count())] == names:
            return
        keep = self.layer.currentData()
        with QSignalBlocker(self.layer):
            self.layer.clear()
            for name in names:
                self.layer.addItem(name, name)
            default = names[0] if histograms else self.subject.last_spatial()
            self.layer.setCurrentIndex(max(0, self.layer.findData(keep if keep in names else default)))
        self._channels()

    def _channels(self) -> None:
        layer = self.layer.currentData()
        if self.subject is not None and layer and layer in self.subject.spatial_layers():
            self.channel.setMaximum(max(0, self.subject.layer_channels(layer) - 1))

    def _use_index(self) -> None:
        self.image_file = None
        self.file_button.setText("Image file…")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image to inspect", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif)")
        if path:
            self.use_file(path)

    def use_file(self, path: str) -> None:
        self.image_file = path
        self.file_button.setText(Path(path).name)

    def _buttons(self) -> None:
        busy = bool(self.jobs.running)
        self.run_button.setEnabled(self.subject is not None and not busy)
        self.cancel_button.setEnabled(busy)

    # ------------------------------------------------------------------ the run inspected
    def set_run(self, run_dir: Path) -> None:
        """Load ``run_dir``'s best weights, analysis and validation images in the background."""
        if self.run_dir == Path(run_dir) and self.subject is not None:
            return
        from training.interpret.subject import load_subject

        self.run_dir = Path(run_dir)
        self.subject = None
        self.jobs.stop()
        self._buttons()
        self.status.setText(f"Loading {self.run_dir.name} …")

        def load(job: Job) -> Any:
            subject = load_subject(run_dir)
            if subject.data is not None:  # decoded, normalised and predicted here, not on the first click
                subject.predictions(lambda f: job.progress(f, 1.0, "predicting"), job.cancelled)
            return subject

        self.loader.submit(load, self._loaded, lambda e: self.status.setText(f"Cannot inspect this run: "
                                                                             f"{describe(e).splitlines()[0]}"))

    def _loaded(self, subject: Any) -> None:
        if subject.path != self.run_dir:
            return
        self.subject = subject
        self.layer.clear()
        self._fill_layers()
        for box, auto in ((self.target, "auto"), (self.predicted, "any")):
            box.clear()
            box.addItem(auto, AUTO)
            for k, name in enumerate(subject.classes):
                box.addItem(f"{k} {name}" if name != str(k) else str(k), k)
        n = len(subject.validation()[1]) if subject.data is not None else 0
        self.index.setMaximum(max(0, n - 1))
        images = f"{n} validation images" if subject.data is not None else f"no dataset ({subject.data_error})"
        self.status.setText(f"{subject.path.name}: {len(subject.classes)} classes, {images}")
        self._buttons()
        self.loaded.emit(subject)

    # ------------------------------------------------------------------ methods
    def request(self) -> Request:
        target = self.target.currentData()
        predicted = self.predicted.currentData()
        return Request(self.method.currentData(), self.layer.currentData(), self.channel.value(),
                       None if target in (None, AUTO) else int(target),
                       None if predicted in (None, AUTO) else int(predicted), self.index.value(), self.image_file)

    def show_cell(self, true: int, predicted: int) -> None:
        """A confusion-matrix cell was clicked: browse the images of that (true, predicted) pair."""
        if self.subject is None:
            return
        self.method.setCurrentIndex(self.method.findData("misclassified"))
        self.target.setCurrentIndex(self.target.findData(true))
        self.predicted.setCurrentIndex(self.predicted.findData(predicted))
        self.inspect()

    def inspect(self, request: Request | None = None) -> Job | None:
        """Compute ``request`` (default: the pickers') off the UI thread; the result is shown and saved."""
        if self.subject is None:
            return None
        from training.interpret.methods import run, save

        req = request or self.request()
        subject, run_dir = self.subject, self.run_dir

        def work(job: Job) -> Any:
            result = run(subject, req, progress=lambda f: job.progress(f, 1.0, ""), cancel=job.cancelled)
            if run_dir is not None and run_dir.is_dir():
                save(result, run_dir)
            return result

        self.progress.setValue(0)
        self.progress.setFormat(f"{METHODS[req.method].title} …")
        self.status.setText(f"Computing {METHODS[req.method].title.lower()} …")
        job = self.jobs.submit(work, self._done, self._failed, title=f"inspect {req.method}",
                               on_progress=self._progress)
        self._buttons()
        return job

    def cancel(self) -> None:
        self.jobs.stop()
        self.status.setText("Cancelling …")

    def _progress(self, p: Progress) -> None:
        if p.fraction is not None:
            self.progress.setValue(round(p.fraction * 1000))
            self.progress.setFormat("%p%")

    def _done(self, result: Any) -> None:
        self.result = result
        self.picture.setPixmap(qpixmap(np.asarray(result.picture.convert("RGB")), 0))
        keys = [k for k, v in result.numbers.items() if not isinstance(v, (list, dict))]
        self.numbers.setText(", ".join(f"{k}: {_fmt(result.numbers[k])}" for k in keys))
        self.progress.setValue(1000)
        self.progress.setFormat(f"done in {result.seconds:.2f} s")
        where = f" — saved in {self.run_dir.name}/inspect/" if self.run_dir else ""
        self.status.setText(f"{METHODS[result.method].title}{where}")
        self._buttons()
        self.shown.emit(result)

    def _failed(self, error: Exception) -> None:
        from training.interpret.common import Cancelled

        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status.setText("Cancelled." if isinstance(error, Cancelled) else describe(error).splitlines()[0])
        self._buttons()


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
