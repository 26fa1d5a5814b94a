"""Reading a study back as plain records: what the CLI, the reports and the GUI's trials table show.

Everything here reads the storage only (any process, any time, also while the study runs elsewhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from arch.spec import Spec, loads
from search import storage
from search.attrs import (
    CURVE,
    DUPLICATE_OF,
    FAILURE,
    FIGURES,
    FOLDER,
    INFEASIBLE,
    INTERRUPTED,
    RETRY_OF,
    SPEC,
    TRAIN_SECONDS,
)
from search.config import OBJECTIVES, SearchError
from search.counting import counts_toward_target


class State(StrEnum):
    """A trial as people read it (Optuna's TrialState is finer for the coordinator, coarser for a reader:
    a COMPLETE trial may be infeasible, a FAIL one interrupted). Equal to its value as a string."""

    COMPLETE = "complete"
    INFEASIBLE = "infeasible"
    PRUNED = "pruned"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    DUPLICATE = "duplicate"
    RUNNING = "running"
    WAITING = "waiting"


# Optuna's heartbeat (database storages) fails a stale trial without a reason; its retry names it.
HEARTBEAT_LOST = "interrupted: no heartbeat within the grace period"
CHECKPOINTS = ("final.pt", "best.pt")


@dataclass
class TrialRecord:
    """One trial as people read it. ``values`` maps objective names to numbers (complete trials only)."""

    number: int
    state: State
    values: dict[str, float] | None
    params: dict[str, Any]                        # the sampled values, by spec path (Optuna's stored form)
    figures: dict[str, float]                     # params, macs, memory, rf, train_bytes, latency (analysis)
    curve: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch (val_acc, val_loss, ...)
    reason: str = ""                              # why infeasible / failed / interrupted / pruned
    duration: float | None = None                 # seconds from start to finish
    train_seconds: float | None = None            # seconds of training (and per-epoch evaluation)
    spec_text: str | None = None
    folder: str | None = None
    retry_of: int | None = None
    duplicate_of: int | None = None               # an earlier trial with the same candidate (state duplicate)
    counts: bool = True                           # counts toward --trials (search.counting)

    @property
    def accuracy(self) -> float | None:
        if self.values is not None:
            return self.values["accuracy"]
        if self.curve:
            return self.curve[-1].get("val_acc")
        return None

    @property
    def macs(self) -> float | None:
        return self.figures.get("macs")

    @property
    def param_count(self) -> float | None:
        return self.figures.get("params")

    @property
    def trained(self) -> bool:
        return self.state == State.COMPLETE

    def spec(self) -> Spec:
        if not self.spec_text:
            raise SearchError(f"trial {self.number} has no architecture (it ended before sampling one)")
        return loads(self.spec_text, f"trial {self.number}")


def retried_numbers(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of the trials that a retry repeats."""
    return {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}


def _state(t: optuna.trial.FrozenTrial, retried: set[int] = frozenset()) -> tuple[State, str]:
    a = t.user_attrs
    if DUPLICATE_OF in a and t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        how = "which was running: sampled again" if t.state == TrialState.FAIL else \
            f"its result reused ({'pruned' if t.state == TrialState.PRUNED else 'not trained again'})"
        return State.DUPLICATE, f"same candidate as trial {a[DUPLICATE_OF]}, {how}"
    if t.state == TrialState.COMPLETE:
        return (State.INFEASIBLE, a[INFEASIBLE]) if INFEASIBLE in a else (State.COMPLETE, "")
    if t.state == TrialState.PRUNED:
        curve = a.get(CURVE) or []
        return State.PRUNED, f"pruned after epoch {curve[-1]['epoch']}" if curve else "pruned"
    if t.state == TrialState.FAIL:
        if INTERRUPTED in a:
            return State.INTERRUPTED, a[INTERRUPTED]
        if t.number in retried:
            return State.INTERRUPTED, HEARTBEAT_LOST
        return State.FAILED, a.get(FAILURE) or t.system_attrs.get("fail_reason", "failed")
    if t.state == TrialState.WAITING:
        return State.WAITING, f"retry of trial {a[RETRY_OF]}" if RETRY_OF in a else "queued"
    return State.RUNNING, ""


def to_record(t: optuna.trial.FrozenTrial, objectives: list[str], retried: set[int] = frozenset()) -> TrialRecord:
    state, reason = _state(t, retried)
    a = t.user_attrs
    values = dict(zip(objectives, t.values)) if state in (State.COMPLETE, State.DUPLICATE) and t.values is not None \
        and t.state == TrialState.COMPLETE and INFEASIBLE not in a else None
    duration = (t.datetime_complete - t.datetime_start).total_seconds() \
        if t.datetime_complete and t.datetime_start else None
    return TrialRecord(t.number, state, values, dict(t.params), dict(a.get(FIGURES) or {}), list(a.get(CURVE) or []),
                       reason, duration, a.get(TRAIN_SECONDS), a.get(SPEC), a.get(FOLDER),
                       a.get(RETRY_OF), a.get(DUPLICATE_OF), counts_toward_target(t, retried))


