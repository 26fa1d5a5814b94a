"""Liveness of running trials, for every storage.

A running trial carries ``worker`` (host and pid) and a heartbeat refreshed by a thread: on database
storages Optuna's own (``RDBStorage.record_heartbeat``; ``optuna.storages.fail_stale_trials`` fails a
stale trial and its ``RetryInterrupted`` callback enqueues the retry), elsewhere (journal, gRPC proxy,
where Optuna has none) a ``heartbeat`` user attribute. A RUNNING trial whose process is gone (same host)
or whose heartbeat is older than the grace period was interrupted (SIGKILL, power loss, Stop): ``reap``
marks it FAIL with the reason and enqueues one retry with the same parameters, so no trial stays RUNNING
forever and an interrupted candidate is tried again once (a retry that is interrupted again is skipped).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from search.attrs import HEARTBEAT, INTERRUPTED, RETRY_OF, WORKER


def mark_alive(trial: optuna.Trial) -> None:
    trial.set_user_attr(WORKER, {"host": socket.gethostname(), "pid": os.getpid()})
    trial.set_user_attr(HEARTBEAT, time.time())


def optuna_heartbeat(study: optuna.Study) -> bool:
    """Whether the study's storage runs Optuna's own heartbeat (database storages opened for a search)."""
    interval = getattr(study._storage, "get_heartbeat_interval", None)
    return interval is not None and interval() is not None


class Heartbeat:
    """Refreshes a trial's heartbeat every ``interval`` seconds until stopped (a daemon thread)."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial, interval: float) -> None:
        self._study, self._trial, self._interval = study, trial, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{trial.number}", daemon=True)

    def _beat(self) -> None:
        if optuna_heartbeat(self._study):
            self._study._storage.record_heartbeat(self._trial._trial_id)
        else:
            self._trial.set_user_attr(HEARTBEAT, time.time())

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):  # a storage hiccup must not kill the trial; staleness shows it
                self._beat()

    def __enter__(self) -> Heartbeat:
        mark_alive(self._trial)
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _gone(t: optuna.trial.FrozenTrial) -> str | None:
    """Why a RUNNING trial of this host is dead (its process is gone), or None."""
    worker: dict[str, Any] = t.user_attrs.get(WORKER) or {}
    if worker.get("host") == socket.gethostname() and isinstance(worker.get("pid"), int):
        if not pid_alive(worker["pid"]):
            return f"worker process {worker['pid']} ended without finishing the trial"
    return None


def stale_reason(t: optuna.trial.FrozenTrial, grace: float, now: float | None = None) -> str | None:
    """Why a RUNNING trial is considered dead, or None while it is alive."""
    now = time.time() if now is None else now
    gone = _gone(t)
    if gone:
        return gone
    last = t.user_attrs.get(HEARTBEAT)
    if last is None and t.datetime_start is not None:
        last = t.datetime_start.timestamp()
    if last is not None and now - float(last) > grace:
        return f"no heartbeat for {now - float(last):.0f} s (grace {grace:g} s)"
    return None


def frozen(study: optuna.Study, trial: optuna.Trial) -> optuna.trial.FrozenTrial:
    """The stored state of a live trial."""
    return study._storage.get_trial(trial._trial_id)


def interrupt(study: optuna.Study, t: optuna.trial.FrozenTrial, reason: str) -> bool:
    """Fail a RUNNING trial that will not finish and enqueue its one retry. False if someone else did."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(t._trial_id, INTERRUPTED, reason)
        if not storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # finished or reaped by another process meanwhile
    if RETRY_OF not in t.user_attrs and t.params:
        study.enqueue_trial(t.params, user_attrs={RETRY_OF: t.number}, skip_if_exists=False)
    return True


def reap(study: optuna.Study, grace: float) -> list[int]:
    """Fail every stale RUNNING trial of the study; returns their numbers."""
    done = []
    heartbeat = optuna_heartbeat(study)
    if heartbeat:
        fail_stale_trials(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = _gone(t) if heartbeat else stale_reason(t, grace)
        if reason and interrupt(study, t, f"interrupted: {reason}"):
            done.append(t.number)
    return done
