"""Choosing a dataset: a form that builds the training package's dataset string (the same one the CLI
takes), and a preview strip of the first validation images with their labels.

The option fields are generated from ``training.source``'s declared options for the chosen kind (nothing
per kind here); the string is checked with ``parse_source`` on every change (no file is touched), and the
data is loaded for the preview in the background, then kept for training.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
from PyQt6.QtCore import QSignalBlocker, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QFont, QIcon
from PyQt6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from arch.dims import dims
from gui.jobs import Job, Runner
from gui.plots import qpixmap
from gui.widgets import ErrorLabel
from training.errors import DataError
from training.source import KINDS, options_help, parse_source

PREVIEW = 12
DEFAULT = "synthetic:shapes?n=2000&size=32&channels=3"


def _text(value: Any) -> str:
    """An option's value as the dataset string writes it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        if all(isinstance(v, float) for v in value):  # mean / std
            return ",".join(f"{v:g}" for v in value)
        return dims(value)  # a size, height x width
    return "" if value is None else str(value)


def preview_images(data: Any, n: int = PREVIEW) -> tuple[list[np.ndarray], list[str]]:
    """The first ``n`` validation images as (H, W, 3) uint8 pictures, and their labels in words (class names;
    multi-label: the names joined by '+')."""
    x, y = next(data.batches("val", n, data.normalizer(data.device)))
    mean = np.asarray(data.mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(data.std, dtype=np.float32).reshape(1, -1, 1, 1)
    pixels = np.clip(x.float().cpu().numpy() * std + mean, 0.0, 1.0)  # undo the normalisation
    pixels = (pixels * 255).round().astype(np.uint8)
    pictures = []
    for p in pixels:
        c = p.shape[0]
        rgb = p[:3].transpose(1, 2, 0) if c >= 3 else np.repeat(p[0][..., None], 3, axis=2)
        pictures.append(np.ascontiguousarray(rgb))
    return pictures, data.label_names(y)


class SampleStrip(QScrollArea):
    """Thumbnails with labels; clicking one chooses the sample the feature maps are drawn for."""

    chosen = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(96)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.group.idClicked.connect(self.chosen)
        self.buttons: list[QToolButton] = []
        self.pictures: list[np.ndarray] = []
        self.labels: list[str] = []
        self.setWidget(QWidget())

    def show_samples(self, pictures: list[np.ndarray], labels: list[str]) -> None:
        self.pictures, self.labels = pictures, labels
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.buttons = []
        for i, (picture, label) in enumerate(zip(pictures, labels)):
            b = QToolButton()
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIcon(QIcon(qpixmap(picture, 56)))
            b.setIconSize(QSize(56, 56))
            b.setText(label if len(label) <= 9 else label[:8] + "…")
            b.setToolTip(f"validation image {i}: {label}")
            b.setCheckable(True)
            b.setAutoRaise(True)
            self.group.addButton(b, i)
            self.buttons.append(b)
            row.addWidget(b)
        row.addStretch(1)
        if self.buttons:
            self.buttons[0].setChecked(True)
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()
        self.setWidget(holder)

    def current(self) -> int:
        return max(self.group.checkedId(), 0)


class DatasetChooser(QWidget):
    """Emits ``changed(source)`` for every valid string and ``loaded(data)`` when the preview data is in."""

    changed = pyqtSignal(str)
    loaded = pyqtSignal(object)

    def __init__(self, preview: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for k in KINDS.values():
            self.kind.addItem(k.title, k.name)
        self.where = QLineEdit()
        self.generator = QComboBox()  # for a kind whose WHERE is one of a few names (synthetic generators)
        self.browse = QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("choose the folder")
        self.string = QLineEdit()
        self.string.setFont(QFont("monospace"))
        self.string.setToolTip("the dataset string (also what `convsmith train --data` takes); edit it directly "
                               "or through the fields above")
        self.message = ErrorLabel()
        self.options: dict[str, QLineEdit] = {}
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        where_row = QHBoxLayout()
        where_row.addWidget(self.where, 1)
        where_row.addWidget(self.generator, 1)
        where_row.addWidget(self.browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        top.addRow("kind", self.kind)
        top.addRow("where", where_row)
        layout.addLayout(top)
        self.options_box = QWidget()
        self.options_box.setLayout(self.form)
        self.form.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.options_box)
        layout.addWidget(self.string)
        layout.addWidget(self.message)
        self.strip: SampleStrip | None = None
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        if preview:
            self.strip = SampleStrip()
            layout.addWidget(self.strip)
            layout.addWidget(self.status)
        self.loader = Runner("dataset", self)
        self.data: Any = None  # the loaded data of ``source()`` (None until the preview has loaded it)
        self._data_source = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._load)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.where.textEdited.connect(lambda _t: self._form_changed())
        self.generator.currentIndexChanged.connect(lambda _i: self._form_changed())
        self.browse.clicked.connect(self._browse)
        self.string.editingFinished.connect(lambda: self.set_source(self.string.text()))
        self.set_source(DEFAULT)

    # ------------------------------------------------------------------ the string
    def source(self) -> str | None:
        """The dataset string, or None while the form does not make a valid one."""
        try:
            return parse_source(self.string.text()).text
        except DataError:
            return None

    def set_source(self, text: str) -> bool:
        """Fill the form from a dataset string; False (and the reason shown) when it does not parse."""
        try:
            src = parse_source(text)
        except DataError as e:
            self.message.setText(str(e))
            return False
        base = KINDS[src.kind].defaults()
        self._fill(src.kind, src.where, {k: v for k, v in src.options.items() if v != base[k]})
        self._form_changed()
        return True

    def _fill(self, kind: str, where: str, values: dict[str, Any]) -> None:
        with QSignalBlocker(self.kind), QSignalBlocker(self.where), QSignalBlocker(self.generator):
            self.kind.setCurrentIndex(self.kind.findData(kind))
            self._build_options(kind)
            if KINDS[kind].choices:
                self.generator.setCurrentText(where)
            else:
                self.where.setText(where)
            for name, value in values.items():
                self.options[name].setText(_text(value))

    def _build_options(self, kind: str) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.options = {}
        base = KINDS[kind].defaults()
        for name, doc in options_help(kind):
            edit = QLineEdit()
            default = _text(base[name])
            edit.setPlaceholderText(default or "default")
            edit.setToolTip(doc + (f" (default {default})" if default else ""))
            edit.textEdited.connect(lambda _t: self._form_changed())
            self.options[name] = edit
            self.form.addRow(name, edit)
        choices = KINDS[kind].choices
        with QSignalBlocker(self.generator):
            self.generator.clear()
            self.generator.addItems(choices)
        self.generator.setVisible(bool(choices))
        self.where.setVisible(not choices)
        self.browse.setVisible(not choices)
        self.where.setPlaceholderText(KINDS[kind].where)

    def _kind_changed(self) -> None:
        self._build_options(self.kind.currentData())
        self._form_changed()

    def _compose(self) -> str:
        kind = self.kind.currentData()
        if KINDS[kind].choices:
            where = self.generator.currentText()
        else:
            where = quote(self.where.text().strip(), safe="/~:.-_ ")
        query = "&".join(f"{name}={quote(edit.text().strip(), safe=',.-x')}" for name, edit in self.options.items()
                         if edit.text().strip())
        return f"{kind}:{where}" + (f"?{query}" if query else "")

    def _form_changed(self) -> None:
        text = self._compose()
        if self.string.text() != text:
            self.string.setText(text)
        try:
            parse_source(text)
        except DataError as e:
            self.message.setText(str(e))
            self.message.show()
            return
        self.message.hide()
        self.changed.emit(text)
        if self.strip is not None and self.isVisible():  # a hidden page loads when it is first shown
            self._timer.start()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.where.text())
        if path:
            self.where.setText(path)
            self._form_changed()

    # ------------------------------------------------------------------ the preview
    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.strip is not None and self.data is None:
            self._timer.start()

    def _load(self) -> None:
        source = self.source()
        if source is None or source == self._data_source:
            return
        self.status.setText(f"loading {source} …")

        def work(_job: Job) -> tuple[str, Any, list[np.ndarray], list[str]]:
            from training import load_data

            data = load_data(source, "cpu")
            pictures, labels = preview_images(data)
            return source, data, pictures, labels

        self.loader.submit(work, self._loaded, self._failed)

    def _loaded(self, result: tuple[str, Any, list[np.ndarray], list[str]]) -> None:
        source, data, pictures, labels = result
        if source != self.source():
            return  # the form moved on while this one loaded
        self.data, self._data_source = data, source
        if self.strip is not None:
            self.strip.show_samples(pictures, labels)
        self.status.setText(data.describe())
        self.status.setToolTip(data.describe())
        self.loaded.emit(data)

    def _failed(self, error: Exception) -> None:
        self.status.setText(f"cannot load: {error}")
        if self.strip is not None:  # no pictures of the dataset chosen before under a source that fails
            self.strip.show_samples([], [])

    def load_now(self) -> None:
        """Load the preview at once (no debounce)."""
        self._timer.stop()
        self._load()

    def data_for(self, source: str) -> Any:
        """The loaded data when it is for ``source`` (else None: the training thread loads it)."""
        return self.data if source == self._data_source else None
