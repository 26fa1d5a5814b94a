"""Samplers. Each trial records its constraints with ``trial.set_constraint`` (search.trial): Optuna 5's
samplers read them from the trial, so TPE, NSGA-II and GP steer away from infeasible regions."""

from __future__ import annotations

import importlib.util
import warnings

import optuna

from search.config import SearchConfig, SearchError


def startup_trials(trials: int) -> int:
    """Random trials before the model-based samplers take over: a third of a short study, at most 10."""
    return max(3, min(10, trials // 3))


def make_sampler(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler named in ``config`` (each worker process builds its own with its own seed)."""
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
                                      group=True)
