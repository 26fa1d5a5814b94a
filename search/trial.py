"""One trial, inside a worker process: sample a candidate, analyse it, check the limits, train, tell.

Outcomes (the Optuna state, and what the trial's user attributes say):

- complete: trained; values are the objectives (accuracy = final validation accuracy).
- infeasible: COMPLETE with ``infeasible`` = the violated limit, never trained (or out of memory while
  training); accuracy 0 and the measured costs, so the constrained sampler learns where not to go.
- pruned: PRUNED after an epoch (Optuna pruner, or the MACs-bucket rule in multi-objective studies).
- failed: FAIL with ``failure`` = the reason (an invalid combination, NaN/Inf loss, an exception); the
  traceback goes to the trial folder's ``error.txt``.
- interrupted: FAIL with ``interrupted`` (stop, Ctrl-C, SIGTERM, a storage that stopped answering);
  one retry is enqueued (see liveness).
- duplicate: ``duplicate_of`` = an earlier trial with the same sampled values. A candidate already
  finished in the study is never trained again: its result is reused (COMPLETE or PRUNED as the original).
  One that another trial is training right now ends at once as FAIL, is not counted, and the coordinator
  samples again. Two trials that sampled the same values at the same instant both notice within an epoch:
  the lower number trains, the higher one ends as a duplicate.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from arch import io
from arch.errors import ConvSmithError, SpecError
from arch.search_space import parse_space
from arch.spec import Spec, dumps
from search import liveness, weights
from search.attrs import (
    CURVE,
    DUPLICATE_OF,
    FAILURE,
    FIGURES,
    FOLDER,
    INFEASIBLE,
    OOM_BYTES,
    SPEC,
    TRAIN_SECONDS,
    TRAIN_STATUS,
)
from search.config import SearchConfig
from search.pruning import BucketRule
from search.records import State
from search.sampling import suggest
from search.storage import StorageUnavailable, transient

CURVE_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "elapsed", "train_time", "eval_time")
LIMIT_FIGURE = {"max_params": "params", "max_macs": "macs", "max_memory": "memory", "max_latency": "latency",
                "min_rf": "rf"}
ADAMW_BYTES_PER_PARAM = 16  # fp32 weight + gradient + two AdamW moments


class Outcome(Exception):
    """How a trial ends before (or instead of) completing normally."""

    def __init__(self, state: State, reason: str, oom: bool = False,
                 twin: optuna.trial.FrozenTrial | None = None) -> None:
        super().__init__(reason)
        self.state, self.reason, self.oom = state, reason, oom  # oom: ran, or would run, out of memory
        self.twin = twin  # state "duplicate": the trial with the same candidate


def find_twin(study: optuna.Study, trial: optuna.Trial, finished: bool = True) -> optuna.trial.FrozenTrial | None:
    """Another trial with this trial's sampled values: a finished original (``finished``), else a lower-numbered
    one running with its candidate fully sampled (its spec stored)."""
    params, running = trial.params, None
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) if finished else (TrialState.RUNNING,)
    for t in study.get_trials(deepcopy=False, states=states):
        if t.number == trial.number or DUPLICATE_OF in t.user_attrs or t.params != params:
            continue
        if t.state != TrialState.RUNNING:
            return t
        if t.number < trial.number and SPEC in t.user_attrs and running is None:
            running = t
    return running


def _check_twin(study: optuna.Study, trial: optuna.Trial, finished: bool = True) -> None:
    twin = find_twin(study, trial, finished)
    if twin is not None:
        how = "which is running: sampled again" if twin.state == TrialState.RUNNING else "its result reused"
        raise Outcome(State.DUPLICATE, f"same candidate as trial {twin.number}, {how}", twin=twin)


def may_prune(epoch: int, epochs: int) -> bool:
    """Pruning stops a trial early; after its final epoch there is nothing left to save."""
    return epoch < epochs


@dataclasses.dataclass
class TrialContext:
    """What a worker knows while it runs one trial."""

    config: SearchConfig
    data: Any                       # training.Data, loaded once by the coordinator
    device: str
    threads: int | None
    emit: Callable[[tuple], None]   # events to the coordinator: ("sampled", number), ("epoch", number, row)
    cancel: threading.Event


def trial_folder(config: SearchConfig, number: int) -> Path:
    return config.folder / "trials" / f"{number:05d}"


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:.4g}"


def _limit_violations(config: SearchConfig, figures: dict[str, float]) -> list[str]:
    out = []
    for name, limit in config.limits.active().items():
        value = figures.get(LIMIT_FIGURE[name])
        if value is None:
            continue
        if name == "min_rf" and value < limit:
            out.append(f"receptive field {_num(value)} < min {_num(limit)}")
        elif name != "min_rf" and value > limit:
            unit = " ms" if name == "max_latency" else ""
            out.append(f"{LIMIT_FIGURE[name]} {_num(value)}{unit} > max {_num(limit)}{unit}")
    return out


def _set_constraints(trial: optuna.Trial, config: SearchConfig, figures: dict[str, float], oom: bool) -> None:
    """Optuna constraints (> 0: violated), the same keys on every trial so samplers can compare them:
    ``(value - limit) / limit`` per active limit (reversed for min_rf), and out_of_memory 0 or 1."""
    for name, limit in config.limits.active().items():
        value = figures.get(LIMIT_FIGURE[name])
        if value is None:  # not measured because another limit already failed: count it as met
            trial.set_constraint(name, 0.0)
        else:
            trial.set_constraint(name, (limit - value) / limit if name == "min_rf" else (value - limit) / limit)
    trial.set_constraint("out_of_memory", 1.0 if oom else 0.0)


def _values(config: SearchConfig, accuracy: float, figures: dict[str, float]) -> list[float]:
    return [accuracy if o == "accuracy" else float(figures.get(o, math.inf)) for o in config.objectives]


def _oom_bound(study: optuna.Study) -> tuple[int, int] | None:
    """(smallest estimated training bytes that ran out of memory, its trial number), if any did."""
    hits = [(t.user_attrs[OOM_BYTES], t.number) for t in study.get_trials(deepcopy=False)
            if OOM_BYTES in t.user_attrs]
    return min(hits) if hits else None


def _train_config(ctx: TrialContext, overrides: dict[str, Any]) -> Any:
    from training import TrainConfig

    base = {**ctx.config.train, "epochs": ctx.config.epochs, "seed": ctx.config.seed, **overrides}
    return TrainConfig(**{**base, "device": ctx.device, "threads": ctx.threads}).check()


def run_trial(study: optuna.Study, trial: optuna.Trial, ctx: TrialContext) -> None:
    """Run and tell one trial; every outcome is recorded on it (see the module docstring)."""
    config = ctx.config
    folder = trial_folder(config, trial.number)
    trial.set_user_attr(FOLDER, str(folder))
    figures: dict[str, float] = {}
    try:
        values = _run(study, trial, ctx, folder, figures)
        _set_constraints(trial, config, figures, False)
    except Outcome as o:
        _tell_outcome(study, trial, config, o, figures)
        return
    except KeyboardInterrupt:
        _tell_outcome(study, trial, config, Outcome(State.INTERRUPTED, "interrupted: Ctrl-C"), figures)
        raise
    except optuna.exceptions.UpdateFinishedTrialError:
        return  # another process declared this trial lost (stale heartbeat) and already recorded it
    except StorageUnavailable:
        raise  # nothing can be recorded: the trial stays RUNNING and is retried once the storage is back
    except Exception as e:  # an unexpected error in one candidate must not end the study
        if transient(e):  # the storage failed under the trial: an interruption, retried, not a failure
            _tell_outcome(study, trial, config, Outcome(State.INTERRUPTED, f"interrupted: storage error: {e}"[:300]),
                          figures)
            return
        folder.mkdir(parents=True, exist_ok=True)
        io.write_text(folder / "error.txt", traceback.format_exc())
        _tell_outcome(study, trial, config, Outcome(State.FAILED, f"{type(e).__name__}: {e}"), figures)
        return
    weights.upload(trial, folder, config.artifacts_folder)  # before tell: the artifact is recorded on the trial
    study.tell(trial, values)


def _tell_outcome(study: optuna.Study, trial: optuna.Trial, config: SearchConfig, o: Outcome,
                  figures: dict[str, float]) -> None:
    if o.state == State.DUPLICATE:
        _tell_duplicate(study, trial, config, o.twin)
        return
    if o.state == State.INTERRUPTED:
        liveness.interrupt(study, liveness.frozen(study, trial), o.reason)
        return
    if o.state == State.INFEASIBLE:
        trial.set_user_attr(INFEASIBLE, o.reason)
        _set_constraints(trial, config, figures, o.oom)
        study.tell(trial, _values(config, 0.0, figures))
        return
    if o.state == State.PRUNED:
        _set_constraints(trial, config, figures, False)
        study.tell(trial, state=TrialState.PRUNED)
        return
    trial.set_user_attr(FAILURE, o.reason[:2000])
    study.tell(trial, state=TrialState.FAIL)


def _tell_duplicate(study: optuna.Study, trial: optuna.Trial, config: SearchConfig,
                    twin: optuna.trial.FrozenTrial) -> None:
    """End a trial whose candidate ``twin`` already holds (see the module docstring)."""
    trial.set_user_attr(DUPLICATE_OF, twin.number)
    if twin.state == TrialState.RUNNING:
        study.tell(trial, state=TrialState.FAIL)
        return
    figures = dict(twin.user_attrs.get(FIGURES) or {})
    trial.set_user_attr(FIGURES, figures)
    for key in (INFEASIBLE, CURVE):
        if key in twin.user_attrs:
            trial.set_user_attr(key, twin.user_attrs[key])
    _set_constraints(trial, config, figures, OOM_BYTES in twin.user_attrs)
    if twin.state == TrialState.PRUNED:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, list(twin.values))


def _run(study: optuna.Study, trial: optuna.Trial, ctx: TrialContext, folder: Path,
         figures: dict[str, float]) -> list[float]:
    config = ctx.config
    space = parse_space(config.spec)
    values = suggest(trial, space)
    try:
        spec, overrides = space.apply(config.spec, values)
    except SpecError as e:
        raise Outcome(State.FAILED, f"invalid combination: {e}") from None
    spec = dataclasses.replace(spec, name=f"{config.spec.name[:60]} trial {trial.number}")
    trial.set_user_attr(SPEC, dumps(spec))  # marks the candidate as fully sampled (see find_twin)
    _check_twin(study, trial)
    folder.mkdir(parents=True, exist_ok=True)
    io.write_text(folder / "spec.json", dumps(spec))
    try:
        train_cfg = _train_config(ctx, overrides)
    except ConvSmithError as e:
        raise Outcome(State.FAILED, f"invalid training options: {e}") from None
    _analyse(spec, train_cfg.batch_size, folder, figures)
    trial.set_user_attr(FIGURES, dict(figures))
    ctx.emit(("sampled", trial.number))
    bound = _oom_bound(study)
    too_big = bound is not None and figures["train_bytes"] >= bound[0]
    broken = _limit_violations(config, figures)
    if too_big:
        broken.append(f"needs ~{figures['train_bytes'] / 1e6:,.0f} MB to train; trial {bound[1]} needing "
                      f"~{bound[0] / 1e6:,.0f} MB ran out of memory")
    if not broken and ("latency" in config.objectives or config.limits.max_latency is not None):
        figures["latency"] = _latency(spec, ctx)
        trial.set_user_attr(FIGURES, dict(figures))
        broken = _limit_violations(config, figures)
    if broken:
        raise Outcome(State.INFEASIBLE, "; ".join(broken), oom=too_big)
    return _train(study, trial, ctx, spec, train_cfg, folder, figures)


def _analyse(spec: Spec, batch: int, folder: Path, figures: dict[str, float]) -> None:
    from analysis import analyze

    try:
        rep = analyze(spec)
    except SpecError as e:
        raise Outcome(State.FAILED, f"invalid combination: {e}") from None
    t = rep.totals
    figures.update(params=t.params, macs=t.macs, memory=t.peak_activation_bytes_inference,
                   rf=min(rep.receptive_field.size),
                   train_bytes=t.activation_bytes_train * batch + ADAMW_BYTES_PER_PARAM * t.params)
    summary = rep.to_json()
    keep = ("name", "input_shape", "convention", "totals", "receptive_field", "lints")
    io.write_text(folder / "analysis.json", json.dumps({k: summary[k] for k in keep}, indent=2) + "\n")


def _latency(spec: Spec, ctx: TrialContext) -> float:
    import torch

    from arch.builder import build
    from search.latency import forward_ms
    from training.device import pick_device

    device = pick_device(ctx.device)
    if ctx.threads:
        torch.set_num_threads(ctx.threads)
    return round(forward_ms(build(spec).to(device), spec.input, device), 4)


def _train(study: optuna.Study, trial: optuna.Trial, ctx: TrialContext, spec: Spec, cfg: Any, folder: Path,
           figures: dict[str, float]) -> list[float]:
    from training import train

    config = ctx.config
    rule = BucketRule(cfg.epochs) if config.multi and config.pruner_name == "bucket" else None
    curve: list[dict[str, Any]] = []
    run = train(spec, ctx.data, cfg, run_dir=folder, cancel=ctx.cancel)
    done = None
    try:
        for rec in run:
            if rec.kind == "epoch":
                row = {k: getattr(rec, k) for k in CURVE_KEYS}
                curve.append(row)
                trial.set_user_attr(CURVE, curve)
                ctx.emit(("epoch", trial.number, row))
                if not rec.complete:
                    continue
                _check_twin(study, trial, finished=False)  # a twin sampled at the same instant: one trains
                if config.multi:
                    prune = rule is not None and rule.should_prune(study, trial.number, figures["macs"], rec.epoch,
                                                                   rec.val_acc)
                else:
                    trial.report(rec.val_acc, rec.epoch)
                    prune = may_prune(rec.epoch, cfg.epochs) and trial.should_prune()
                if prune:
                    run.close()
                    trial.set_user_attr(TRAIN_SECONDS, rec.elapsed)
                    trial.set_user_attr(TRAIN_STATUS, "pruned")
                    raise Outcome(State.PRUNED, f"pruned after epoch {rec.epoch} at {100 * rec.val_acc:.2f} %")
            elif rec.kind == "done":
                done = rec
    finally:
        run.close()
    assert done is not None
    trial.set_user_attr(TRAIN_SECONDS, done.elapsed)
    trial.set_user_attr(TRAIN_STATUS, done.status)
    if done.status == "cancelled":
        raise Outcome(State.INTERRUPTED, "interrupted: the search was stopped")
    if done.status == "diverged":
        raise Outcome(State.FAILED, f"diverged: {done.message}")
    if done.status == "oom":
        trial.set_user_attr(OOM_BYTES, figures["train_bytes"])
        raise Outcome(State.INFEASIBLE, done.message, oom=True)
    if done.final_val_acc is None:
        raise Outcome(State.FAILED, f"training ended ({done.status}) before any evaluation")
    return _values(config, float(done.final_val_acc), figures)
