"""The receptive-field view: a layer's theoretical field for one output unit, drawn over a sample
input with the grid of unit centres (the jump). Sliders or a click on the picture move the unit.

Every number comes from the analysis record of the layer (rf_size, rf_jump, rf_offset); the view
only converts analysis coordinates (pixel i centred at i) to scene coordinates (pixel i spans [i, i+1)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PyQt6.QtWidgets import (
    QComboBox,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from analysis import LayerRecord
from analysis.formats import hw
from gui.evaluation import Evaluation
from gui.sample_image import shapes_image
from gui.session import Hub
from gui.widgets import TextPane

FIELD = QColor(26, 115, 232)


def to_qimage(rgb: np.ndarray) -> QImage:
    h, w, _ = rgb.shape
    return QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def unit_centre(record: LayerRecord, row: int, col: int) -> tuple[float, float]:
    """Centre of output unit (row, col) in input pixel coordinates (analysis convention)."""
    return (record.rf_offset[0] + row * record.rf_jump[0], record.rf_offset[1] + col * record.rf_jump[1])


class FieldCanvas(QGraphicsView):
    clicked = pyqtSignal(QPointF)  # scene position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QBrush(QColor("#d0d3d8")))

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self.clicked.emit(self.mapToScene(event.position().toPoint()))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)


class ReceptiveFieldView(QWidget):
    def __init__(self, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        self.layer = QComboBox()
        self.layer.setToolTip("layers with a spatial output (after global pooling every unit sees the whole input)")
        top.addWidget(self.layer, 1)
        self.load = QPushButton("Image…")
        self.load.setToolTip("draw over a picture of your own instead of the synthetic one")
        top.addWidget(self.load)
        layout.addLayout(top)
        self.canvas = FieldCanvas()
        layout.addWidget(self.canvas, 1)
        grid = QGridLayout()
        self.rows, self.cols = QSlider(Qt.Orientation.Horizontal), QSlider(Qt.Orientation.Horizontal)
        self.row_label, self.col_label = QLabel(), QLabel()
        for r, (name, slider, label) in enumerate((("row", self.rows, self.row_label),
                                                   ("column", self.cols, self.col_label))):
            grid.addWidget(QLabel(name), r, 0)
            grid.addWidget(slider, r, 1)
            grid.addWidget(label, r, 2)
            slider.valueChanged.connect(self._draw)
        layout.addLayout(grid)
        self.info = TextPane(lines=2)
        layout.addWidget(self.info)

        scene = self.canvas.scene()
        self.pixmap = QGraphicsPixmapItem()
        self.pixmap.setTransformationMode(Qt.TransformationMode.FastTransformation)
        scene.addItem(self.pixmap)
        self.grid_item = scene.addPath(QPainterPath(), self._pen(QColor(255, 255, 255, 150), 1.0))
        fill = QColor(FIELD)
        fill.setAlpha(50)
        self.rect_item = scene.addRect(QRectF(), self._pen(FIELD, 2.0), QBrush(fill))
        self.centre_item = scene.addPath(QPainterPath(), self._pen(QColor("#c5221f"), 2.0))
        self.records: dict[str, LayerRecord] = {}
        self._items: list[str] = []
        self._image_key: tuple[int, ...] | None = None
        self._custom: QImage | None = None
        self._on_screen = True
        self._pending: Evaluation | None = None  # arrived while off screen: drawn when the tab is raised
        self._follow = False  # the selection moved while off screen
        self.layer.currentIndexChanged.connect(self._layer_changed)
        self.canvas.clicked.connect(self._clicked)
        self.load.clicked.connect(self._pick_image)
        hub.evaluated.connect(self.show_evaluation)
        hub.selected.connect(self.show_block)

    @staticmethod
    def _pen(colour: QColor, width: float) -> QPen:
        pen = QPen(colour, width)
        pen.setCosmetic(True)  # the same width at every zoom
        return pen

    # ------------------------------------------------------------------ data
    def set_on_screen(self, on: bool) -> None:
        """Told by the dock: a tab behind another stays isVisible() but is not on screen. Off screen the
        view only keeps the latest evaluation: its layer list and drawing cost the designer ~2 ms an edit of
        a 100-block network for nothing seen."""
        self._on_screen = on
        if on:
            self.catch_up()

    def catch_up(self) -> None:
        """Draw what arrived while off screen."""
        ev, self._pending = self._pending, None
        if ev is not None:
            self._show(ev)
        if self._follow:
            self._follow = False
            self.show_block(self.hub.selection)

    def show_evaluation(self, ev: Evaluation) -> None:
        if self._on_screen:
            self._show(ev)
        else:
            self._pending = ev

    def _show(self, ev: Evaluation) -> None:
        rep = ev.shown
        records = {r.name: r for r in rep.layers if len(r.out_shape) == 3 and not r.rf_whole_input} if rep else {}
        items = [f"{name}  ({r.type}, {'x'.join(map(str, r.out_shape))})" for name, r in records.items()]
        self.records = records
        if items != self._items:  # the list only changes when layers or their shapes do
            self._items = items
            current = self.layer.currentData()
            with QSignalBlocker(self.layer):
                self.layer.clear()
                for name, text in zip(records, items):
                    self.layer.addItem(text, name)
                index = self.layer.findData(current)
                self.layer.setCurrentIndex(index if index >= 0 else self.layer.count() - 1)
        self._set_image(ev)
        self._layer_changed()

    def _set_image(self, ev: Evaluation) -> None:
        c, h, w = ev.spec.input
        key = (c, h, w)
        if key == self._image_key:
            return
        self._image_key = key
        if self._custom is not None:
            image = self._custom.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
        else:
            image = to_qimage(shapes_image(h, w, c))
        self.pixmap.setPixmap(QPixmap.fromImage(image))

    def show_block(self, path: str) -> None:
        """Follow the selection: the block's last spatial layer."""
        if not self._on_screen:
            self._follow = True
            return
        names = [n for n, r in self.records.items() if r.block == path or r.block.startswith(path + "[")]
        if names:
            self.set_layer(names[-1])

    def set_layer(self, name: str) -> None:
        self.catch_up()
        index = self.layer.findData(name)
        if index >= 0:
            self.layer.setCurrentIndex(index)

    def record(self) -> LayerRecord | None:
        return self.records.get(self.layer.currentData())

    def _layer_changed(self, *_: Any) -> None:
        r = self.record()
        for slider, size in ((self.rows, r.out_shape[1] if r else 1), (self.cols, r.out_shape[2] if r else 1)):
            with QSignalBlocker(slider):
                slider.setRange(0, size - 1)
                slider.setValue((size - 1) // 2)
        self._draw_grid()
        self._draw()

    # --------------------------------------------------------------- drawing
    def _draw_grid(self) -> None:
        r = self.record()
        path = QPainterPath()
        if r is not None:
            _, h, w = self._image_key or (0, 0, 0)
            for row in range(r.out_shape[1]):
                y = unit_centre(r, row, 0)[0] + 0.5
                if 0 <= y <= h:
                    path.moveTo(0, y)
                    path.lineTo(w, y)
            for col in range(r.out_shape[2]):
                x = unit_centre(r, 0, col)[1] + 0.5
                if 0 <= x <= w:
                    path.moveTo(x, 0)
                    path.lineTo(x, h)
        self.grid_item.setPath(path)

    def field_rect(self) -> QRectF:
        """The drawn field of the chosen unit in scene coordinates (width = rf_size[1])."""
        return self.rect_item.rect()

    def _draw(self, *_: Any) -> None:
        r = self.record()
        self.row_label.setText(str(self.rows.value()))
        self.col_label.setText(str(self.cols.value()))
        if r is None:
            self.rect_item.setRect(QRectF())
            self.centre_item.setPath(QPainterPath())
            self.info.setText("No spatial layer to show." if not self.records else "")
            return
        cy, cx = unit_centre(r, self.rows.value(), self.cols.value())
        sh, sw = r.rf_size
        self.rect_item.setRect(QRectF(cx - (sw - 1) / 2, cy - (sh - 1) / 2, sw, sh))
        cross = QPainterPath()
        arm = max(1.0, min(sh, sw) / 12)
        cross.moveTo(cx + 0.5 - arm, cy + 0.5)
        cross.lineTo(cx + 0.5 + arm, cy + 0.5)
        cross.moveTo(cx + 0.5, cy + 0.5 - arm)
        cross.lineTo(cx + 0.5, cy + 0.5 + arm)
        self.centre_item.setPath(cross)
        image = self.pixmap.boundingRect()
        self.canvas.setSceneRect(image.united(self.rect_item.rect()).adjusted(-4, -4, 4, 4))
        self.canvas.fit()
        self.info.setText(f"<tt>{r.name}</tt> unit ({self.rows.value()}, {self.cols.value()}): field "
                          f"{hw(r.rf_size)} px centred at ({cy:g}, {cx:g}), jump {hw(r.rf_jump)} px; "
                          f"{r.out_shape[1]}x{r.out_shape[2]} units.")

    def _clicked(self, pos: QPointF) -> None:
        """Pick the output unit whose centre is nearest to the click."""
        r = self.record()
        if r is None:
            return
        row = round((pos.y() - 0.5 - r.rf_offset[0]) / r.rf_jump[0])
        col = round((pos.x() - 0.5 - r.rf_offset[1]) / r.rf_jump[1])
        self.rows.setValue(max(0, min(row, r.out_shape[1] - 1)))
        self.cols.setValue(max(0, min(col, r.out_shape[2] - 1)))

    # ----------------------------------------------------------------- image
    def _pick_image(self) -> None:
        dialogs = getattr(self.window(), "dialogs", None)
        if dialogs is None:
            return
        path = dialogs.open_path(self, "Sample image", "Images (*.png *.jpg *.jpeg *.bmp)")
        if path and not self.use_image(path):
            dialogs.error(self, "Cannot use this image", f"{path}: not an image Qt can read")

    def use_image(self, path: str) -> bool:
        image = QImage(path)
        if image.isNull():
            return False
        self._use(image.convertToFormat(QImage.Format.Format_RGB888))
        return True

    def use_array(self, rgb: np.ndarray) -> None:
        """Draw over an (H, W, 3) uint8 picture: a sample of the dataset chosen in the training tab."""
        self._use(to_qimage(rgb))

    def _use(self, image: QImage) -> None:
        self._custom = image
        self._image_key = None
        if self.hub.evaluation is not None:
            self._set_image(self.hub.evaluation)
            self._draw()
