"""The Training tab's augmentation preview: the loaded dataset's first training images as they are and
augmented several times with the form's options, redrawn (off the UI thread) whenever an option changes."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from gui.dataset_chooser import DatasetChooser
from gui.jobs import Job, Runner
from gui.train_form import TrainForm

IMAGES, REPEATS = 6, 7
DELAY_MS = 300  # typing in a field redraws once it pauses


class AugmentView(QWidget):
    """Rows: images; first column: the image as it is; the others: what training sees."""

    def __init__(self, form: TrainForm, chooser: DatasetChooser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form, self.chooser = form, chooser
        self.seed = 0
        self.caption = QLabel("Load a dataset to preview its augmentation.")
        self.caption.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.again = QPushButton("Draw again")
        self.again.setToolTip("new random draws of the same augmentation")
        self.again.clicked.connect(self._redraw_new)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.picture, 1)
        self.runner = Runner("augment-preview", self)
        self.due = QTimer(self)
        self.due.setSingleShot(True)
        self.due.setInterval(DELAY_MS)
        self.due.timeout.connect(self.redraw)
        form.changed.connect(self.due.start)
        chooser.loaded.connect(lambda _data: self.due.start())

    def _redraw_new(self) -> None:
        self.seed += 1
        self.redraw()

    def redraw(self) -> None:
        data, config = self.chooser.data, self.form.config()
        if data is None or config is None:
            self.caption.setText("Load a dataset (and fix the options marked) to preview the augmentation.")
            return
        from training.augment_policies import AugmentSettings

        seed = self.seed
        words = AugmentSettings.of(config).describe() or "no rich augmentation"

        def draw(_job: Job) -> Any:
            from training.augment_preview import crop_and_flip, preview_grid

            crop, flip = crop_and_flip(config, data)
            return preview_grid(data, config, IMAGES, REPEATS, seed), crop, flip

        self.runner.submit(draw, lambda result: self._show(*result, words),
                           lambda e: self.caption.setText(f"preview failed: {e}"))

    def _show(self, grid: Any, crop: int, flip: bool, words: str) -> None:
        h, w, _ = grid.shape
        image = QImage(grid.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        scale = max(1, min(6, 560 // max(h, 1)))
        self.picture.setPixmap(QPixmap.fromImage(image).scaled(w * scale, h * scale))  # nearest: crisp pixels
        self.caption.setText(f"First column: the images as they are; then {REPEATS} draws of what training sees "
                             f"(crop {crop} px, flip {'on' if flip else 'off'}, {words}).")