@dataclass
class StudyView:
    """A study as stored: what it searches (``identity``), its objectives and every trial."""

    name: str
    objectives: list[str]
    identity: dict[str, Any]
    records: list[TrialRecord]
    study: optuna.Study | None = None  # the live study (parameter importances read its trials)

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    def record(self, number: int) -> TrialRecord:
        for r in self.records:
            if r.number == number:
                return r
        raise SearchError(f"study {self.name!r} has no trial {number} (trials 0..{len(self.records) - 1})")

    def best(self) -> list[TrialRecord]:
        """Single objective: the complete trials by accuracy, best first; multi: the Pareto front (Optuna's
        ``study.best_trials``, feasible trials only, each candidate once)."""
        if self.multi:
            if self.study is not None:
                front = {t.number for t in self.study.best_trials if DUPLICATE_OF not in t.user_attrs}
                chosen = [r for r in self.records if r.number in front and r.state == State.COMPLETE]
            else:
                chosen = pareto_front(self.records, self.objectives)
            return sorted(chosen, key=lambda r: -r.values["accuracy"])
        return sorted((r for r in self.records if r.state == State.COMPLETE), key=lambda r: -r.values["accuracy"])


def view(study: optuna.Study) -> StudyView:
    identity = study.user_attrs.get(storage.IDENTITY_KEY) or {}
    objectives = list(identity.get("objectives") or ["accuracy"])
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    return StudyView(study.study_name, objectives, identity, [to_record(t, objectives, retried) for t in trials],
                     study)


def open_study(name: str, storage_url: str | None = None, root: str | Path = "studies") -> StudyView:
    return view(storage.load(name, storage_url, root))


def load_study_records(name: str, storage_url: str | None = None, root: str | Path = "studies") -> list[TrialRecord]:
    return open_study(name, storage_url, root).records


def trial_spec(name: str, number: int, storage_url: str | None = None, root: str | Path = "studies") -> Spec:
    """The concrete architecture of one trial, ready to open, analyse, build or export."""
    return open_study(name, storage_url, root).record(number).spec()


def _dominates(a: list[float], b: list[float]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def pareto_front(records: list[TrialRecord], objectives: list[str]) -> list[TrialRecord]:
    """Complete (feasible, trained) trials that no other such trial dominates on every objective."""
    sign = [1.0 if OBJECTIVES[o][0] == "maximize" else -1.0 for o in objectives]
    done = [r for r in records if r.state == State.COMPLETE and all(math.isfinite(r.values[o]) for o in objectives)]
    keyed = [(r, [s * r.values[o] for s, o in zip(sign, objectives)]) for r in done]
    return [r for r, k in keyed if not any(_dominates(k2, k) for _, k2 in keyed)]


def best_so_far(records: list[TrialRecord]) -> list[tuple[int, float]]:
    """(trial number, best accuracy reached by then) at every trained trial from the first complete one on:
    the optimisation history's line, for the report and the GUI alike. Only complete trials raise it: a
    pruned trial's accuracy is its last intermediate value, not a final result."""
    best: float | None = None
    steps = []
    for r in sorted((r for r in records if r.accuracy is not None and r.state in (State.COMPLETE, State.PRUNED)),
                    key=lambda r: r.number):
        if r.state == State.COMPLETE and (best is None or r.accuracy > best):
            best = r.accuracy
        if best is not None:
            steps.append((r.number, best))
    return steps


def best_numbers(records: list[TrialRecord], objectives: list[str], k: int) -> set[int]:
    """The best ``k`` trials: the Pareto front first (several objectives), then by accuracy."""
    front = {r.number for r in pareto_front(records, objectives)} if len(objectives) > 1 else set()
    ranked = sorted((r for r in records if r.state == State.COMPLETE),
                    key=lambda r: (r.number not in front, -r.values["accuracy"], r.number))
    return {r.number for r in ranked[:k]}


def keep_best_checkpoints(records: list[TrialRecord], objectives: list[str], k: int) -> list[int]:
    """Delete the checkpoints of every trial but the best ``k`` (front first, then accuracy); returns
    the numbers of the trials whose checkpoints were removed."""
    keep = best_numbers(records, objectives, k)
    removed = []
    for r in records:
        if r.number in keep or r.state in (State.RUNNING, State.WAITING) or not r.folder:
            continue
        files = [Path(r.folder) / name for name in CHECKPOINTS if (Path(r.folder) / name).exists()]
        for f in files:
            f.unlink(missing_ok=True)
        if files:
            removed.append(r.number)
    return removed

