"""Architecture search with Optuna over the ``search`` section of a spec (see arch.search_space).

Importing ``search`` is cheap: the names below load their module (and optuna / torch) on first use.
Nothing here imports Qt; the GUI runs ``run_search`` in a worker thread and draws what it reports.

Run or resume a study::

    config = SearchConfig(spec=spec, data="idx:/data/mnist", study="mnist-1", trials=20, timeout=None,
                          objectives=("accuracy",),            # or ("accuracy", "macs"), ... : a Pareto front
                          limits=Limits(max_macs=5_000_000),    # max_params, max_macs, max_memory, max_latency, min_rf
                          sampler="tpe",                       # tpe | nsga2 | random | gp (gp needs scipy)
                          pruner=None,                         # median | hyperband | halving | none; bucket | none
                          workers=1, storage=None,             # None: journal file root/STUDY/journal.log
                          root=Path("studies"), epochs=3, device="auto", seed=0, keep_best=3,
                          train={"crop": 2})                   # base training.TrainConfig options
    config.problems() -> list[str]                             # every bad option, in words (check() raises)
    config.to_json(spec="net.json"); search.config.load_config("search.json", given={})  # `search --config`
    stop = threading.Event()
    view = run_search(config, on_trial=callback, on_epoch=callback2, stop=stop)   # -> StudyView

  ``on_trial(TrialRecord)`` is called when a trial starts, again once its candidate is sampled and
  analysed (both state "running", the second with params and figures), and when it ends;
  ``on_epoch(number, row)`` after every epoch of a running trial (live learning curves). Both run on the
  calling thread. ``stop.set()`` cancels running trials between steps (they are recorded as interrupted
  and retried on the next run) and returns. Rerunning the same config resumes the study up to ``trials``.
  Each trial runs in its own worker process (``workers`` at a time, capped by cores and memory unless
  ``force_workers``; disjoint CPU threads; one worker per GPU by default, see search.resources), so memory
  never grows across trials. Settings, device and storage are checked before anything heavy
  (``runner.check_fast``). Trial samplers are seeded from (seed, trial number); a candidate already in the
  study is reused, never trained twice (state ``duplicate``). Database storages retry a lost connection
  for ``storage_wait`` seconds, then raise ``storage.StorageUnavailable`` (one line, password masked).

Read a study (any time, any process, also while it runs)::

    view = open_study(name, storage_url=None, root="studies")  # -> StudyView(name, objectives, identity, records)
    records = load_study_records(name, storage_url, root)      # -> list[TrialRecord]
    view.best()            # single objective: complete trials by accuracy; multi: the Pareto front
    pareto_front(records, objectives)                          # non-dominated complete trials
    trial_spec(name, number, storage_url, root) -> Spec        # open a trial as a document, export it
    TrialRecord: number, state (complete | infeasible | pruned | failed | interrupted | duplicate | running |
                 waiting), duplicate_of, retry_of, counts (toward --trials),
                 values {objective: value}, accuracy, params (sampled, by spec path), figures (params, macs,
                 memory, rf, train_bytes, latency), macs, param_count, curve [{epoch, val_acc, val_loss,
                 train_loss, train_acc, lr, ...}], reason, duration, train_seconds, spec_text, spec(), folder

Reports and export::

    write_report(view, "out.html" | "out.md", top=5)            # optuna-dashboard's views included
    search.explore: importances (Optuna PED-ANOVA), axes, points, contour, intermediate  (plain data)
    export_trial(view, "best.json" | "best.py" | "best.onnx", number=None) -> (trial number, bytes)

Per-trial artifacts in ``root/STUDY/trials/NNNNN/``: spec.json, analysis.json (totals, receptive field,
lints), the training run files (history.csv / history.json / run.json / config.json) and, for the best
``keep_best`` trials only, final.pt / best.pt checkpoints.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SearchConfig": "search.config", "Limits": "search.config", "SearchError": "search.config",
    "OBJECTIVES": "search.config",
    "run_search": "search.runner",
    "open_study": "search.records", "load_study_records": "search.records", "trial_spec": "search.records",
    "pareto_front": "search.records", "StudyView": "search.records", "TrialRecord": "search.records",
    "write_report": "search.report", "export_trial": "search.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
