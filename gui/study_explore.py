"""optuna-dashboard's study views inside the Search page: parameter importances, parallel coordinates,
slices, a contour over two parameters and intermediate values. The numbers come from search.explore (the
report draws the same ones); the trial selected in the trials table is drawn orange in every view, and
clicking a point selects its trial. Duplicates are hollow circles (slices) and dashed lines (parallel)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from gui.plots import GREY, colour, make_plot, pen
from search import explore
from search.records import State, StudyView, TrialRecord

SELECTED = colour(1)
DUPLICATE = colour(0)


def _shade(t: float) -> tuple[int, int, int]:
    t = max(0.0, min(1.0, t))
    lo, hi = (198, 219, 239), (8, 48, 107)
    return tuple(round(a + (b - a) * t) for a, b in zip(lo, hi))  # type: ignore[return-value]


def _norm(v: float, lo: float, hi: float) -> float:
    return 0.5 if hi <= lo else (v - lo) / (hi - lo)


class StudyExplore(QTabWidget):
    trial_clicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: StudyView | None = None
        self.selected: int | None = None
        self._imp_key: tuple = ()
        self.imp: dict[str, float] = {}
        self.importance = make_plot("Parameter importances (Optuna PED-ANOVA, accuracy)", "parameter",
                                    "importance", legend=None)
        self.parallel = make_plot("Parallel coordinates: one line per trained trial", "", "position on axis",
                                  legend=None)
        self.slice = make_plot("Slice: accuracy against a parameter (hollow: duplicate)", "", "validation accuracy",
                               legend=None)
        self.contour = make_plot("Contour: interpolated accuracy (dark: low, yellow: high), trials as dots", "", "",
                                 legend=None)
        self.intermediate = make_plot("Intermediate values (grey: pruned)", "epoch", "validation accuracy",
                                      legend=None, integer_x=True)
        self.slice_param, self.cx, self.cy = QComboBox(), QComboBox(), QComboBox()
        for combo in (self.slice_param, self.cx, self.cy):
            combo.currentTextChanged.connect(lambda _t: self.redraw())
        self.addTab(self.importance, "Importances")
        self.addTab(self.parallel, "Parallel")
        self.addTab(self._with(self.slice, QLabel("parameter"), self.slice_param), "Slice")
        self.addTab(self._with(self.contour, QLabel("x"), self.cx, QLabel("y"), self.cy), "Contour")
        self.addTab(self.intermediate, "Intermediate")
        self.currentChanged.connect(lambda _i: self.redraw())
        self.bars = self.importance.plot([], [], stepMode="center", fillLevel=0, brush=colour(0), pen=None)
        self.slice_points = self.slice.plot([], [], pen=None, symbol="o")
        self.slice_points.sigPointsClicked.connect(self._clicked)
        self.contour_image = pg.ImageItem()
        self.contour.addItem(self.contour_image)
        self.contour_points = self.contour.plot([], [], pen=None, symbol="o")
        self.contour_points.setZValue(5)
        self.contour_points.sigPointsClicked.connect(self._clicked)

    @staticmethod
    def _with(plot: pg.PlotWidget, *controls: QWidget) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        for c in controls:
            row.addWidget(c)
        row.addStretch(1)
        v.addLayout(row)
        v.addWidget(plot, 1)
        return page

    # ------------------------------------------------------------------ data
    def set_view(self, view: StudyView) -> None:
        self.view = view
        names = [a.name for a in explore.axes(view)]
        for combo, default in ((self.slice_param, 0), (self.cx, 0), (self.cy, 1)):
            if [combo.itemText(i) for i in range(combo.count())] != names:
                keep = combo.currentText()
                with QSignalBlocker(combo):
                    combo.clear()
                    combo.addItems(names)
                    combo.setCurrentIndex(names.index(keep) if keep in names else min(default, len(names) - 1))
        key = tuple(t.number for t in explore.importance_trials(view))
        if key != self._imp_key:  # importances only change when a trial completes
            self._imp_key, self.imp = key, explore.importances(view)
        self.redraw()

    def highlight(self, number: int | None) -> None:
        self.selected = number
        self.redraw()

    def _clicked(self, _item: object, points: list, *_event: object) -> None:
        if len(points):
            self.trial_clicked.emit(int(points[0].data()))

    # ------------------------------------------------------------------ drawing (the visible view only)
    def redraw(self) -> None:
        if self.view is None:
            return
        page = self.currentIndex()
        (self._importances, self._parallel, self._slice, self._contour, self._intermediate)[page]()

    def _importances(self) -> None:
        items = list(self.imp.items())
        edges = np.arange(len(items) + 1) - 0.5
        self.bars.setData(edges if items else [], [v for _, v in items])
        self.importance.getPlotItem().getAxis("bottom").setTicks([[(i, k) for i, (k, _) in enumerate(items)]])

    def _records(self) -> list[TrialRecord]:
        return explore.points(self.view.records) if self.view else []

    def _parallel(self) -> None:
        plot = self.parallel.getPlotItem()
        plot.clear()
        axes = explore.axes(self.view)
        recs = self._records()
        if not recs:
            return
        accs = [r.accuracy for r in recs]
        lo, hi = min(accs), max(accs)
        for r in sorted(recs, key=lambda r: (r.number == self.selected, r.accuracy)):
            xs, ys = [], []
            for i, ax in enumerate(axes):
                p = ax.position(r.params.get(ax.name)) if ax.name in r.params else None
                if p is not None:
                    xs.append(i)
                    ys.append(p)
            xs.append(len(axes))
            ys.append(_norm(r.accuracy, lo, hi))
            on = r.number == self.selected
            c = SELECTED if on else GREY if r.state == State.PRUNED else _shade(_norm(r.accuracy, lo, hi))
            style = Qt.PenStyle.DashLine if r.state == State.DUPLICATE else Qt.PenStyle.SolidLine
            line = plot.plot(xs, ys, pen=pg.mkPen(c, width=3 if on else 1.2, style=style))
            line.setZValue(10 if on else 0)
        ticks = [(i, ax.name) for i, ax in enumerate(axes)] + [(len(axes), "accuracy")]
        plot.getAxis("bottom").setTicks([ticks])
        plot.setXRange(-0.4, len(axes) + 0.4, padding=0)

    def _slice(self) -> None:
        name = self.slice_param.currentText()
        ax = next((a for a in explore.axes(self.view) if a.name == name), None)
        spots = []
        if ax is not None:
            for r in self._records():
                p = ax.position(r.params.get(name)) if name in r.params else None
                if p is not None:
                    spots.append((p, r))
            labels = ax.categories if ax.categories is not None else [ax.low, ax.high]
            self.slice.getPlotItem().getAxis("bottom").setTicks(
                [[(ax.position(v), ax.label(v)) for v in labels if ax.position(v) is not None]])
            self.slice.getPlotItem().setLabel("bottom", name)
        spots.sort(key=lambda s: s[1].number == self.selected)  # the selected one drawn last, on top

        def brush(r: TrialRecord) -> object:
            if r.number == self.selected:
                return pg.mkBrush(SELECTED)
            if r.state == State.DUPLICATE:
                return pg.mkBrush(0, 0, 0, 0)
            return pg.mkBrush(GREY if r.state == State.PRUNED else colour(0))

        self.slice_points.setData(
            [p for p, _ in spots], [r.accuracy for _, r in spots], data=[r.number for _, r in spots],
            symbolBrush=[brush(r) for _, r in spots],
            symbolSize=[13 if r.number == self.selected else 9 for _, r in spots],
            symbolPen=[pen(DUPLICATE, 1.5) if r.state == State.DUPLICATE else pg.mkPen(None) for _, r in spots])

    def _contour(self) -> None:
        axes = {a.name: a for a in explore.axes(self.view)}
        x, y = axes.get(self.cx.currentText()), axes.get(self.cy.currentText())
        c = explore.contour(self.view, x, y) if x and y and x is not y else None
        if c is None:
            self.contour_image.clear()
            self.contour_points.setData([], [])
            self.contour.getPlotItem().refresh()
            return
        grid = np.array(c.grid).T  # ImageItem: first index is x
        self.contour_image.setImage(grid, levels=(grid.min(), max(grid.max(), grid.min() + 1e-6)))
        self.contour_image.setColorMap(pg.colormap.get("viridis"))
        half = 0.5 / (len(c.grid) - 1)
        self.contour_image.setRect(-half, -half, 1 + 2 * half, 1 + 2 * half)
        dots = sorted(c.dots, key=lambda d: d[2].number == self.selected)
        self.contour_points.setData(
            [px for px, _, _ in dots], [py for _, py, _ in dots], data=[r.number for _, _, r in dots],
            symbolBrush=[pg.mkBrush(SELECTED if r.number == self.selected else "w") for _, _, r in dots],
            symbolSize=[14 if r.number == self.selected else 8 for _, _, r in dots], symbolPen=pg.mkPen("k"))
        self.contour.getPlotItem().refresh()
        for side, ax in (("bottom", c.x), ("left", c.y)):
            labels = ax.categories if ax.categories is not None else [ax.low, ax.high]
            self.contour.getPlotItem().getAxis(side).setTicks(
                [[(ax.position(v), ax.label(v)) for v in labels if ax.position(v) is not None]])
            self.contour.getPlotItem().setLabel(side, ax.name)

    def _intermediate(self) -> None:
        plot = self.intermediate.getPlotItem()
        plot.clear()
        for r, series in sorted(explore.intermediate(self.view.records), key=lambda x: x[0].number == self.selected):
            on = r.number == self.selected
            c = SELECTED if on else GREY if r.state == State.PRUNED else colour(0)
            line = plot.plot([e for e, _ in series], [a for _, a in series], pen=pen(c, 3 if on else 1))
            line.setZValue(10 if on else 0)
