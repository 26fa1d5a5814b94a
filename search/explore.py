"""What optuna-dashboard shows of a study, as plain data: the report's SVG charts (search.explore_svg)
and the app's search tab (gui/study_explore.py) draw the same numbers, computed once here.

- ``importances``: Optuna's PED-ANOVA evaluator (deterministic, and unlike fANOVA it needs no
  scikit-learn) over the trained, feasible trials' accuracy; ``optuna.importance.get_param_importances``
  with that evaluator on the same trials gives the same values.
- ``axes``: one per sampled parameter: numeric (its range, log when Optuna sampled it on a log scale) or
  categorical (its values in order); a conditional parameter is absent from trials that did not sample it.
- ``points``: every trained trial (complete, pruned, duplicate) with its accuracy, params and state.
- ``contour``: accuracy interpolated (inverse-distance weights) on a grid over two parameters.
- ``intermediate``: each trained trial's validation accuracy per epoch (what it reported to the pruner).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from search.attrs import DUPLICATE_OF, INFEASIBLE
from search.records import State, StudyView, TrialRecord

SHOWN = (State.COMPLETE, State.PRUNED, State.DUPLICATE)
EVALUATOR = optuna.importance.PedAnovaImportanceEvaluator


def importance_trials(view: StudyView) -> list[optuna.trial.FrozenTrial]:
    """The trials importances are computed over: trained, feasible, not a duplicate (it would count twice)."""
    if view.study is None:
        return []
    return [t for t in view.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if INFEASIBLE not in t.user_attrs and DUPLICATE_OF not in t.user_attrs]


def importances(view: StudyView) -> dict[str, float]:
    """Parameter importances for accuracy (Optuna's EVALUATOR); {} when there are too few trials."""
    kept = importance_trials(view)
    if len(kept) < 2:
        return {}
    tmp = optuna.create_study(directions=["maximize"] * len(view.objectives))
    tmp.add_trials(kept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dict(optuna.importance.get_param_importances(
                tmp, evaluator=EVALUATOR(),
                target=(lambda t: t.values[0]) if view.multi else None))
        except (RuntimeError, ValueError):  # e.g. no parameter varies among the trained trials
            return {}


@dataclass
class Axis:
    name: str
    categories: list[Any] | None  # categorical: the values in order; numeric: None
    low: float = 0.0
    high: float = 1.0
    log: bool = False

    def position(self, value: Any) -> float | None:
        """Where ``value`` lies on this axis, 0..1 (None when it is not a value of the axis)."""
        if self.categories is not None:
            for i, c in enumerate(self.categories):
                if c == value:
                    return 0.5 if len(self.categories) == 1 else i / (len(self.categories) - 1)
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        lo, hi, v = self.low, self.high, float(value)
        if self.log and lo > 0 and v > 0:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        return 0.5 if hi == lo else (v - lo) / (hi - lo)

    def label(self, value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)


def axes(view: StudyView) -> list[Axis]:
    """One axis per parameter sampled by any trained trial, in first-seen order."""
    dists: dict[str, optuna.distributions.BaseDistribution] = {}
    if view.study is not None:
        for t in view.study.get_trials(deepcopy=False):
            for k, d in t.distributions.items():
                dists.setdefault(k, d)
    seen: dict[str, list[Any]] = {}
    for r in points(view.records):
        for k, v in r.params.items():
            seen.setdefault(k, [])
            if v not in seen[k]:
                seen[k].append(v)
    out = []
    for name, values in seen.items():
        d = dists.get(name)
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            out.append(Axis(name, [c for c in d.choices if c in values]))
        elif isinstance(d, (optuna.distributions.FloatDistribution, optuna.distributions.IntDistribution)):
            out.append(Axis(name, None, float(d.low), float(d.high), bool(d.log)))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out.append(Axis(name, None, float(min(values)), float(max(values))))
        else:
            out.append(Axis(name, values))
    return out


def points(records: list[TrialRecord]) -> list[TrialRecord]:
    """Trained trials with an accuracy, in trial order (duplicates included, marked by their state)."""
    return [r for r in records if r.state in SHOWN and r.accuracy is not None]


@dataclass
class Contour:
    x: Axis
    y: Axis
    grid: list[list[float]]               # grid[j][i]: accuracy at x position i/(n-1), y position j/(n-1)
    dots: list[tuple[float, float, TrialRecord]]  # positions 0..1 of the trials that sampled both


def contour(view: StudyView, x: Axis, y: Axis, n: int = 24) -> Contour | None:
    """Accuracy over two parameters: inverse-distance-weighted interpolation of the trained trials (power 2)."""
    dots = []
    for r in points(view.records):
        if r.state == State.DUPLICATE or x.name not in r.params or y.name not in r.params:
            continue
        px, py = x.position(r.params[x.name]), y.position(r.params[y.name])
        if px is not None and py is not None:
            dots.append((px, py, r))
    if len(dots) < 2:
        return None
    grid = []
    for j in range(n):
        row = []
        for i in range(n):
            gx, gy = i / (n - 1), j / (n - 1)
            num = den = 0.0
            for px, py, r in dots:
                d2 = (gx - px) ** 2 + (gy - py) ** 2
                if d2 < 1e-12:
                    num, den = r.accuracy, 1.0
                    break
                num += r.accuracy / d2
                den += 1 / d2
            row.append(num / den)
        grid.append(row)
    return Contour(x, y, grid, dots)


def intermediate(records: list[TrialRecord]) -> list[tuple[TrialRecord, list[tuple[int, float]]]]:
    """(trial, [(epoch, validation accuracy)]) of every trial that trained at least one epoch."""
    return [(r, [(int(row["epoch"]), float(row["val_acc"])) for row in r.curve if row.get("val_acc") is not None])
            for r in records if r.curve and r.state != State.DUPLICATE]


def best_number(view: StudyView) -> int | None:
    best = view.best()
    return best[0].number if best else None
