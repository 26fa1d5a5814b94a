"""What the training tab draws: live curves (with other runs overlaid), the validation accuracy of each class,
and what the network learned — filters, feature maps and the effective receptive field beside the theoretical one.

Views only draw what they are handed (records, ``training.snapshot.Snapshot``, the analysis report); nothing
here touches the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from analysis import Report
from analysis.formats import hw
from gui.plots import GREY, ImagePane, Series, colour, make_plot, pen
from gui.widgets import labelled

if TYPE_CHECKING:
    from training.snapshot import Snapshot  # torch: imported when training starts, not with the window

FIELD = QColor(26, 115, 232)
TOP5 = "validation top-5"  # the legend entry of the top-5 curve (there only while the run has top-5)


def percent(v: float | None, missing: str = "-") -> str:
    """An accuracy in [0, 1] as the tab shows it (the runs table, the per-class table)."""
    return missing if v is None else f"{100 * v:.2f} %"


class CurvesPanel(QWidget):
    """Loss, accuracy and learning rate against epochs (fractional between epoch ends). Validation top-5 is drawn
    beside top-1 (dashed) for a run that measures it (more than 5 classes); otherwise its curve and legend entry
    are absent, not a line at zero."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss = make_plot("Loss", "epoch", "cross-entropy")
        self.acc = make_plot("Accuracy", "epoch", "accuracy", legend="bottom")  # accuracy climbs to the top
        self.lr = make_plot("Learning rate", "epoch", "lr", legend=None)
        for plot in (self.loss, self.acc, self.lr):
            layout.addWidget(plot, 1)
        self.acc.getPlotItem().setYRange(0, 1, padding=0.02)
        self.series = {  # the per-step curves can grow long: drawn without antialiasing (far cheaper)
            "step_loss": Series(self.loss, "train (steps)", GREY, 1.0, antialias=False),
            "train_loss": Series(self.loss, "train (epoch)", colour(0), 2.0, symbol="o"),
            "val_loss": Series(self.loss, "validation", colour(1), 2.0, symbol="s"),
            "step_acc": Series(self.acc, "train (steps)", GREY, 1.0, antialias=False),
            "train_acc": Series(self.acc, "train (epoch)", colour(0), 2.0, symbol="o"),
            "val_acc": Series(self.acc, "validation", colour(1), 2.0, symbol="s"),
            "val_top5": Series(self.acc, None, colour(1), 1.5, dashed=True, symbol="t"),  # legend: _show_top5
            "lr": Series(self.lr, None, colour(2), 1.5),
        }
        self.by_plot = [[s for key, s in self.series.items() if key.endswith(suffix)]
                        for suffix in ("loss", ("acc", "top5"), "lr")]
        self.has_top5 = False
        self.series["val_top5"].item.setVisible(False)
        self.turn = 0
        self.overlays: dict[str, list[pg.PlotDataItem]] = {}
        self.steps_per_epoch = 1

    def start(self, steps_per_epoch: int, epochs: int, lr: float) -> None:
        """A new run: the x axes span its epochs and the rate axis its peak from the start, so that a redraw
        repaints curves, not axes (pyqtgraph lays out an axis in Python whenever its range moves)."""
        self.steps_per_epoch = max(1, steps_per_epoch)
        for s in self.series.values():
            s.clear()
        self._show_top5(False)  # until the run's first top-5 value
        for plot in (self.loss, self.acc, self.lr):
            plot.getPlotItem().setXRange(0, epochs, padding=0.02)
        self.lr.getPlotItem().setYRange(0, lr * 1.05, padding=0)
        self.flush()

    def step(self, rec: Any) -> None:
        x = rec.step / self.steps_per_epoch
        self.series["step_loss"].append(x, rec.loss)
        self.series["step_acc"].append(x, rec.acc)
        self.series["lr"].append(x, rec.lr)

    def epoch(self, rec: Any) -> None:
        x = rec.step / self.steps_per_epoch
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            self.series[key].append(x, getattr(rec, key))
        if rec.val_top5 is not None:
            self._show_top5(True)
            self.series["val_top5"].append(x, rec.val_top5)

    def _show_top5(self, on: bool) -> None:
        """Show or hide the top-5 curve with its legend entry (the curve item itself is made once)."""
        if on == self.has_top5:
            return
        item = self.series["val_top5"].item
        legend = self.acc.getPlotItem().legend
        item.setVisible(on)
        if on:
            legend.addItem(item, TOP5)
        else:
            legend.removeItem(item)
        legend.setColumnCount(2 if on else 1)  # four entries in two rows: a short plot does not clip the last
        self.has_top5 = on

    def flush(self) -> None:
        for s in self.series.values():
            s.flush()

    def flush_next(self) -> None:
        """Redraw one plot, the next in turn: one event-loop pass never paints all three (the UI thread
        stays free for input while a run streams records)."""
        for s in self.by_plot[self.turn]:
            s.flush()
        self.turn = (self.turn + 1) % len(self.by_plot)

    def show_history(self, history: Any) -> None:
        """A finished run's curves from its run directory (a run picked in the runs list)."""
        epochs = history.epochs
        per_epoch = max(1, round(epochs[-1]["step"] / max(float(epochs[-1]["epoch"]), 1e-9))) if epochs else 1
        total = max([float(r["epoch"]) for r in epochs] or [1.0])
        lr = max([float(r.get("lr") or 0.0) for r in history.steps] or [0.0])
        self.start(per_epoch, max(1, int(np.ceil(total))), lr or 1e-3)
        def value(row: dict[str, Any], key: str) -> float:  # NaN / Inf were written as null
            return np.nan if row.get(key) is None else float(row[key])

        for row in history.steps:
            x = float(row["step"]) / per_epoch
            for key, name in (("step_loss", "loss"), ("step_acc", "acc"), ("lr", "lr")):
                self.series[key].append(x, value(row, name))
        for row in epochs:
            x = float(row["step"]) / per_epoch
            for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
                self.series[key].append(x, value(row, key))
            if row.get("val_top5") is not None:
                self._show_top5(True)
                self.series["val_top5"].append(x, value(row, "val_top5"))
        self.flush()

    def overlay(self, name: str, epochs: list[dict[str, Any]], index: int, note: str = "") -> None:
        """Another run's validation curves, dashed, per epoch (its history); ``note`` goes into its legend
        (a run on other data says so)."""
        self.remove_overlay(name)
        xs = np.array([float(row["epoch"]) for row in epochs])
        c = colour(index + 3)
        items = []
        label = f"{name} (val{', ' + note if note else ''})"
        for plot, key in ((self.loss, "val_loss"), (self.acc, "val_acc")):
            ys = np.array([np.nan if row.get(key) is None else float(row[key]) for row in epochs])
            items.append(plot.plot(xs, ys, name=label, pen=pen(c, 1.5, dashed=True), symbol="t",
                                   symbolSize=6, symbolBrush=c, symbolPen=None, connect="finite"))
        self.overlays[name] = items

    def remove_overlay(self, name: str) -> None:
        for plot, item in zip((self.loss, self.acc), self.overlays.pop(name, [])):
            plot.getPlotItem().legend.removeItem(item)
            plot.removeItem(item)


