"""pyqtgraph building blocks shared by the training, search and compare tabs.

Curves are created once and fed with ``setData`` (``Series`` keeps a growing buffer and redraws only
when asked, so a timer can batch many records into one redraw); long curves are downsampled and clipped
to the view by pyqtgraph. Images (filters, feature maps, effective receptive fields, confusion matrices)
are ImageItems in aspect-locked views.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QPixmap
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from analysis.formats import count
from analysis.svg import PALETTE
from gui.widgets import TextPane

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
GREY = "#b8b8b8"
BACKGROUND = "w"
FOREGROUND = "#333333"


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


LEGEND_OFFSETS = {"top": (-8, 8), "bottom": (-8, -8), "top-left": (8, 8)}
EMPTY = "no data yet"


class IntegerAxis(pg.AxisItem):
    """An axis of counts (trials, blocks, whole epochs): ticks only at integers, never 0.5 or 1.5."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802, N803 (pyqtgraph API)
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        levels = [(spacing, values) for spacing, values in levels if values]
        if not levels and maxVal - minVal < 1e6:
            levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        return levels


class Plot(pg.PlotItem):
    """A plot that says so while it has nothing to draw (a placeholder instead of meaningless axes) and
    marks a curve of a single point (a line through one point draws nothing)."""

    def __init__(self, placeholder: str = EMPTY, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.placeholder = pg.QtWidgets.QGraphicsSimpleTextItem(placeholder, self.vb)
        self.placeholder.setBrush(pg.mkBrush("#8a8f98"))
        self.vb.sigResized.connect(lambda _vb: self._centre())
        self.empty: bool | None = None
        self.refresh()

    def _centre(self) -> None:
        r, t = self.vb.rect(), self.placeholder.boundingRect()
        self.placeholder.setPos(r.center().x() - t.width() / 2, r.center().y() - t.height() / 2)

    def addItem(self, item: object, *args: object, **kwargs: object) -> None:  # noqa: N802 (pyqtgraph API)
        super().addItem(item, *args, **kwargs)
        if isinstance(item, pg.PlotDataItem):
            item.sigPlotChanged.connect(self.refresh)
        self.refresh()

    def removeItem(self, item: object) -> None:  # noqa: N802
        super().removeItem(item)
        self.refresh()

    def clear(self) -> None:
        super().clear()
        self.refresh()

    def refresh(self, *_: object) -> None:
        curves = [i for i in self.items if isinstance(i, pg.PlotDataItem)]
        counts = [_finite_points(c) for c in curves]
        for curve, n in zip(curves, counts):
            single = n == 1 and curve.opts.get("pen") is not None
            if curve.opts.get("symbol") is None and single:
                curve.setSymbol("o")
                curve.setSymbolSize(7)
                curve.setSymbolBrush(curve.opts["pen"].color() if hasattr(curve.opts["pen"], "color") else None)
                curve.setSymbolPen(None)
                curve.single = True
            elif getattr(curve, "single", False) and n != 1:
                curve.setSymbol(None)
                curve.single = False
        empty = not any(counts) and not any(isinstance(i, pg.ImageItem) and i.image is not None for i in self.items)
        if empty != self.empty:
            self.empty = empty
            self.placeholder.setVisible(empty)
            for side in ("bottom", "left"):
                self.getAxis(side).setStyle(showValues=not empty)
            self._centre()


def _finite_points(curve: pg.PlotDataItem) -> int:
    xs, ys = curve.getData()
    if xs is None or ys is None or not len(xs):
        return 0
    return int(np.count_nonzero(np.isfinite(np.asarray(ys, dtype=float))))


def make_plot(title: str, bottom: str, left: str, legend: str | None = "top", integer_x: bool = False,
              placeholder: str = EMPTY) -> pg.PlotWidget:
    """A white plot with a grid, axis labels and a legend in a corner (``LEGEND_OFFSETS``) or none.

    The legend has no background (it never hides a curve behind it); ``integer_x`` ticks the x axis at
    integers only (trials, blocks); ``placeholder`` is shown while there is nothing to draw.
    """
    axes = {"bottom": IntegerAxis("bottom")} if integer_x else None
    plot = pg.PlotWidget(background=BACKGROUND, plotItem=Plot(placeholder, axisItems=axes))
    item = plot.getPlotItem()
    item.setTitle(title, color=FOREGROUND, size="10pt")
    for side, text in (("bottom", bottom), ("left", left)):
        axis = item.getAxis(side)
        axis.setPen(FOREGROUND)
        axis.setTextPen(FOREGROUND)
        axis.enableAutoSIPrefix(False)  # accuracies stay 0.35, not "350 (x0.001)"
        item.setLabel(side, text, color=FOREGROUND)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    if legend:
        legend_item = item.addLegend(offset=LEGEND_OFFSETS[legend], labelTextColor=FOREGROUND, brush=None,
                                     pen=None)
        legend_item.setLabelTextSize("8pt")
    plot.setMinimumSize(200, 150)
    return plot


def pen(c: str, width: float = 1.5, dashed: bool = False) -> pg.QtGui.QPen:
    p = pg.mkPen(c, width=width)
    if dashed:
        p.setStyle(Qt.PenStyle.DashLine)
    return p


def decade_ticks(plot: pg.PlotWidget, side: str, lo: float, hi: float) -> None:
    """Label a log10-valued axis in words (1k, 10k, 1M) at powers of ten, and at 2x and 5x when the axis
    spans less than two decades (so a narrow range still has labels)."""
    steps = (1, 2, 5) if hi - lo < 2 else (1,)
    ticks = [(math.log10(m * 10.0 ** k), count(m * 10.0 ** k))
             for k in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in steps]
    plot.getPlotItem().getAxis(side).setTicks([[t for t in ticks if lo <= t[0] <= hi], []])


class Series:
    """One curve with an appendable buffer; ``flush`` hands the new points to pyqtgraph once."""

    def __init__(self, plot: pg.PlotWidget, name: str | None, c: str, width: float = 1.5, dashed: bool = False,
                 symbol: str | None = None, antialias: bool = True) -> None:
        self.item = plot.plot([], [], name=name, pen=pen(c, width, dashed), symbol=symbol, symbolSize=6,
                              symbolBrush=c, symbolPen=None, antialias=antialias)
        self.x = np.empty(256)
        self.y = np.empty(256)
        self.n = 0
        self.dirty = False

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1
        self.dirty = True

    def set(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.x = np.asarray(xs, dtype=float)
        self.y = np.asarray(ys, dtype=float)
        self.n = len(self.x)
        self.dirty = True

    def clear(self) -> None:
        self.n = 0
        self.dirty = True

    def flush(self) -> None:
        if self.dirty:
            self.item.setData(self.x[:self.n], self.y[:self.n], connect="finite")
            self.dirty = False

    def points(self) -> int:
        """Points the curve item holds (what is drawn), for tests."""
        xs, _ = self.item.getOriginalDataset()
        return 0 if xs is None else len(xs)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A [0, 1] float image (or uint8 already) as uint8."""
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)


class ImagePane(QWidget):
    """A title above an image that keeps its aspect and scales with the pane (crisp, nearest)."""

    def __init__(self, title: str, axes: tuple[str, str] | None = None, parent: QWidget | None = None) -> None:
        """``axes``: (bottom, left) axis titles, for images whose rows and columns mean something."""
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self.title = QLabel(title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BACKGROUND)
        self.plot: pg.PlotItem | None = None
        if axes is None:
            self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMouse=True)
        else:
            self.plot = Plot(EMPTY)
            self.view.addItem(self.plot)
            for side, text in zip(("bottom", "left"), axes):
                axis = self.plot.getAxis(side)
                axis.setPen(FOREGROUND)
                axis.setTextPen(FOREGROUND)
                axis.enableAutoSIPrefix(False)  # an empty axis is not "x0.001"
                self.plot.setLabel(side, text, color=FOREGROUND)
            self.box = self.plot.getViewBox()
            self.box.setAspectLocked(True)
            self.box.invertY(True)
        self.box.setMenuEnabled(False)
        self.image = pg.ImageItem()
        (self.plot or self.box).addItem(self.image)
        self.caption = TextPane(lines=4)  # new text never re-lays out the page (it changes with every update)
        self.caption.label.setStyleSheet("color: #555;")
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self.shape: tuple[int, ...] = ()

    def set_image(self, image: np.ndarray | None, caption: str = "", levels: tuple[float, float] | None = None,
                  lut: np.ndarray | None = None) -> None:
        """Show an (H, W) or (H, W, 3) image; None clears it and shows only the caption."""
        if image is None:
            self.image.clear()
            self.shape = ()
        else:
            data = to_uint8(image) if levels is None else image
            self.image.setImage(data, levels=levels or (0, 255), lut=lut, autoLevels=False)
            if data.shape != self.shape:
                self.shape = data.shape
                self.box.setRange(QRectF(0, 0, data.shape[1], data.shape[0]), padding=0.02)
        if self.plot is not None:
            self.plot.refresh()  # the placeholder and bare axes until there is an image
        self.caption.setText(caption)

    def has_image(self) -> bool:
        return self.image.image is not None and bool(self.shape)


def qpixmap(image: np.ndarray, side: int) -> QPixmap:
    """An (H, W) or (H, W, 3) image as a pixmap whose larger side is about ``side`` (nearest scaling)."""
    data = to_uint8(image)
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    data = np.ascontiguousarray(data)
    h, w, _ = data.shape
    qimage = QImage(data.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    scale = max(1, side // max(h, w))
    return QPixmap.fromImage(qimage.scaled(w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation))


def blues(n: int = 256) -> np.ndarray:
    """A white -> blue lookup table (confusion matrices)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    lo, hi = np.array([255, 255, 255]), np.array(QColor(PALETTE[0]).getRgb()[:3])
    return (lo + (hi - lo) * t).round().astype(np.uint8)


class ConfusionView(ImagePane):
    """Rows: true class, columns: predicted class; counts written in each cell when there are few classes."""

    MAX_LABELLED = 12
    cell_clicked = pyqtSignal(int, int)  # (true class, predicted class) of a clicked cell

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Confusion matrix (validation)", ("predicted", "true class"), parent)
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.labels: list[pg.TextItem] = []
        self.matrix: np.ndarray | None = None
        self.lut = blues()
        self.font = QFont()
        self.font.setPointSizeF(7.5)

    def _clicked(self, event: object) -> None:
        if self.matrix is None:
            return
        at = self.image.mapFromScene(event.scenePos())  # type: ignore[attr-defined]
        row, col = math.floor(at.y()), math.floor(at.x())
        if 0 <= row < len(self.matrix) and 0 <= col < len(self.matrix):
            self.cell_clicked.emit(row, col)

    def set_matrix(self, matrix: Sequence[Sequence[int]], classes: Sequence[str], epoch: int) -> None:
        m = np.asarray(matrix, dtype=np.int64)
        self.matrix = m
        k = len(m)
        rows = m.sum(1, keepdims=True).clip(min=1)
        share = m / rows  # each true class scaled to its own count
        self.set_image(share.astype(np.float32), f"epoch {epoch}: rows true class, columns predicted; "
                       f"accuracy {np.trace(m) / max(m.sum(), 1):.1%}", levels=(0.0, 1.0), lut=self.lut)
        if len(self.labels) != (k * k if k <= self.MAX_LABELLED else 0):
            for item in self.labels:
                self.box.removeItem(item)
            self.labels = []
            if k <= self.MAX_LABELLED:
                for i in range(k * k):
                    item = pg.TextItem(anchor=(0.5, 0.5))
                    item.setFont(self.font)
                    item.setPos(i % k + 0.5, i // k + 0.5)
                    self.box.addItem(item)
                    self.labels.append(item)
        for i, item in enumerate(self.labels):
            r, c = divmod(i, k)
            item.setText(str(m[r, c]), color="w" if share[r, c] > 0.55 else FOREGROUND)
        if self.plot is not None and k <= self.MAX_LABELLED:  # class names down the side, their numbers below
            short = [name if len(name) <= 10 else name[:9] + "…" for name in classes]
            side = [name if name == str(i) else f"{name} {i}" for i, name in enumerate(short)]  # MNIST: "7", not "7 7"
            self.plot.getAxis("left").setTicks([[(i + 0.5, text) for i, text in enumerate(side)], []])
            self.plot.getAxis("bottom").setTicks([[(i + 0.5, str(i)) for i in range(k)], []])
        self.view.setToolTip("classes: " + ", ".join(f"{i}={name}" for i, name in enumerate(classes)))
