"""Samplers. Each trial records its constraints with ``trial.set_constraint`` (search.trial): Optuna 5's
samplers read them from the trial, so TPE, NSGA-II and GP steer away from infeasible regions.

Seeds: every trial is sampled by a sampler seeded from (``--seed``, the trial's number in the storage).
Numbers are unique across all processes and machines sharing a study, so two machines never replay the
same random start-up candidates (a per-machine counter would); a rerun of a study stays reproducible.
TPE runs with ``constant_liar``, so trials running elsewhere repel the next proposals."""

from __future__ import annotations

import functools
import importlib.util
import warnings
from collections.abc import Callable
from typing import Any

import optuna

from search.config import SearchConfig, SearchError


def startup_trials(trials: int) -> int:
    """Random trials before the model-based samplers take over: a third of a short study, at most 10."""
    return max(3, min(10, trials // 3))


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` (unique per study, whatever process or machine runs it)."""
    return (seed * 1_000_003 + number) % (2**32)


class PerTrialSeed(optuna.samplers.BaseSampler):
    """A sampler rebuilt before each trial with ``trial_seed(seed, trial.number)`` (see the module docstring)."""

    def __init__(self, build: Callable[[int], optuna.samplers.BaseSampler], seed: int) -> None:
        self._build, self._seed = build, seed
        self.inner = build(seed)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.inner = self._build(trial_seed(self._seed, trial.number))
        self.inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, param_name: str,
                           param_distribution: Any) -> Any:
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: Any,
                    values: Any) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


def make_sampler(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler named in ``config``, reseeded per trial from ``seed`` and the trial number."""
    return PerTrialSeed(functools.partial(_build, config), seed)  # builds one now: gp without scipy fails here


def _build(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    name = config.sampler
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        # Small generations, so a study of a few dozen trials still evolves several times.
        population = max(4, min(50, config.trials // 4))
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    if name == "gp":
        if importlib.util.find_spec("scipy") is None:
            raise SearchError("the gp sampler needs scipy, which is not installed (pip install scipy); "
                              "or use --sampler tpe")
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup_trials(config.trials))
    # Multivariate TPE with groups models the conditional space of block-family slots jointly.
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(config.trials), multivariate=True,
                                      group=True, constant_liar=True)