class PerClassView(QWidget):
    """The validation accuracy of each class (the share of its images predicted as it) at one epoch of the run
    shown, worst class first, labelled with the run's class names; the epoch follows a live run unless another
    one is chosen."""

    COLUMNS = ("#", "Class", "Validation accuracy")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epoch = QComboBox()
        self.epoch.setToolTip("the epoch whose per-class accuracy is listed")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555;")
        self.classes: list[str] = []
        self.epochs: list[tuple[int, list[float | None]]] = []  # (epoch, accuracy per class), in order
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(labelled("Epoch", self.epoch))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caption)
        self.epoch.currentIndexChanged.connect(lambda _i: self._draw())
        self.start([])

    def start(self, classes: list[str], note: str = "no epoch evaluated yet") -> None:
        """A run begins (or a past one is shown): its class names, no epoch yet."""
        self.classes = list(classes)
        self.epochs = []
        with QSignalBlocker(self.epoch):
            self.epoch.clear()
        self._draw(note)

    def add_epoch(self, epoch: int, accuracy: list[float | None]) -> None:
        """An evaluated epoch; shown at once if the last epoch was shown (a live run is followed)."""
        follow = self.epoch.currentIndex() in (-1, self.epoch.count() - 1)
        self.epochs.append((epoch, list(accuracy)))
        with QSignalBlocker(self.epoch):
            self.epoch.addItem(f"epoch {epoch}", len(self.epochs) - 1)
            if follow:
                self.epoch.setCurrentIndex(self.epoch.count() - 1)
        if follow:
            self._draw()

    def show_history(self, history: Any) -> None:
        """A past run: its class names (config.json) and every epoch's per-class accuracy (history.json)."""
        classes = history.config.get("data", {}).get("classes") or []
        rows = [(int(row["epoch"]), row["per_class_acc"]) for row in history.epochs if row.get("per_class_acc")]
        self.start(classes, "no epoch evaluated" if not history.epochs else
                   f"{history.path.name} did not record per-class accuracy (a run made before it was recorded)")
        for epoch, accuracy in rows:
            self.add_epoch(epoch, accuracy)

    def name(self, i: int) -> str:
        return self.classes[i] if i < len(self.classes) else f"class {i}"

    def rows(self) -> list[tuple[int, str, str]]:
        """What the table shows: (class index, class name, accuracy text), top to bottom."""
        return [(int(self.table.item(r, 0).text()), self.table.item(r, 1).text(), self.table.item(r, 2).text())
                for r in range(self.table.rowCount())]

    def _draw(self, note: str = "") -> None:
        index = self.epoch.currentData()
        if index is None:
            self.table.setRowCount(0)
            self.caption.setText(note)
            return
        epoch, accuracy = self.epochs[index]
        order = sorted(range(len(accuracy)), key=lambda i: (accuracy[i] is None, accuracy[i] or 0.0, i))
        self.table.setRowCount(len(order))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, i in enumerate(order):
            for c, text in enumerate((str(i), self.name(i), percent(accuracy[i], "no image"))):
                item = QTableWidgetItem(text)
                if c != 1:
                    item.setTextAlignment(right)
                self.table.setItem(r, c, item)
        missing = sum(a is None for a in accuracy)
        self.caption.setText(f"epoch {epoch}: {len(accuracy)} classes, worst first"
                             + (f"; {missing} without a validation image" if missing else ""))


