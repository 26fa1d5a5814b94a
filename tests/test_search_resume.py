"""Killing trials: a worker SIGKILLed mid-trial, and the whole command SIGKILLed then rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from search import SearchConfig, open_study, run_search
from search.attrs import WORKER
from search.config import SearchError
from tests.conftest import ROOT
from tests.test_search_study import DATA, PLAIN, config


def _plain(root: Path, study: str, **kw) -> SearchConfig:
    from arch.spec import parse_spec

    return config(root, study, spec=parse_spec(PLAIN), train={"batch_size": 32}, epochs=4, **kw)


def test_sigkilled_worker_fails_its_trial_at_once_and_a_retry_replaces_it(tmp_path):
    cfg = _plain(tmp_path, "kill-worker", trials=2)
    killed: list[int] = []

    def on_epoch(number: int, row: dict) -> None:
        if number == 1 and row["epoch"] == 1 and not killed:
            pid = open_study("kill-worker", root=tmp_path).study.trials[1].user_attrs[WORKER]["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    view = run_search(cfg, on_epoch=on_epoch)
    assert killed
    dead = view.record(1)
    assert dead.state == "interrupted" and f"worker process {killed[0]} was killed by SIGKILL" in dead.reason
    retry = [r for r in view.records if r.retry_of == 1]
    assert len(retry) == 1 and retry[0].state == "complete" and retry[0].params == dead.params
    assert sum(r.state == "complete" for r in view.records) == 2 and len(view.records) == 3


def test_stop_interrupts_the_running_trial_and_the_next_run_retries_it(tmp_path):
    cfg = _plain(tmp_path, "stop", trials=2)
    stop = threading.Event()
    view = run_search(cfg, on_epoch=lambda number, row: stop.set(), stop=stop)
    assert [r.state for r in view.records] == ["interrupted", "waiting"]
    assert view.records[0].reason == "interrupted: the search was stopped" and view.records[1].retry_of == 0
    view = run_search(cfg)  # resume
    assert [r.state for r in view.records] == ["interrupted", "complete", "complete"]
    assert view.records[1].retry_of == 0 and view.records[1].params == view.records[0].params


def _wait_for(predicate, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sigkill_of_the_whole_search_loses_no_completed_trial_and_a_rerun_finishes(tmp_path):
    spec = tmp_path / "space.json"
    spec.write_text(json.dumps(PLAIN))
    root = tmp_path / "studies"
    cmd = [sys.executable, "main.py", "search", str(spec), "--data", DATA, "--study", "k", "--trials", "4",
           "--epochs", "4", "--root", str(root), "--pruner", "none", "--train", "batch_size=32", "--seed", "1"]
    first = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    state: dict = {}

    def mid_trial() -> bool:
        if not (root / "k" / "journal.log").exists():
            return False
        try:
            view = open_study("k", root=root)
        except SearchError:
            return False
        running = [r for r in view.records if r.state == "running" and r.curve]
        if any(r.state == "complete" for r in view.records) and running:
            state["view"], state["running"] = view, running[0].number
            return True
        return False

    try:
        _wait_for(mid_trial, 240)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = {r.number: r.values for r in state["view"].records if r.state == "complete"}
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    view = open_study("k", root=root)
    for number, values in before.items():
        assert view.record(number).state == "complete" and view.record(number).values == values
    dead = view.record(state["running"])
    assert dead.state == "interrupted" and "ended without finishing" in dead.reason
    retry = [r for r in view.records if r.retry_of == dead.number]
    assert len(retry) == 1 and retry[0].state == "complete" and retry[0].params == dead.params
    assert not [r for r in view.records if r.state in ("running", "waiting")]
    assert len([r for r in view.records if r.state != "interrupted"]) == 4
