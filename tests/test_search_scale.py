"""Search at scale without a database server: per-trial seeds, duplicates, the final epoch, a cut journal,
the device and worker checks, masked passwords, limits that exclude the space, fast validation, GPU spread,
Optuna's heartbeat on an RDB storage (SQLite here; PostgreSQL in test_search_postgres)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from arch.spec import parse_spec
from search import Limits, SearchConfig, open_study, resources, run_search, storage
from search.config import SearchError
from search.journal import first_bad_line
from search.liveness import reap
from search.runner import MAX_INFEASIBLE_RUN, counts_toward_target
from search.samplers import make_sampler, trial_seed
from search.trial import may_prune
from tests.conftest import ROOT
from tests.test_search_study import DATA, GOOD, PLAIN, SPEC, config


def _python(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


# 1. seeds and duplicates ---------------------------------------------------------------------------------

def _sample(sampler: optuna.samplers.BaseSampler, study: optuna.Study) -> tuple[int, dict]:
    study.sampler = sampler
    trial = study.ask()
    params = {"a": trial.suggest_int("a", 0, 10_000), "b": trial.suggest_float("b", 0.0, 1.0)}
    study.tell(trial, 0.5)
    return trial.number, params


def test_two_machines_sharing_a_study_sample_different_candidates(tmp_path):
    """Each trial's sampler seed comes from the storage's trial number, not a per-machine counter."""
    cfg = config(tmp_path, "seeds", sampler="random", trials=10)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db", direction="maximize")
    machine_a, machine_b = make_sampler(cfg, cfg.seed), make_sampler(cfg, cfg.seed)  # same command, same seed
    drawn = [_sample(m, study)[1] for _ in range(3) for m in (machine_a, machine_b)]
    assert len({json.dumps(p, sort_keys=True) for p in drawn}) == len(drawn)
    # The seed is a function of (seed, number): a replay of the same study draws the same candidates.
    again = optuna.create_study(storage=f"sqlite:///{tmp_path}/t.db", direction="maximize")
    assert [_sample(make_sampler(cfg, cfg.seed), again)[1] for _ in range(6)] == drawn
    assert trial_seed(0, 1) != trial_seed(0, 2) and trial_seed(0, 3) != trial_seed(1, 3)


def test_a_candidate_already_finished_is_reused_not_trained(tmp_path):
    cfg = config(tmp_path, "dup", trials=3, limits=Limits())
    from search.storage import create_or_resume

    study = create_or_resume(cfg)
    for _ in range(3):
        study.enqueue_trial(GOOD)
    view = run_search(cfg)
    first, second, third = view.records
    assert first.state == "complete" and first.duplicate_of is None and first.curve
    for dup in (second, third):
        assert dup.state == "duplicate" and dup.duplicate_of == 0 and "its result reused" in dup.reason
        assert dup.values == first.values and dup.train_seconds is None
        assert not (Path(dup.folder) / "run.json").exists()  # never trained
    assert [r.number for r in view.best()] == [0]  # the best list shows the original once


def test_a_candidate_running_elsewhere_is_sampled_again_and_not_counted(tmp_path):
    from search.trial import find_twin

    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/d.db", direction="maximize")
    running = study.ask({"x": optuna.distributions.IntDistribution(0, 3)})
    assert find_twin(study, running) is None
    study._storage.set_trial_user_attr(running._trial_id, "spec", "{}")  # its candidate is fully sampled
    study.enqueue_trial({"x": running.params["x"]})
    twin = study.ask({"x": optuna.distributions.IntDistribution(0, 3)})
    found = find_twin(study, twin)
    assert found is not None and found.number == running.number and found.state == TrialState.RUNNING
    assert find_twin(study, running) is None  # the lower number trains; only the higher one yields
    study._storage.set_trial_user_attr(twin._trial_id, "duplicate_of", running.number)
    study.tell(twin, state=TrialState.FAIL)
    assert not counts_toward_target(study.trials[twin.number])
    assert counts_toward_target(study.trials[running.number])


# 2. (database part in test_search_postgres) a trial interrupted by the storage is retried, not failed ------

def test_a_storage_error_inside_a_trial_interrupts_and_retries_it(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import search.trial as trial_mod

    def lost(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(trial_mod, "_analyse", lost)
    cfg = config(tmp_path, "lost", trials=1, limits=Limits())
    from search.storage import create_or_resume
    from search.trial import TrialContext, run_trial

    study = create_or_resume(cfg)
    study.enqueue_trial(GOOD)
    trial = study.ask()
    run_trial(study, trial, TrialContext(cfg, None, "cpu", 1, lambda m: None, threading.Event()))
    view = open_study("lost", root=tmp_path)
    assert view.records[0].state == "interrupted" and "storage error" in view.records[0].reason
    assert view.records[1].state == "waiting" and view.records[1].retry_of == 0
    assert not counts_toward_target(view.study.trials[0])


# 4. a journal cut mid-line ----------------------------------------------------------------------------------

def test_a_journal_cut_mid_line_is_repaired_with_a_backup_and_never_appended_onto(tmp_path):
    cfg = config(tmp_path, "cut", trials=1, limits=Limits())
    from search.storage import create_or_resume

    create_or_resume(cfg)
    journal = tmp_path / "cut" / "journal.log"
    good = journal.read_bytes()
    partial = b'{"op_code": 4, "worker_id": "x", "study_id": 0, "user_a'
    journal.write_bytes(good + partial)  # a crash in the middle of a write
    study = create_or_resume(cfg)        # opens (Optuna skips the partial line) and writes
    study.set_user_attr("after", 1)
    backups = list(journal.parent.glob("journal.log.cut-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == partial
    assert journal.read_bytes().startswith(good) and first_bad_line(journal) is None
    assert open_study("cut", root=tmp_path).study.user_attrs["after"] == 1  # later reads work


def test_a_journal_with_a_corrupt_complete_line_is_refused_with_its_line_number(tmp_path):
    cfg = config(tmp_path, "bad", trials=1, limits=Limits())
    from search.storage import create_or_resume

    create_or_resume(cfg)
    journal = tmp_path / "bad" / "journal.log"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b'{"op_code": 4, "study_i{"op_code": 5}\n' + b"".join(lines[1:]))
    before = journal.read_bytes()
    done = _python("main.py", "study", "bad", "--root", str(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "corrupt at line 2" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(SearchError, match="corrupt at line 2"):
        create_or_resume(cfg)
    assert journal.read_bytes() == before  # nothing written onto it


# 5. and 10. checks before anything heavy --------------------------------------------------------------------

PROBE = ("import sys, time; t = time.perf_counter(); import main; rc = main.main(sys.argv[1:]); "
         "print('torch' in sys.modules, round(time.perf_counter() - t, 3), rc)")


def _probe(*argv: str) -> tuple[bool, float, int, str]:
    done = _python("-c", PROBE, *argv)
    torch_loaded, seconds, rc = done.stdout.split()[-3:]
    return torch_loaded == "True", float(seconds), int(rc), done.stderr


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(PLAIN))
    return path


def test_device_cuda_without_a_gpu_is_refused_before_any_trial(tmp_path, space):
    if resources.driver_present():
        pytest.skip("this machine has a GPU driver")
    torch_loaded, seconds, rc, err = _probe("search", str(space), "--data", DATA, "--study", "g", "--root",
                                            str(tmp_path), "--device", "cuda")
    assert rc == 1 and "--device cuda: no CUDA GPU" in err and "Traceback" not in err
    assert not torch_loaded and not (tmp_path / "g").exists()  # no study, no trial


def test_unknown_train_option_lists_the_valid_keys_before_anything_heavy(tmp_path, space):
    torch_loaded, seconds, rc, err = _probe("search", str(space), "--data", DATA, "--study", "t", "--root",
                                            str(tmp_path), "--train", "foo=1")
    assert rc == 1 and "unknown option 'foo'" in err and "lr" in err and "batch_size" in err
    assert not torch_loaded and not (tmp_path / "t").exists()


def test_storage_errors_come_before_anything_heavy(tmp_path, space):
    torch_loaded, seconds, rc, err = _probe("search", str(space), "--data", DATA, "--study", "s", "--storage",
                                            "bogus://x", "--root", str(tmp_path))
    assert rc == 1 and "unknown storage" in err and not torch_loaded


def test_report_into_a_missing_folder_is_refused(tmp_path):
    target = tmp_path / "nowhere" / "deeper" / "x.html"
    done = _python("main.py", "study", "any", "--root", str(tmp_path), "--report", str(target))
    assert done.returncode == 1 and "does not exist" in done.stderr and not (tmp_path / "nowhere").exists()


def test_workers_are_capped_by_cores_and_memory_unless_forced():
    cfg = SearchConfig(spec=parse_spec(SPEC), data=DATA, study="w", workers=64)
    n, why = resources.cap_workers(cfg, cores=2, memory=64 * 2**30)
    assert n == 2 and "--workers 64 capped to 2" in why and "--force-workers" in why
    n, why = resources.cap_workers(cfg, cores=32, memory=3 * resources.WORKER_BYTES)
    assert n == 3 and "GiB available" in why
    cfg.force_workers = True
    assert resources.cap_workers(cfg, cores=2, memory=2**30) == (64, None)
    cfg.workers, cfg.force_workers = 2, False
    assert resources.cap_workers(cfg, cores=2, memory=64 * 2**30) == (2, None)


# Multi-GPU spread (the logic; no GPU needed) ----------------------------------------------------------------

def test_workers_spread_over_gpus_one_per_device_by_default():
    assert resources.default_workers("auto", 4) == 4 and resources.default_workers("cuda", 2) == 2
    assert resources.default_workers("auto", 1) == 1 and resources.default_workers("cpu", 8) == 1
    assert resources.assign_devices("auto", 4, 4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert resources.assign_devices("cuda", 5, 2) == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    assert resources.assign_devices("cuda", 3, 1) == ["cuda:0"] * 3  # N workers on one GPU is allowed
    assert resources.assign_devices("cuda:1", 2, 4) == ["cuda:1", "cuda:1"]
    assert resources.assign_devices("auto", 2, 0) == ["auto", "auto"]
    assert resources.assign_devices("cpu", 2, 4) == ["cpu", "cpu"]
    with pytest.raises(SearchError, match="sees no CUDA GPU"):
        resources.check_device("cuda", count=0)
    with pytest.raises(SearchError, match=r"has 2 GPU\(s\)"):
        resources.check_device("cuda:2", count=2)
    resources.check_device("cuda:1", count=2)


# 6. the final epoch is never pruned -------------------------------------------------------------------------

def test_the_final_epoch_is_never_pruned(tmp_path):
    assert may_prune(1, 3) and may_prune(2, 3) and not may_prune(3, 3) and not may_prune(1, 1)
    cfg = config(tmp_path, "last", spec=parse_spec(PLAIN), trials=8, epochs=1, pruner="median", limits=Limits(),
                 train={"batch_size": 64})
    view = run_search(cfg)
    assert not [r for r in view.records if r.state == "pruned"]
    # every trial reported its one epoch to Optuna (intermediate values), and the median pruner would have
    # pruned some of them there: the ones below the median of the earlier ones
    trials = [t for t in view.study.trials if t.state == TrialState.COMPLETE and t.intermediate_values]
    assert len(trials) >= 6 and all(list(t.intermediate_values) == [1] for t in trials)


# 7. and 8. the PostgreSQL driver and masked passwords -------------------------------------------------------

def test_postgres_extra_names_psycopg_3_and_the_error_names_the_package(monkeypatch):
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("psycopg[binary]") for d in project["optional-dependencies"]["postgres"])
    assert any(d.startswith("grpcio") for d in project["optional-dependencies"]["grpc"])
    assert "convsmith[postgres]" in (ROOT / "README.md").read_text()
    assert "convsmith[postgres]" in (ROOT / "docs" / "search.md").read_text()
    assert storage.postgres_url("postgresql://u:p@h/db").startswith("postgresql+psycopg://")
    monkeypatch.setattr(storage.importlib.util, "find_spec", lambda name: None)
    t = time.perf_counter()
    with pytest.raises(SearchError, match=r"pip install 'convsmith\[postgres\]'") as e:
        storage.open_storage("postgresql://u:p@127.0.0.1/db")
    assert time.perf_counter() - t < 1.0 and "psycopg" in str(e.value)


def test_passwords_are_masked():
    url = "postgresql://search:pa:ss@w0rd@db.example.org:5432/studies"
    assert storage.mask(url) == "postgresql://search:***@db.example.org:5432/studies"
    assert storage.mask(f"failed for {url}: password pa:ss@w0rd rejected", url).count("pa:ss@w0rd") == 0
    assert storage.mask("sqlite:///x.db") == "sqlite:///x.db"
    assert storage.mask("timeout expired", "postgresql://u:x@h/db") == "timeout expired"  # whole words only
    assert storage.mask("mysql://root@host/db") == "mysql://root@host/db"


def test_a_hung_database_host_is_reported_within_the_connect_timeout(tmp_path):
    """A host that accepts connections and never answers: `study` says so in seconds, not minutes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # accept, never answer
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    url = f"postgresql://u:hunter22@127.0.0.1:{server.getsockname()[1]}/db"
    try:
        t = time.perf_counter()
        done = _python("main.py", "study", "x", "--storage", url, timeout=60)
        seconds = time.perf_counter() - t
    finally:
        stop.set()
        server.close()
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "timeout" in done.stderr.lower() and "hunter22" not in done.stderr + done.stdout
    assert seconds < storage.CONNECT_TIMEOUT + 15  # interpreter start-up on a loaded machine included


