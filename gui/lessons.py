"""Lessons as one-click comparisons: a "Lessons" menu whose entries apply to the selected block; each puts
both networks of ``analysis.lessons`` on the Compare page and shows, beside them, the formulas with the
block's numbers, the ratio the formula predicts and the one measured, and (plain vs residual) the gradient
norm per layer at initialisation (``training.gradients``, computed off the UI thread)."""

from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
from PyQt6.QtWidgets import QLabel, QMenu, QVBoxLayout, QWidget

from analysis import lessons
from arch.errors import ConvSmithError
from gui.compare_model import Network
from gui.plots import make_plot


class LessonPanel(QWidget):
    """The lesson shown on the Compare page: formulas, ratio and (residual) the gradient plot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(380)
        self.setMaximumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(self.text.textFormat().RichText)
        layout.addWidget(self.text)
        self.plot = make_plot("Gradient norm per layer at initialisation (one batch)",
                              "conv / linear layer of both networks (input → output)",
                              "‖∂L/∂W‖ (log)", legend="top")
        self.plot.getPlotItem().setLogMode(y=True)
        self.plot.setMinimumHeight(260)
        layout.addWidget(self.plot, 1)
        self.plot.hide()
        self.lesson: lessons.Lesson | None = None
        self.norms: dict[str, list[tuple[str, float]]] = {}

    def show_lesson(self, lesson: lessons.Lesson) -> None:
        self.lesson = lesson
        items = "".join(f"<li>{html.escape(f)}</li>" for f in lesson.formulas)
        self.text.setText(
            f"<h3>{html.escape(lesson.title)}</h3><p>a: <b>{html.escape(lesson.a.name)}</b> &nbsp; "
            f"b: <b>{html.escape(lesson.b.name)}</b></p><ul>{items}</ul>"
            f"<p>ratio b / a: <code>{html.escape(lesson.ratio_formula)}</code> = <b>{lesson.predicted:.4g}</b>"
            f"<br>measured ({html.escape(lesson.measured_what)}): <b>{lesson.measured:.4g}</b></p>")
        self.plot.setVisible(lesson.key == "residual")
        self.plot.clear()
        self.norms = {}

    def show_norms(self, norms: dict[str, list[tuple[str, float]]]) -> None:
        """Draw one curve per network; the first conv's norm over the last layer's for each, in the text."""
        self.norms = norms
        self.plot.clear()
        colours = ("#d04040", "#2060c0")
        lines = []
        shared = set.intersection(*(set(name for name, _ in values) for values in norms.values()))
        for colour, (label, values) in zip(colours, norms.items()):
            ys = [v for name, v in values if name in shared]  # the same layers in both (projections left out)
            self.plot.plot(list(range(len(ys))), ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                           symbolBrush=colour, name=label)
            lines.append(f"{html.escape(label)}: first layer {ys[0]:.3g}, last {ys[-1]:.3g} "
                         f"(first / last {ys[0] / ys[-1]:.2f})")
        self.text.setText(self.text.text() + "<p>" + "<br>".join(lines) + "</p>")


class Lessons:
    """The menu, the panel on the Compare page and the running of a lesson."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.panel = LessonPanel()
        compare = window.pages_extra.compare
        compare.layout().addWidget(self.panel)  # beside the compared networks
        self.panel.hide()
        self.menu = QMenu("&Lessons", window)
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self._fill)
        window.menuBar().addMenu(self.menu)

    def _fill(self) -> None:
        self.menu.clear()
        ev, path = self.window.hub.evaluation, self.window.hub.selection
        doc = self.window.document
        keys = lessons.available(doc.spec, path, ev.report) if doc and ev and ev.report and path else []
        for key, (title, _, _) in lessons.LESSONS.items():
            action = self.menu.addAction(title, lambda k=key: self.run(k))
            action.setEnabled(key in keys)
            if key not in keys:
                action.setToolTip("select a block this lesson applies to")

    def run(self, key: str, path: str | None = None) -> lessons.Lesson | None:
        """Open lesson ``key`` for the selected block (or ``path``) on the Compare page."""
        doc = self.window.document
        if doc is None:
            return None
        try:
            lesson = lessons.lesson(key, doc.spec, path or self.window.hub.selection)
        except ConvSmithError as e:
            self.window.statusBar().showMessage(str(e), 8000)
            return None
        compare = self.window.pages_extra.compare
        compare.list.selectAll()  # the lesson's two networks replace what was compared
        compare.remove_selected()
        compare.add(Network(lesson.a.name, lesson.a, f"lesson:{key}"))
        compare.add(Network(lesson.b.name, lesson.b, f"lesson:{key}"))
        self.panel.show_lesson(lesson)
        self.panel.show()
        self.window.pages_extra.show(compare)
        if key == "residual":
            from training.gradients import gradient_norms

            def work(_job: Any) -> dict[str, list[tuple[str, float]]]:
                return {s.name: gradient_norms(s, batch=4) for s in (lesson.a, lesson.b)}

            self.window.workers.submit(work, self.panel.show_norms,
                                       lambda e: self.window.statusBar().showMessage(f"gradient norms: {e}", 8000),
                                       title="gradient norms at initialisation")
        return lesson


def install(window: Any) -> Lessons:
    return Lessons(window)
