"""Stopping hopeless trials early.

Single objective: Optuna's pruners on the per-epoch validation accuracy (``trial.report``).
Multi-objective studies cannot use ``trial.report`` / ``should_prune`` (an open Optuna limitation), so
they use the *MACs-bucket rule*: a trial is compared only with trials of similar cost, those whose MACs
lie in the same power-of-two bucket (``floor(log2(MACs))``: 1-2M, 2-4M, ...). After epoch ``e`` (never
the last one), it is stopped when at least ``min_peers`` finished trials (complete or pruned) of its
bucket reached epoch ``e`` and its validation accuracy there is below their median. Cheap and costly
networks are thus never judged against each other, which keeps the Pareto front's cheap end alive.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import optuna
from optuna.trial import TrialState

from search.attrs import CURVE, FIGURES
from search.config import SearchConfig


def make_pruner(config: SearchConfig) -> optuna.pruners.BasePruner:
    """The Optuna pruner of a single-objective study (multi-objective studies use ``BucketRule``)."""
    name = config.pruner_name
    if name == "median":
        # A trial is judged from epoch 1 on, once 3 trials have finished (Optuna's default waits for 5).
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if name == "hyperband":
        searched = "train.epochs" in config.spec.search  # then the longest run is only known as trials finish
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto" if searched else config.epochs,
                                              reduction_factor=3)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def bucket(macs: float) -> int:
    return int(math.floor(math.log2(max(float(macs), 1.0))))


def epoch_accuracy(curve: Sequence[dict], epoch: int) -> float | None:
    for row in curve:
        if row.get("epoch") == epoch:
            return row.get("val_acc")
    return None


class BucketRule:
    """The multi-objective pruning rule described in the module docstring."""

    def __init__(self, epochs: int, min_peers: int = 3) -> None:
        self.epochs, self.min_peers = epochs, min_peers

    def should_prune(self, study: optuna.Study, number: int, macs: float, epoch: int, acc: float) -> bool:
        if epoch >= self.epochs:
            return False
        mine = bucket(macs)
        peers = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
            macs = (t.user_attrs.get(FIGURES) or {}).get("macs")
            if t.number == number or macs is None or bucket(macs) != mine:
                continue
            a = epoch_accuracy(t.user_attrs.get(CURVE, ()), epoch)
            if a is not None:
                peers.append(a)
        return len(peers) >= self.min_peers and acc < statistics.median(peers)