# 9. a limit no candidate meets --------------------------------------------------------------------------------

def test_a_limit_that_excludes_the_space_stops_after_a_bounded_run_naming_it(tmp_path):
    cfg = config(tmp_path, "nolimit", spec=parse_spec(PLAIN), trials=60, limits=Limits(max_macs=1),
                 workers=2)
    with pytest.raises(SearchError) as e:
        run_search(cfg)
    view = open_study("nolimit", root=tmp_path)
    macs = min(r.figures["macs"] for r in view.records)
    assert f"{MAX_INFEASIBLE_RUN} candidates in a row" in str(e.value) and "--max-macs 1" in str(e.value)
    assert f"smallest macs seen was {macs:,.6g}" in str(e.value)
    assert MAX_INFEASIBLE_RUN <= len(view.records) < MAX_INFEASIBLE_RUN + 3  # bounded, not 60


def test_min_rf_out_of_reach_names_the_largest_rf_seen(tmp_path, space):
    done = _python("main.py", "search", str(space), "--data", DATA, "--study", "rf", "--root", str(tmp_path),
                   "--min-rf", "100000", "--trials", "40", timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--min-rf 100,000 (the largest rf seen was" in done.stderr


# Optuna's heartbeat on database storages ------------------------------------------------------------------

def test_optuna_heartbeat_fails_a_silent_trial_and_its_retry_callback_enqueues_it(tmp_path):
    url = f"sqlite:///{tmp_path}/hb.db"
    st = storage.open_storage(url, heartbeat=1, grace=2)
    study = optuna.create_study(storage=st, direction="maximize")
    trial = study.ask()
    trial.suggest_int("x", 0, 9)
    st.record_heartbeat(trial._trial_id)  # then its machine loses power
    time.sleep(3.5)  # past the grace period, with the database clock's whole seconds
    reap(study, grace=2)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL and trials[1].state == TrialState.WAITING
    assert trials[1].params == trials[0].params and trials[1].user_attrs == {"retry_of": 0}
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trials[1]) == 0
    study.set_user_attr("convsmith", {"objectives": ["accuracy"]})
    view = open_study(study.study_name, storage_url=url)
    assert view.records[0].state == "interrupted" and "heartbeat" in view.records[0].reason
    assert not counts_toward_target(trials[0], {0}) and counts_toward_target(trials[1], {0})


# The latency limit is timed with torch.utils.benchmark -------------------------------------------------------

def test_latency_comes_from_torch_benchmark_and_agrees_with_a_plain_timer():
    import torch
    from torch import nn

    from search.latency import forward_ms

    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.Flatten(),
                          nn.Linear(32 * 24 * 24, 10)).eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # both timers alike; 2 threads on 2 busy cores spin-wait unpredictably
    try:
        ms = forward_ms(model, (1, 28, 28), torch.device("cpu"), max_seconds=0.3)
        x = torch.zeros(1, 1, 28, 28)
        plain = []
        with torch.no_grad():
            model(x)
            for _ in range(30):
                t = time.perf_counter()
                model(x)
                plain.append(1000 * (time.perf_counter() - t))
    finally:
        torch.set_num_threads(threads)
    # Same quantity in the same unit: a median is never far below the fastest single pass nor above the slowest
    # (bounds wide enough for a machine shared with other jobs, where single passes vary 100x).
    assert 0.5 * min(plain) <= ms <= 2 * max(plain), (ms, sorted(plain))


