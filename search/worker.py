"""The worker process: runs exactly one trial, then exits, so host and CUDA memory never pile up.

It talks to the coordinator through a one-way pipe: ``("started", number)`` once it holds a trial,
``("sampled", number)`` once the candidate is sampled and analysed, ``("epoch", number, row)`` after each
epoch, ``("error", message)`` when it cannot run at all, ``("storage", message)`` when the storage stopped
answering for longer than the search waits (the trial stays RUNNING and is retried by a later run).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import optuna

from arch.errors import ConvSmithError
from search.attrs import RETRY_OF
from search.config import SearchConfig
from search.counting import surplus
from search.liveness import Heartbeat, frozen, interrupt
from search.pruning import make_pruner
from search.samplers import make_sampler
from search.storage import StorageUnavailable, search_storage
from search.trial import TrialContext, run_trial


@dataclass
class WorkerJob:
    config: SearchConfig
    data: Any                # training.Data, loaded once by the coordinator and sent to every worker
    storage: str
    seed: int                # the study's seed (the sampler adds the trial number)
    device: str
    threads: int | None


def _sender(conn: Connection) -> Any:
    def send(message: tuple) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            pass  # the coordinator is gone; the trial still finishes and is recorded in the storage
    return send


def worker_main(job: WorkerJob, conn: Connection, cancel: Any) -> None:
    """Process entry point (see the module docstring). ``cancel`` is a multiprocessing Event."""
    send = _sender(conn)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch() -> None:  # the coordinator's Stop reaches the training loop through ``stop``
        cancel.wait()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = job.config
    try:
        study = optuna.load_study(study_name=config.study, storage=search_storage(config, job.storage, started=True),
                                  sampler=make_sampler(config, job.seed), pruner=make_pruner(config))
        if cancel.is_set():
            return
        trial = study.ask()
        send(("started", trial.number))
        if RETRY_OF not in trial.user_attrs and surplus(study.get_trials(deepcopy=False), trial.number, config.trials):
            interrupt(study, frozen(study, trial), f"interrupted: the study already holds {config.trials} trials "
                      "(another process started the last one at the same instant)")
            return
        ctx = TrialContext(config, job.data, job.device, job.threads, send, stop)
        with Heartbeat(study, trial, config.heartbeat):
            run_trial(study, trial, ctx)
    except StorageUnavailable as e:
        send(("storage", str(e)))
        raise SystemExit(1) from None
    except ConvSmithError as e:
        send(("error", str(e)))
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # Ctrl-C: run_trial recorded the interruption; no traceback
        raise SystemExit(130) from None