def _rect_item(box: pg.ViewBox) -> pg.QtWidgets.QGraphicsRectItem:
    item = pg.QtWidgets.QGraphicsRectItem()
    p = pen(FIELD.name(), 2.0)
    p.setCosmetic(True)
    item.setPen(p)
    box.addItem(item)
    return item


def filter_caption(grid: Any) -> str:
    """What a FilterGrid shows: 'body.0.conv: 16 filters x 3 channels, 5x5 kernels (RGB)'."""
    (n, c), (total_n, total_c) = grid.shown, grid.total
    more = "" if (n, c) == (total_n, total_c) else f" (showing {n} x {c})"
    kind = "RGB, one tile per filter" if grid.rgb else ("a row per filter, a column per channel"
                                                        if grid.cols == c and c > 1 else "one tile per filter")
    return f"{grid.layer}: {total_n} filters x {total_c} channels, {hw(grid.kernel)} kernels{more}; {kind}"


class LearnedPanel(QWidget):
    """First-layer filters, then the chosen layer: its filters, feature maps and receptive fields."""

    layer_chosen = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = ImagePane("First conv layer: filters")
        self.chosen = ImagePane("Chosen layer: filters")
        self.features = ImagePane("Feature maps")
        self.effective = ImagePane("Effective receptive field")
        self.theoretical = ImagePane("Theoretical receptive field")
        self.layer = QComboBox()
        self.layer.setToolTip("the layer whose filters, feature maps and receptive fields are drawn")
        self.layer.setMinimumContentsLength(18)
        self.layer.activated.connect(lambda _i: self.layer_chosen.emit(self.layer.currentData() or ""))
        self.rects = [_rect_item(p.box) for p in (self.effective, self.theoretical)]
        self.report: Report | None = None
        self.last: Snapshot | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(labelled("Layer", self.layer))
        grid = QGridLayout()
        grid.addWidget(self.first, 0, 0)
        grid.addWidget(self.chosen, 0, 1)
        grid.addWidget(self.features, 0, 2)
        grid.addWidget(self.effective, 0, 3)
        grid.addWidget(self.theoretical, 0, 4)
        for col in range(5):
            grid.setColumnStretch(col, 1)
        layout.addLayout(grid, 1)

    def set_report(self, report: Report | None, keep: str = "") -> str:
        """The layers to choose from (spatial ones, as the analysis names them); returns the chosen one."""
        self.report = report
        current = keep or self.layer.currentData() or ""
        with QSignalBlocker(self.layer):
            self.layer.clear()
            records = [r for r in report.layers if len(r.out_shape) == 3] if report else []
            for r in records:
                self.layer.addItem(f"{r.name}  ({r.type}, {'x'.join(map(str, r.out_shape))})", r.name)
            index = self.layer.findData(current)
            if index < 0:  # the deepest convolution: its filters mix earlier features, its field is the largest
                convs = [i for i, r in enumerate(records) if r.type == "conv"]
                index = convs[-1] if convs else self.layer.count() - 1
            self.layer.setCurrentIndex(index)
        return self.layer.currentData() or ""

    def show_visuals(self, v: Snapshot) -> None:
        self.last = v
        if v.first is not None:
            self.first.set_image(v.first.image, filter_caption(v.first))
        else:
            self.first.set_image(None, "the network has no convolution")
        if v.filters is not None:
            self.chosen.set_image(v.filters.image, filter_caption(v.filters))
        else:
            self.chosen.set_image(None, f"{v.layer} is not a convolution: no filters")
        self.chosen.title.setText(f"Filters of {v.layer}" if v.layer else "Chosen layer: filters")
        if v.features is not None:
            self.features.set_image(v.features, f"{v.channels} maps of {v.layer} for validation image {v.sample} "
                                    "(each scaled to its own range)")
        else:
            self.features.set_image(None, "; ".join(v.problems))
        self._show_fields(v)

    def _show_fields(self, v: Snapshot) -> None:
        erf = v.erf
        record = next((r for r in self.report.layers if r.name == v.layer), None) if self.report else None
        if erf is None:
            self.effective.set_image(None, "")
            self.theoretical.set_image(None, "")
            for rect in self.rects:
                rect.setRect(QRectF())
            return
        h, w = erf.map.shape
        self.effective.set_image(v.erf_rgb, self._erf_caption(erf))
        if record is None:
            self.theoretical.set_image(None, f"no analysis record for {v.layer}")
            for rect in self.rects:
                rect.setRect(QRectF())
            return
        cy = record.rf_offset[0] + erf.unit[0] * record.rf_jump[0]
        cx = record.rf_offset[1] + erf.unit[1] * record.rf_jump[1]
        sh, sw = record.rf_size
        field = QRectF(cx - (sw - 1) / 2, cy - (sh - 1) / 2, sw, sh)
        mask = np.full((h, w), 0.12, np.float32)
        top, left = max(0, int(field.top())), max(0, int(field.left()))
        mask[top:max(top, int(np.ceil(field.bottom()))), left:max(left, int(np.ceil(field.right())))] = 0.85
        self.theoretical.set_image(mask, f"{hw(record.rf_size)} px around unit {erf.unit} (analysis; jump "
                                   f"{hw(record.rf_jump)}); the blue box on both")
        for rect in self.rects:
            rect.setRect(field)

    @staticmethod
    def _erf_caption(erf: Any) -> str:
        top, bottom, left, right = erf.support
        if bottom < top:
            return f"no gradient reaches the input from unit {erf.unit} (dead units)"
        return (f"|d unit {erf.unit} / d input| over {erf.images} images; non-zero over "
                f"{bottom - top + 1}x{right - left + 1} px, centre of mass ({erf.centroid[0]:.1f}, "
                f"{erf.centroid[1]:.1f})")