# Trained weights as Optuna artifacts -------------------------------------------------------------------------

def test_best_weights_are_optuna_artifacts_fetchable_by_another_process(tmp_path):
    import torch

    from arch.builder import build
    from search.weights import artifact_id
    from training import load_checkpoint

    shared = tmp_path / "shared-artifacts"  # what every machine would mount
    cfg = config(tmp_path, "art", spec=parse_spec(PLAIN), trials=3, keep_best=1, limits=Limits(), artifacts=shared,
                 train={"batch_size": 64})
    view = run_search(cfg)
    best = view.best()[0]
    others = [r.number for r in view.records if r.state == "complete" and r.number != best.number]
    assert artifact_id(view.study, best.number) is not None
    assert others and all(not list(shared.glob(f"*{artifact_id(view.study, n) or 'none'}*")) for n in others)
    out = tmp_path / "best.pt"
    done = _python("main.py", "study", "art", "--root", str(tmp_path), "--artifacts", str(shared),
                   "--export-weights", str(out))
    assert done.returncode == 0, done.stderr
    model = build(best.spec())
    load_checkpoint(out).load_into(model)  # the trial's architecture takes the fetched weights
    local = torch.load(Path(best.folder) / "final.pt", weights_only=True)
    fetched = torch.load(out, weights_only=True)
    assert fetched.keys() == local.keys()
    assert all(torch.equal(fetched["state_dict"][k], local["state_dict"][k]) for k in local["state_dict"])
