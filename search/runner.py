"""The coordinator: one worker process per trial, at most ``workers`` at a time, until the study holds
the requested number of trials.

Counting is done against the storage, so a rerun continues where the last run stopped, and N
coordinators on N machines sharing one storage fill the same study. A trial counts when it is running or
finished, except an interrupted first attempt, which its enqueued retry replaces. The coordinator
launches a worker only while that count plus its not-yet-started workers is below the target (a new
worker takes a waiting retry before it creates a trial), so one machine never makes more trials than
asked. Workers get disjoint CPU threads (and GPUs as search.resources assigns them); a worker that dies
mid-trial has its trial failed at once.

Order of work: settings, device and storage are checked first (well under a second, see ``check_fast``);
only then do the fork server and the data load start. The run stops with one line when
``MAX_INFEASIBLE_RUN`` candidates in a row break a limit (the limit excludes the space), or when the
storage stays away longer than ``config.storage_wait``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from arch.search_space import parse_space
from search import liveness, resources, weights
from search.attrs import DUPLICATE_OF, FIGURES, INFEASIBLE
from search.config import SearchConfig, SearchError
from search.counting import counts_toward_target
from search.records import (
    StudyView,
    TrialRecord,
    best_numbers,
    keep_best_checkpoints,
    retried_numbers,
    to_record,
    view,
)
from search.samplers import make_sampler
from search.storage import StorageUnavailable, create_or_resume, storage_url
from search.trial import LIMIT_FIGURE
from search.worker import WorkerJob, worker_main

ROOT = Path(__file__).resolve().parent.parent  # the folder holding the arch, training and search packages
POLL = 0.5          # seconds between looks at stop / timeout / stale trials
STOP_WAIT = 60.0    # seconds a stopped worker gets to record its interruption before it is terminated
MAX_START_FAILURES = 3
MAX_INFEASIBLE_RUN = 20  # candidates in a row that break a limit before the search says the limit excludes all


def infeasible_verdict(config: SearchConfig, run: list[optuna.trial.FrozenTrial]) -> str | None:
    """When ``run`` (the latest finished trials, oldest first) are all infeasible and at least
    MAX_INFEASIBLE_RUN long: which limit excludes the space, with the closest value seen."""
    if len(run) < MAX_INFEASIBLE_RUN or not all(INFEASIBLE in t.user_attrs for t in run):
        return None
    parts = []
    for name, limit in config.limits.active().items():
        seen = [(t.user_attrs.get(FIGURES) or {}).get(LIMIT_FIGURE[name]) for t in run]
        seen = [v for v in seen if v is not None]
        if not seen:
            continue
        closest = max(seen) if name == "min_rf" else min(seen)
        if (closest < limit) if name == "min_rf" else (closest > limit):
            word = "largest" if name == "min_rf" else "smallest"
            parts.append(f"--{name.replace('_', '-')} {limit:,g} (the {word} {LIMIT_FIGURE[name]} seen was "
                         f"{closest:,.6g})")
    which = " and ".join(parts) or "the limits"
    return (f"{len(run)} candidates in a row broke a limit: {which} excludes the search space; relax it or "
            "widen the space")


# Imported once by the fork server, not by every worker: torch._dynamo alone takes seconds, and the first
# optimizer a process builds imports it.
PRELOAD = ["search.worker", "training.loop", "analysis", "arch.builder", "torch._dynamo"]


def _context() -> Any:
    """Workers fork from a clean server that has imported torch, optuna and our packages once (fast and
    thread-safe: the server runs no threads); ``spawn`` where there is no fork (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    # Python 3.11's fork server ignores the parent's sys.path: without our root on its path it would preload
    # nothing (or a stale install's copy), so it starts with PYTHONPATH naming this checkout first.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([old] if old else []))
    try:
        forkserver.ensure_running()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    return ctx


def check_fast(config: SearchConfig) -> optuna.Study:
    """Settings, search space, device and storage, checked before anything heavy (no torch, no data): returns
    the study, created or resumed."""
    config.check()
    if not parse_space(config.spec):
        raise SearchError(f"spec {config.spec.name!r} declares nothing to search: add a \"search\" section "
                          "(see docs/search.md)")
    resources.check_device(config.device)
    return create_or_resume(config)


def preflight(config: SearchConfig) -> Any:
    """The slower checks, reported before the first worker starts; returns the data (loaded here once and
    sent to each worker)."""
    from training import TrainConfig, load_data

    try:
        TrainConfig(**{**config.train, "epochs": config.epochs, "device": config.device}).check()
    except TypeError as e:
        raise SearchError(f"unknown training option: {e}") from None
    data = load_data(config.data, "cpu", input_shape=config.spec.input)
    if data.num_classes != config.spec.num_classes:
        raise SearchError(f"the spec has {config.spec.num_classes} classes but {config.data} has "
                          f"{data.num_classes}; set num_classes to {data.num_classes}")
    make_sampler(config, config.seed)
    return data


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class _Worker:
    process: Any
    conn: Any
    slot: int
    number: int | None = None
    error: str | None = None
    open: bool = True


@dataclass
class _Run:
    """State of one coordinator run."""

    config: SearchConfig
    study: optuna.Study
    on_trial: Callable[[TrialRecord], None] | None
    on_epoch: Callable[[int, dict], None] | None
    workers: dict[int, _Worker] = field(default_factory=dict)
    start_failures: int = 0
    errors: list[str] = field(default_factory=list)
    storage_lost: bool = False
    finished: list[optuna.trial.FrozenTrial] = field(default_factory=list)  # this run's settled trials, in order

    def trial(self, number: int) -> optuna.trial.FrozenTrial:
        return next(t for t in self.study.get_trials(deepcopy=False) if t.number == number)

    def report(self, number: int) -> TrialRecord:
        rec = to_record(self.trial(number), list(self.config.objectives))
        if self.on_trial:
            self.on_trial(rec)
        return rec

    def pending(self) -> int:
        """Trials that exist or are about to: counted trials that are not WAITING (a launched worker takes
        a waiting retry before it creates a new trial) plus workers that have not started one yet."""
        trials = self.study.get_trials(deepcopy=False)
        retried = retried_numbers(trials)
        counted = sum(counts_toward_target(t, retried) for t in trials if t.state != TrialState.WAITING)
        return counted + sum(1 for w in self.workers.values() if w.number is None)

    def receive(self, w: _Worker) -> None:
        while w.open and w.conn.poll():
            try:
                msg = w.conn.recv()
            except (EOFError, OSError):
                w.open = False
                return
            if msg[0] == "started":
                w.number = msg[1]
                self.report(w.number)
            elif msg[0] == "sampled":
                self.report(msg[1])
            elif msg[0] == "epoch" and self.on_epoch:
                self.on_epoch(msg[1], msg[2])
            elif msg[0] == "error":
                w.error = msg[1]
            elif msg[0] == "storage":
                w.error, self.storage_lost = msg[1], True

    def finish(self, w: _Worker) -> None:
        """A worker process ended: settle its trial and report it."""
        self.receive(w)
        w.process.join()
        # Workers are children of the fork server: if it died (e.g. SIGTERM to the process group), the join
        # returns at once with code 255 while the worker may still be recording its interruption.
        deadline = time.monotonic() + STOP_WAIT
        while liveness.pid_alive(w.process.pid) and time.monotonic() < deadline:
            time.sleep(POLL / 5)
        w.conn.close()
        del self.workers[w.slot]
        code = w.process.exitcode
        if w.error:
            self.errors.append(w.error)
            return
        if w.number is None:
            if code:
                self.start_failures += 1
                if self.start_failures >= MAX_START_FAILURES:
                    self.errors.append(f"worker processes fail before starting a trial (the last {_exit_text(code)})")
            return
        self.start_failures = 0
        t = self.trial(w.number)
        if t.state == TrialState.RUNNING:
            liveness.interrupt(self.study, t, f"interrupted: worker process {w.process.pid} {_exit_text(code)}")
        self.report(w.number)
        t = self.trial(w.number)
        if t.state == TrialState.COMPLETE and DUPLICATE_OF not in t.user_attrs:
            self.finished.append(t)
            verdict = infeasible_verdict(self.config, self.finished[-MAX_INFEASIBLE_RUN:])
            if verdict:
                self.errors.append(verdict)
        records = view(self.study).records
        keep_best_checkpoints(records, list(self.config.objectives), self.config.keep_best)
        weights.keep_only(self.study, best_numbers(records, list(self.config.objectives), self.config.keep_best),
                          self.config.artifacts_folder)


def run_search(config: SearchConfig, on_trial: Callable[[TrialRecord], None] | None = None,
               on_epoch: Callable[[int, dict], None] | None = None,
               stop: threading.Event | None = None) -> StudyView:
    """Run (or resume) the study until it holds ``config.trials`` trials, the timeout passes, or ``stop``
    is set. ``on_trial`` gets a record when a trial starts, when its candidate is sampled and analysed (both
    state running; the second with params and figures) and when it ends; ``on_epoch``
    gets (trial number, epoch row) after every epoch. Both are called from this thread."""
    study = check_fast(config)
    ctx = _context()  # the fork server imports torch while the data loads
    data = preflight(config)
    liveness.reap(study, config.grace)
    cancel = ctx.Event()
    run = _Run(config, study, on_trial, on_epoch)
    url = storage_url(config)
    gpus = resources.gpu_count() if config.device in ("auto", "cuda") else 0
    workers, _ = resources.cap_workers(config)
    devices = resources.assign_devices(config.device, workers, gpus)
    threads = max(1, resources.cpus() // workers)
    t0 = last_reap = time.monotonic()
    try:
        while True:
            if stop is not None and stop.is_set():
                cancel.set()
            now = time.monotonic()
            if now - last_reap >= config.heartbeat:
                liveness.reap(study, config.grace)
                last_reap = now
            closed = cancel.is_set() or run.errors or (config.timeout is not None and now - t0 >= config.timeout)
            if not closed:
                free = [s for s in range(workers) if s not in run.workers]
                pending = run.pending() if free else 0
                for slot in free:
                    if pending >= config.trials:
                        break
                    job = WorkerJob(config, data, url, config.seed, devices[slot], threads)
                    reader, writer = ctx.Pipe(duplex=False)
                    proc = ctx.Process(target=worker_main, args=(job, writer, cancel), name=f"search-worker-{slot}",
                                       daemon=False)
                    proc.start()
                    writer.close()
                    run.workers[slot] = _Worker(proc, reader, slot)
                    pending += 1
            if not run.workers:
                break
            handles = [w.conn for w in run.workers.values() if w.open] + \
                      [w.process.sentinel for w in run.workers.values()]
            wait(handles, timeout=POLL)
            for w in list(run.workers.values()):
                run.receive(w)
                if not w.process.is_alive():
                    run.finish(w)
    except KeyboardInterrupt:
        cancel.set()
        _drain(run)
        raise
    except StorageUnavailable:
        cancel.set()
        _abandon(run)
        raise
    if run.errors:
        raise (StorageUnavailable if run.storage_lost else SearchError)(run.errors[0])
    liveness.reap(study, config.grace)
    return view(study)


def _abandon(run: _Run) -> None:
    """The storage is gone: stop the workers without recording anything (their trials stay RUNNING and are
    retried by the next run once their heartbeat is stale or their process is seen gone)."""
    deadline = time.monotonic() + 10
    for w in list(run.workers.values()):
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.terminate()
            w.process.join(5)


def _drain(run: _Run) -> None:
    """After Ctrl-C: let workers record their interruption, then make sure none is left behind."""
    deadline = time.monotonic() + STOP_WAIT
    for w in list(run.workers.values()):
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.terminate()
            w.process.join(5)
        run.finish(w)
