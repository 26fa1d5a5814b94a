"""Which trials count toward ``--trials``: one rule for the coordinators and for the workers.

A trial counts when it is running or finished, except: an interrupted first attempt (its retry counts
instead; one interrupted before it sampled anything costs nothing), and a duplicate of a candidate that
was being trained elsewhere (sampled again). A worker that finds its new trial beyond the target (two
machines launched the last trial at the same instant) interrupts it before sampling, so a study shared
by any number of machines ends with exactly ``--trials`` counted trials.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.attrs import DUPLICATE_OF, INTERRUPTED, RETRY_OF


def counts_toward_target(t: optuna.trial.FrozenTrial, retried: set[int] = frozenset()) -> bool:
    if t.state == TrialState.FAIL and DUPLICATE_OF in t.user_attrs:
        return False
    if t.state == TrialState.FAIL and (INTERRUPTED in t.user_attrs or t.number in retried):
        return RETRY_OF in t.user_attrs  # an interrupted retry is skipped (it counts)
    return True


def surplus(trials: list[optuna.trial.FrozenTrial], number: int, target: int) -> bool:
    """Whether trial ``number`` (just created) would make the study hold more than ``target`` trials."""
    from search.records import retried_numbers

    retried = retried_numbers(trials)
    before = sum(1 for t in trials if t.number < number and t.state != TrialState.WAITING
                 and counts_toward_target(t, retried))
    return before >= target
