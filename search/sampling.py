"""Define-by-run sampling: one Optuna ``suggest_*`` call per searched value, named by its spec path.

A slot first samples its family (``body[3].block``); only the chosen family's own fields are then
sampled (``body[3].residual.kind``), so Optuna sees a conditional space and dashboards read the paths.
"""

from __future__ import annotations

from typing import Any

import optuna

from arch.search_space import Dimension, SearchSpace
from arch.spec import Spec


def suggest_one(trial: optuna.Trial, name: str, dim: Dimension) -> Any:
    """Sample one dimension and return its decoded (JSON) value."""
    if dim.kind == "categorical":
        return dim.decode(trial.suggest_categorical(name, list(dim.options)))
    if dim.kind == "int":
        return trial.suggest_int(name, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(name, float(dim.low), float(dim.high), step=dim.step, log=dim.log)


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Every value of one candidate, keyed like ``SearchSpace.apply`` expects."""
    values: dict[str, Any] = {}
    for d in space.dims:
        values[d.name] = suggest_one(trial, d.name, d)
    for s in space.slots:
        choice = s.choice
        chosen = suggest_one(trial, choice.name, choice)
        values[choice.name] = chosen
        alt = next(a for a in s.alternatives if a.block.block == chosen)
        for d in alt.dims:
            key = s.field_name(alt, d)
            values[key] = suggest_one(trial, key, d)
    return values


def decode_params(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    """Stored Optuna params (categoricals as their Optuna-safe options) -> decoded values."""
    dims = {d.name: d for d in space.dims}
    for s in space.slots:
        dims[s.choice.name] = s.choice
        for alt in s.alternatives:
            for d in alt.dims:
                dims[s.field_name(alt, d)] = d
    return {k: dims[k].decode(v) for k, v in params.items() if k in dims}


def concrete(space: SearchSpace, base: Spec, params: dict[str, Any]) -> tuple[Spec, dict[str, Any]]:
    """The trial's spec and training overrides from its stored Optuna params."""
    return space.apply(base, decode_params(space, params))


def describe(params: dict[str, Any], width: int = 90) -> str:
    """A one-line summary of sampled values for progress lines: ``body[1].kernel=5 train.lr=0.003``."""
    parts = []
    for k, v in params.items():
        if isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{k}={v}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"
