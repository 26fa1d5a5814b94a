"""A study's plots, live: optimisation history (best so far), accuracy against a cost with the Pareto front
highlighted, and every trial's learning curve. Items are created once (a curve per trial when it
appears) and fed with ``setData``; clicking a point or a curve picks that trial."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QVBoxLayout, QWidget

from gui.plots import GREY, colour, decade_ticks, make_plot, pen
from gui.widgets import TextPane, labelled
from search.config import OBJECTIVES
from search.records import State, TrialRecord, best_so_far, pareto_front

COSTS = tuple(o for o in OBJECTIVES if o != "accuracy")
FRONT = colour(3)


def front_of(records: list[TrialRecord], cost: str) -> list[TrialRecord]:
    """Complete trials no other beats on both accuracy and ``cost`` (whatever the study's own objectives)."""
    scored = [dataclasses.replace(r, values={"accuracy": r.values["accuracy"], cost: r.figures[cost]})
              for r in records if r.state == State.COMPLETE and r.values and cost in r.figures]
    return pareto_front(scored, ["accuracy", cost])


def _scatter(plot: pg.PlotWidget, c: str, size: float = 8, symbol: str = "o") -> pg.PlotDataItem:
    """Points without a line."""
    return plot.plot([], [], pen=None, symbol=symbol, symbolSize=size, symbolBrush=c, symbolPen=None)


class StudyPlots(QWidget):
    trial_clicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # the titles say what the marks are: a legend would hide points wherever it sat
        self.history = make_plot("History: trials (grey: pruned), best so far", "trial", "validation accuracy",
                                 legend=None, integer_x=True)
        self.pareto = make_plot("Accuracy vs cost: Pareto front ◆ joined", "MACs", "validation accuracy",
                                legend=None)
        self.curves = make_plot("Learning curves", "epoch", "validation accuracy", legend=None, integer_x=True)
        self.cost = QComboBox()
        self.cost.addItems(COSTS)
        self.cost.setToolTip("the cost on the x axis (analysis figures; latency only when measured)")
        self.cost.currentTextChanged.connect(lambda _t: self._draw_pareto())
        self.caption = TextPane(lines=1)  # rewritten on every poll: never re-lays out the page
        self.caption.label.setStyleSheet("color: #555;")

        self.done = _scatter(self.history, colour(0))
        self.pruned = _scatter(self.history, GREY)
        self.best = self.history.plot([], [], pen=pen(colour(1), 2.0))
        self.front_line = self.pareto.plot([], [], pen=pen(FRONT, 1.5))
        self.others = _scatter(self.pareto, GREY)
        self.front = _scatter(self.pareto, FRONT, 11, "d")
        for item in (self.done, self.pruned, self.others, self.front):
            item.sigPointsClicked.connect(self._clicked)
        self.front_numbers: list[int] = []
        self.lines: dict[int, pg.PlotDataItem] = {}
        self.records: list[TrialRecord] = []
        self.selected: int | None = None
        self.pending: list[Callable[[], None]] = []
        self.stagger = QTimer(self)
        self.stagger.setInterval(60)
        self.stagger.timeout.connect(self._draw_next)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.history, 1)
        middle = QVBoxLayout()
        middle.addLayout(labelled("cost", self.cost))
        middle.addWidget(self.pareto, 1)
        row.addLayout(middle, 1)
        row.addWidget(self.curves, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row, 1)
        layout.addWidget(self.caption)

    def set_records(self, records: list[TrialRecord], objectives: list[str]) -> None:
        """New records; the three plots redraw one per timer tick, so no event-loop pass paints them all."""
        if len(objectives) > 1 and self.records == [] and objectives[1] in COSTS:
            self.cost.setCurrentText(objectives[1])
        if records == self.records and records:
            return  # a poll that found nothing new repaints nothing
        self.records = records
        for draw in (self._draw_history, self._draw_pareto, self._draw_curves):
            if draw not in self.pending:
                self.pending.append(draw)
        self.stagger.start()
        states: dict[str, int] = {}
        for r in records:
            states[r.state] = states.get(r.state, 0) + 1
        self.caption.setText(f"{len(records)} trials: " + ", ".join(f"{n} {s}" for s, n in states.items())
                             if records else "no trials yet")

    def clear(self) -> None:
        for line in self.lines.values():
            self.curves.removeItem(line)
        self.lines = {}
        self.records = []
        self.set_records([], ["accuracy"])
        self.flush()

    def _draw_next(self) -> None:
        if self.pending:
            self.pending.pop(0)()
        if not self.pending:
            self.stagger.stop()

    def flush(self) -> None:
        """Draw whatever is still waiting, now."""
        while self.pending:
            self._draw_next()

    def _draw_history(self) -> None:
        done = sorted((r for r in self.records if r.state == State.COMPLETE and r.accuracy is not None),
                      key=lambda r: r.number)
        pruned = [r for r in self.records if r.state == State.PRUNED and r.accuracy is not None]
        self.done.setData([r.number for r in done], [r.accuracy for r in done], data=[r.number for r in done])
        self.pruned.setData([r.number for r in pruned], [r.accuracy for r in pruned], data=[r.number for r in pruned])
        steps = best_so_far(self.records)
        self.best.setData([n for n, _ in steps], [b for _, b in steps])

    def _draw_pareto(self) -> None:
        cost = self.cost.currentText()
        self.pareto.getPlotItem().setLabel("bottom", f"{cost} (log)" + (" ms" if cost == "latency" else ""))
        done = [r for r in self.records if r.state == State.COMPLETE and r.values and cost in r.figures]
        front = sorted(front_of(self.records, cost), key=lambda r: r.figures[cost])
        on = {r.number for r in front}
        rest = [r for r in done if r.number not in on]

        def log(rs: list[TrialRecord]) -> list[float]:  # the x axis is log10(cost), labelled in decades
            return [math.log10(max(r.figures[cost], 1e-9)) for r in rs]

        self.others.setData(log(rest), [r.accuracy for r in rest], data=[r.number for r in rest])
        self.front.setData(log(front), [r.accuracy for r in front], data=[r.number for r in front])
        self.front_line.setData(log(front), [r.accuracy for r in front])
        self.front_numbers = [r.number for r in front]
        xs = log(done)
        if xs:
            decade_ticks(self.pareto, "bottom", min(xs) - 0.3, max(xs) + 0.3)

    def _draw_curves(self) -> None:
        for r in self.records:
            if not r.curve:
                continue
            line = self.lines.get(r.number)
            if line is None:
                line = self.curves.plot([], [], pen=pen(GREY, 1.0))
                line.setCurveClickable(True, width=6)
                line.sigClicked.connect(lambda _item, _ev, n=r.number: self.trial_clicked.emit(n))
                self.lines[r.number] = line
            xs = np.array([row["epoch"] for row in r.curve], dtype=float)
            ys = np.array([np.nan if row.get("val_acc") is None else row["val_acc"] for row in r.curve])
            line.setData(xs, ys, connect="finite")
        self.highlight(self.selected)

    def highlight(self, number: int | None) -> None:
        """The selected trial's curve in colour, on top; the others grey."""
        self.selected = number
        for n, line in self.lines.items():
            on = n == number
            line.setPen(pen(colour(0), 2.5) if on else pen(GREY, 1.0))
            line.setZValue(10 if on else 0)

    def _clicked(self, _item: pg.PlotDataItem, points: list, _ev: object = None) -> None:
        if len(points):
            self.trial_clicked.emit(int(points[0].data()))
