"""The parts of a search without training: options, space validation, sampling, pruning rule, liveness,
storage identity, Pareto front, checkpoint keeping and the CLI's error paths."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from arch.errors import SpecError
from arch.search_space import parse_space
from arch.spec import parse_spec
from search import SearchConfig, pareto_front
from search.attrs import CURVE, FIGURES, HEARTBEAT, INTERRUPTED, RETRY_OF, WORKER
from search.config import Limits, SearchError, parse_number
from search.liveness import stale_reason
from search.pruning import BucketRule, bucket
from search.records import TrialRecord, keep_best_checkpoints
from search.runner import counts_toward_target
from search.sampling import concrete, decode_params, describe, suggest
from search.storage import create_or_resume, open_storage
from tests.conftest import ROOT
from tests.test_search_study import SPEC

BASE = {k: v for k, v in SPEC.items() if k != "search"}


def spec_with(search: dict) -> dict:
    return {**BASE, "search": search}


def problems_of(search: dict) -> list[str]:
    with pytest.raises(SpecError) as e:
        parse_spec(spec_with(search))
    return [str(p) for p in e.value.problems]


# ------------------------------------------------------------------------------ options and space
def test_config_problems_name_each_bad_option(tmp_path):
    cfg = SearchConfig(spec=parse_spec(SPEC), data="", study="../x", trials=0, objectives=("macs",),
                       sampler="cmaes", pruner="bucket", heartbeat=10, grace=15, limits=Limits(max_macs=-1))
    text = "\n".join(cfg.problems())
    for part in ("study:", "trials: must be in [1, ", "objectives: must start with accuracy", "sampler:",
                 "grace: must exceed twice the heartbeat", "max_macs: must be in [1, ", "data:"):
        assert part in text, part
    multi = SearchConfig(spec=parse_spec(SPEC), data="x", study="ok", objectives=("accuracy", "macs"),
                         pruner="hyperband")
    assert multi.problems() == ["pruner: a multi-objective study takes one of bucket, none (got 'hyperband')"]
    assert SearchConfig(spec=parse_spec(SPEC), data="x", study="ok", objectives=("accuracy", "params")).pruner_name \
        == "bucket"
    with pytest.raises(SearchError):
        cfg.check()


def test_parse_number_reads_suffixes():
    assert parse_number("300k") == 300_000 and parse_number("2.5M") == 2_500_000 and parse_number("1e9") == 1e9
    with pytest.raises(ValueError):
        parse_number("lots")


def test_search_space_errors_name_their_path():
    assert problems_of({"body[0].out": {"int": [16, 8]}}) == ["search.body[0].out: empty range [16, 8]"]
    assert any(p.startswith("search.body[0].kernel.choices[1]") for p in problems_of(
        {"body[0].kernel": {"choices": [3, 99]}}))
    assert any("unknown training knob" in p for p in problems_of({"train.momentm": {"float": [0.1, 0.9]}}))
    assert any("two or more block objects" in p for p in problems_of(
        {"body[2]": {"blocks": [{"block": "conv", "out": 8}]}}))
    assert any("no block 9" in p for p in problems_of({"body[9].out": {"int": [1, 2]}}))


def test_suggest_decodes_choices_and_applies_them():
    spec = parse_spec(spec_with({"body[0].kernel": {"choices": [3, [1, 5]]}, "width_mult": {"float": [0.5, 1.0],
                                 "step": 0.5}, "body[2]": SPEC["search"]["body[2]"], "train.lr": {"float": [1e-3, 1e-2],
                                 "log": True}}))
    space = parse_space(spec)
    params = {"body[0].kernel": "[1, 5]", "width_mult": 0.5, "body[2].block": "conv", "body[2].conv.kernel": 5,
              "train.lr": 0.002}
    values = suggest(optuna.trial.FixedTrial(params), space)
    assert values["body[0].kernel"] == [1, 5] and values == decode_params(space, params)
    out, train = concrete(space, spec, params)
    assert out.body[0].params["kernel"] == (1, 5) and out.width_mult == 0.5 and out.search == {}
    assert out.body[2].block == "conv" and out.body[2].params["kernel"] == 5 and train == {"lr": 0.002}
    assert describe(params, 30).endswith("…") and len(describe(params, 30)) == 30


# ------------------------------------------------------------------------------------- pruning
def _trial(number: int, macs: float, accs: list[float], state: TrialState = TrialState.COMPLETE):
    attrs = {FIGURES: {"macs": macs}, CURVE: [{"epoch": i + 1, "val_acc": a} for i, a in enumerate(accs)]}
    return create_trial(state=state, values=[accs[-1], macs] if state == TrialState.COMPLETE else None,
                        user_attrs=attrs, params={}, distributions={})


def test_bucket_rule_compares_with_trials_of_similar_cost_only():
    study = optuna.create_study(directions=["maximize", "minimize"])
    for i, acc in enumerate((0.80, 0.85, 0.90)):
        study.add_trial(_trial(i, 1.5e6, [acc, acc + 0.05]))  # bucket of 1-2M MACs
    study.add_trial(_trial(3, 5e6, [0.99, 0.99]))              # 4-8M: not a peer of the 1-2M trials
    rule = BucketRule(epochs=3)
    assert bucket(1.5e6) == bucket(1.1e6) != bucket(2.1e6)
    assert rule.should_prune(study, 99, 1.2e6, 1, 0.84)        # below the median 0.85 of its peers
    assert not rule.should_prune(study, 99, 1.2e6, 1, 0.86)
    assert not rule.should_prune(study, 99, 1.2e6, 3, 0.10)    # the last epoch is never pruned
    assert not rule.should_prune(study, 99, 5.5e6, 1, 0.10)    # a single peer in 4-8M is not enough
    assert not BucketRule(epochs=3, min_peers=4).should_prune(study, 99, 1.2e6, 1, 0.5)


# ------------------------------------------------------------------------------------ liveness
def test_stale_reason_sees_dead_processes_and_old_heartbeats():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    start = datetime.datetime.now()

    def running(attrs: dict) -> optuna.trial.FrozenTrial:
        t = create_trial(state=TrialState.COMPLETE, value=0.0, user_attrs=attrs)
        t.datetime_start = start
        return t

    import socket

    host = socket.gethostname()
    assert "ended without finishing" in stale_reason(running({WORKER: {"host": host, "pid": dead.pid},
                                                              HEARTBEAT: now}), 60)
    assert stale_reason(running({WORKER: {"host": host, "pid": 1}, HEARTBEAT: now - 100}), 60).startswith(
        "no heartbeat for 100 s")
    assert stale_reason(running({WORKER: {"host": "elsewhere", "pid": dead.pid}, HEARTBEAT: now}), 60) is None


def test_interrupted_first_attempts_give_way_to_their_retry():
    def failed(attrs: dict, params: dict) -> optuna.trial.FrozenTrial:
        dist = {k: FloatDistribution(0, 1) for k in params}
        return create_trial(state=TrialState.FAIL, user_attrs=attrs, params=params, distributions=dist)

    assert not counts_toward_target(failed({INTERRUPTED: "killed"}, {"x": 0.5}))   # its retry counts instead
    assert counts_toward_target(failed({INTERRUPTED: "killed", RETRY_OF: 3}, {"x": 0.5}))  # skipped retry
    assert counts_toward_target(failed({"failure": "diverged"}, {"x": 0.5}))


# ---------------------------------------------------------------------------------- storage, front
def test_resume_with_a_different_search_is_refused(tmp_path):
    cfg = SearchConfig(spec=parse_spec(SPEC), data="synthetic:shapes?n=100", study="same", root=tmp_path)
    create_or_resume(cfg)
    create_or_resume(cfg)  # the same config resumes
    other = SearchConfig(spec=parse_spec(SPEC), data="synthetic:shapes?n=100", study="same", root=tmp_path,
                         epochs=9, objectives=("accuracy", "macs"))
    with pytest.raises(SearchError, match="different objectives, epochs"):
        create_or_resume(other)
    with pytest.raises(SearchError, match="unknown storage"):
        open_storage("ftp://nowhere/db")
    with pytest.raises(SearchError, match="no study storage"):
        open_storage(f"journal:{tmp_path / 'absent.log'}", create=False)


def _rec(number: int, acc: float, macs: float, state: str = "complete", folder: str | None = None) -> TrialRecord:
    return TrialRecord(number, state, {"accuracy": acc, "macs": macs} if state == "complete" else None, {},
                       {"macs": macs}, folder=folder)


def test_pareto_front_keeps_exactly_the_non_dominated_complete_trials():
    recs = [_rec(0, 0.90, 10), _rec(1, 0.95, 20), _rec(2, 0.94, 30), _rec(3, 0.95, 20), _rec(4, 0.99, 99),
            _rec(5, 0.999, 1, state="infeasible")]
    assert [r.number for r in pareto_front(recs, ["accuracy", "macs"])] == [0, 1, 3, 4]
    assert [r.number for r in pareto_front(recs, ["accuracy"])] == [4]


def test_keep_best_checkpoints_deletes_all_but_the_best_k(tmp_path):
    recs = []
    for n, acc in enumerate((0.5, 0.9, 0.7, 0.8)):
        folder = tmp_path / str(n)
        folder.mkdir()
        (folder / "final.pt").write_bytes(b"x")
        (folder / "best.pt").write_bytes(b"x")
        recs.append(_rec(n, acc, 10, folder=str(folder)))
    assert sorted(keep_best_checkpoints(recs, ["accuracy"], 2)) == [0, 2]
    assert sorted(p.parent.name for p in tmp_path.glob("*/final.pt")) == ["1", "3"]


# ------------------------------------------------------------------------------------------- CLI
def _cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True)


def test_cli_errors_are_one_line_and_exit_1(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(BASE))
    r = _cli("search", str(plain), "--data", "synthetic:shapes?n=100&size=16&channels=1&classes=4", "--study", "s",
             "--root", str(tmp_path))
    assert r.returncode == 1 and "declares nothing to search" in r.stderr and "Traceback" not in r.stderr
    r = _cli("study", "missing", "--root", str(tmp_path))
    assert r.returncode == 1 and "no study storage" in r.stderr
    r = _cli("search", str(plain), "--data", "x", "--study", "s", "--objectives", "speed")
    assert r.returncode == 2 and "--objectives" in r.stderr
