"""What every view draws after an edit, computed once: the graph, its analysis and its problems.

When a shape fails the new spec has no report; the last valid one is kept as ``shown`` and marked
stale, so the table keeps it (greyed) while the editor shows the problem on the block. With the training
option ``freeze`` set (the designer's "Freeze up to here"), the one analysis is made at that freeze point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis import Report, analyze
from arch.errors import Problem, SpecError
from arch.expand import Expansion, expand
from arch.graph import BlockInfo, Graph
from arch.options import ConfigError
from arch.spec import Spec
from gui.branches import Walker


@dataclass
class Evaluation:
    spec: Spec
    graph: Graph
    report: Report | None  # None when the spec's shapes fail
    shown: Report | None  # report to display: this one, or the last valid one (stale)
    problems: list[Problem]
    walker: Walker
    expansion: Expansion | None = field(default=None, repr=False)  # the next edit expands from it
    freeze_problem: str = ""  # why the freeze point asked for does not fit the network (then nothing is frozen)
    _infos: dict[str, BlockInfo] | None = field(default=None, repr=False)

    @property
    def stale(self) -> bool:
        return self.report is None

    def problems_at(self, path: str) -> list[Problem]:
        """Problems of a block and of the blocks inside it (stage repeats)."""
        return SpecError(self.problems).at(path) if self.problems else []

    def info(self, path: str) -> BlockInfo | None:
        """The expanded block at a path (None when expansion stopped before it)."""
        if self._infos is None:
            self._infos = {b.path: b for b in self.graph.blocks}
        return self._infos.get(path)


def evaluate(spec: Spec, previous: Evaluation | None = None, freeze: str | None = None) -> Evaluation:
    """Analyse the spec (the report carries its graph) at the freeze point ``freeze`` (body[N]; None: nothing
    frozen); when shapes fail, the graph says where. The expansion starts from the previous state's: only the
    blocks an edit replaced are expanded again."""
    expansion = expand(spec, previous=previous.expansion if previous is not None else None)
    report: Report | None = None
    problem = ""
    if not expansion.graph.problems:
        try:  # given the spec (not a graph): lints offer spec fixes
            try:
                report = analyze(spec, expansion=expansion, freeze=freeze)
            except ConfigError as e:  # a freeze point the network lacks: shown with nothing frozen, and why
                problem = str(e)
                report = analyze(spec, expansion=expansion)
        except SpecError:
            report = None
    graph = expansion.graph
    shown = report if report is not None else (previous.shown if previous is not None else None)
    return Evaluation(spec, graph, report, shown, list(graph.problems), Walker(graph), expansion,
                      freeze_problem=problem)
