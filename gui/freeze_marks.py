"""Freezing shown in the designer: the Network editor's right-click "Freeze up to here" sets the training
option ``freeze`` to that top-level block; the designer then analyses at that freeze point (``Hub.set_freeze``:
the table shows it), and the blocks that analysis marks frozen are marked (tinted, with a tooltip) in the editor
for as long as the option says so."""

from __future__ import annotations

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtGui import QAction, QBrush, QColor

from analysis.records import Report
from arch.paths import body, top_index
from gui.editor import NetworkEditor
from gui.session import Hub
from gui.train_form import TrainForm

FROZEN = QColor("#d2e3fc")  # light blue: "ice"


class FreezeMarks(QObject):
    def __init__(self, editor: NetworkEditor, hub: Hub, form: TrainForm) -> None:
        super().__init__(editor)
        self.editor, self.hub, self.form = editor, hub, form
        self.summary = ""  # "frozen for training up to body[3]: N parameters frozen, M trainable"
        self._marked: set[str] = set()  # rows tinted now
        self.action = QAction("Freeze up to here", editor)
        self.action.setToolTip("training: freeze the parameters of the blocks up to and including this one "
                               "(the training option freeze)")
        self.action.triggered.connect(self.freeze_here)
        self.unfreeze = QAction("Unfreeze all", editor)
        self.unfreeze.triggered.connect(lambda: self._set(None))
        editor.extra_actions += [self.action, self.unfreeze]
        form.changed.connect(self.mark)
        hub.evaluated.connect(lambda _e: QTimer.singleShot(0, self.mark))  # after the editor has redrawn

    def freeze_here(self) -> None:
        index = top_index(self.hub.selection)
        if index is not None:
            self._set(body(index))

    def _set(self, value: str | None) -> None:
        self.form.editors["freeze"].set_value(value)
        self.form.editors["freeze"].committed.emit(value)

    def frozen_up_to(self) -> int | None:
        return top_index(self.form.values().get("freeze") or "")

    def _report(self) -> Report | None:
        """The analysis at the freeze point as set (None: no valid analysis, or nothing frozen)."""
        evaluation = self.hub.evaluation
        report = evaluation.shown if evaluation is not None else None
        return report if report is not None and report.freeze is not None else None

    def counts(self) -> tuple[int, int] | None:
        """(trainable, frozen) parameters of the network with ``freeze`` as set, from the analysis (None: no
        valid analysis, or nothing frozen)."""
        report = self._report()
        return None if report is None else (report.totals.trainable_params, report.totals.frozen_params)

    def mark(self) -> None:
        self.hub.set_freeze(self.form.values().get("freeze") or None)  # re-analyses (and calls back) on a change
        last, report = self.frozen_up_to(), self._report()
        words = "" if report is None else (f": {report.totals.frozen_params:,} parameters frozen, "
                                           f"{report.totals.trainable_params:,} trainable")
        self.summary = f"frozen for training up to {body(last)}{words}" if last is not None else ""
        problem = self.hub.evaluation.freeze_problem if self.hub.evaluation is not None else ""
        if problem:  # a freeze point the network lacks: training would refuse it
            self.summary = problem
        # only the rows frozen now and the ones marked before are touched: after an edit of a large network
        # with nothing frozen this is nothing, not 2,000 items made dirty
        tops = {top_index(b.path) for b in report.blocks if b.frozen and b.parent is None} if report else set()
        frozen_now = {path for path in self.editor.items if top_index(path) in tops} if tops else set()
        for path in frozen_now | self._marked:
            item = self.editor.items.get(path)
            if item is None:
                continue
            frozen = path in frozen_now
            item.setBackground(QBrush(FROZEN) if frozen else QBrush())
            tip = item.toolTip().split("\n[frozen")[0]
            item.setToolTip(tip + f"\n[{self.summary}]" if frozen else tip)
        self._marked = frozen_now
        editor = self.form.editors["freeze"]
        editor.setToolTip(self.form.tips["freeze"] + (f"\n{self.summary}" if self.summary else ""))
