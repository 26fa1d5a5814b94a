"""Whole studies on tiny synthetic data: two workers, constraints, a forced NaN, export, reports, Pareto."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from arch.builder import build
from arch.spec import load, parse_spec
from search import Limits, SearchConfig, export_trial, open_study, pareto_front, run_search, trial_spec, write_report
from search.storage import create_or_resume
from training import load_checkpoint

DATA = "synthetic:shapes?n=400&size=16&channels=1&classes=4"
SPEC = {
    "format": "convsmith/1", "name": "tiny search", "input": [1, 16, 16], "num_classes": 4,
    "body": [
        {"block": "conv", "out": 8, "kernel": 3, "norm": "none", "activation": "none"},
        {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 16, "kernel": 3},
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"},
    ],
    "search": {
        "body[0].out": {"choices": [4, 8, 64]},
        "body[2]": {"blocks": [{"block": "conv", "out": 16, "norm": "none", "activation": "none",
                                "search": {"kernel": {"choices": [3, 5]}}},
                               {"block": "residual", "out": 16}]},
        "train.lr": {"choices": [0.003, 10.0]},
        "train.optimizer": {"choices": ["adamw", "sgd"]},
        "train.batch_size": {"choices": [16, 64]},
    },
}
# Enqueued first, so trials 0-2 are these: no normalisation and SGD at lr 10 diverge (within the first
# epoch at batch 16); 64 stem channels
# need ~740k MACs, over the 300k limit; the third is an ordinary candidate.
NAN = {"body[0].out": 8, "body[2].block": "conv", "body[2].conv.kernel": 3, "train.lr": 10.0,
       "train.optimizer": "sgd", "train.batch_size": 16}
TOO_BIG = {"body[0].out": 64, "body[2].block": "residual", "train.lr": 0.003, "train.optimizer": "adamw",
           "train.batch_size": 64}
# A plain space (no NaN, no limit): every trial completes unless it is killed; the continuous learning rate
# keeps two trials from sampling the same candidate (which would be reused, not trained).
PLAIN = {**SPEC, "search": {"body[0].out": {"choices": [4, 8]}, "body[2].kernel": {"choices": [3, 5]},
                            "train.lr": {"float": [0.002, 0.004], "log": True}}}
GOOD = {"body[0].out": 8, "body[2].block": "residual", "train.lr": 0.003, "train.optimizer": "adamw",
        "train.batch_size": 64}


def config(root: Path, study: str, **kw) -> SearchConfig:
    base = dict(spec=parse_spec(SPEC), data=DATA, study=study, trials=6, epochs=2, root=root, pruner="none",
                train={"schedule": "constant"}, limits=Limits(max_macs=300_000), seed=1)
    return SearchConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    root = tmp_path_factory.mktemp("studies")
    cfg = config(root, "two", workers=2)
    study = create_or_resume(cfg)
    for params in (NAN, TOO_BIG, GOOD):
        study.enqueue_trial(params)
    seen = []
    view = run_search(cfg, on_trial=seen.append)
    return cfg, view, seen


def test_two_workers_make_exactly_the_requested_trials_with_unique_numbers(two_workers):
    cfg, view, seen = two_workers
    numbers = [r.number for r in view.records]
    assert sorted(numbers) == list(range(cfg.trials))
    assert all(r.state not in ("running", "waiting") for r in view.records)
    finished = [r.number for r in seen if r.state != "running"]
    assert sorted(finished) == list(range(cfg.trials))  # each trial reported once when it ended
    rerun = run_search(cfg)  # the study is full: a rerun adds nothing
    assert len(rerun.records) == cfg.trials


def test_infeasible_candidate_is_never_trained(two_workers):
    cfg, view, _ = two_workers
    rec = view.record(1)
    assert rec.params == TOO_BIG and rec.state == "infeasible"
    assert "macs" in rec.reason and "300,000" in rec.reason
    assert rec.figures["macs"] > 300_000 and rec.curve == [] and rec.train_seconds is None
    folder = Path(rec.folder)
    assert (folder / "spec.json").exists() and (folder / "analysis.json").exists()
    assert not (folder / "run.json").exists() and not (folder / "history.csv").exists()
    frozen = view.study.trials[1]
    assert frozen.constraints["max_macs"] > 0  # the sampler sees the violation
    assert all(v <= 0 for t in view.study.trials if t.state == optuna.trial.TrialState.COMPLETE
               and t.number != 1 and "infeasible" not in t.user_attrs for v in t.constraints.values())


def test_nan_failure_is_recorded_and_the_study_continues(two_workers):
    cfg, view, _ = two_workers
    rec = view.record(0)
    assert rec.params == NAN and rec.state == "failed"
    assert rec.reason.startswith("diverged") and "nan" in rec.reason.lower()
    assert view.study.trials[0].state == optuna.trial.TrialState.FAIL
    assert view.record(2).state == "complete" and view.record(2).accuracy is not None
    assert any(r.state == "complete" for r in view.records if r.number > 2)  # later trials still ran


def test_figures_match_the_built_model_and_the_curve_the_run_history(two_workers):
    cfg, view, _ = two_workers
    for rec in (r for r in view.records if r.state == "complete"):
        model = build(rec.spec())
        assert rec.figures["params"] == sum(p.numel() for p in model.parameters())
        assert len(rec.curve) == cfg.epochs
        history = json.loads((Path(rec.folder) / "history.json").read_text())["epochs"]
        assert [round(h["val_acc"], 9) for h in history] == [round(c["val_acc"], 9) for c in rec.curve]
        assert rec.values["accuracy"] == pytest.approx(history[-1]["val_acc"])


def test_exported_best_spec_rebuilds_with_the_trial_param_count(two_workers, tmp_path):
    cfg, view, _ = two_workers
    best = view.best()[0]
    assert best.accuracy == max(r.accuracy for r in view.records if r.state == "complete")
    number, size = export_trial(view, tmp_path / "best.json")
    assert number == best.number and size > 0
    model = build(load(tmp_path / "best.json"))
    assert sum(p.numel() for p in model.parameters()) == best.figures["params"]
    load_checkpoint(best.folder).load_into(model)  # the exported architecture is the one that was trained
    assert trial_spec("two", best.number, root=cfg.root).body == best.spec().body


def test_only_the_best_k_trials_keep_checkpoints(two_workers):
    cfg, view, _ = two_workers
    kept = {r.number for r in view.records if r.folder and (Path(r.folder) / "final.pt").exists()}
    ranked = sorted((r for r in view.records if r.state == "complete"), key=lambda r: (-r.accuracy, r.number))
    assert kept == {r.number for r in ranked[:cfg.keep_best]}


def test_reports_hold_every_section(two_workers, tmp_path):
    cfg, view, _ = two_workers
    view = open_study("two", root=cfg.root)
    write_report(view, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    for part in ("Best trials", "Optimisation history", "Learning curves", "Analysis of the best trials",
                 "All trials", "<svg", "body[2].block", "diverged"):
        assert part in html, part
    write_report(view, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert "## Best trials" in md and "data:image/svg+xml;base64," in md and "| trial |" in md


def test_multi_objective_front_is_non_dominated(tmp_path):
    cfg = config(tmp_path, "mo", spec=parse_spec(PLAIN), objectives=("accuracy", "macs"), sampler="nsga2",
                 pruner=None, trials=4, limits=Limits(), train={"batch_size": 64})
    view = run_search(cfg)
    front = pareto_front(view.records, ["accuracy", "macs"])
    assert front and view.best() and {r.number for r in front} == {r.number for r in view.best()}
    done = [r for r in view.records if r.state == "complete"]

    def dominates(a, b):
        return (a.values["accuracy"] >= b.values["accuracy"] and a.values["macs"] <= b.values["macs"]
                and (a.values["accuracy"] > b.values["accuracy"] or a.values["macs"] < b.values["macs"]))

    for f in front:
        assert not any(dominates(o, f) for o in done)
    for r in done:
        assert r in front or any(dominates(f, r) for f in front)
    assert {t.number for t in view.study.best_trials} == {r.number for r in front}  # Optuna agrees
    write_report(view, tmp_path / "mo.html")
    assert "Pareto front: accuracy vs macs" in (tmp_path / "mo.html").read_text()
