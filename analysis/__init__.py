"""Analysis of a network: per-layer shapes, parameters, MACs/FLOPs, memory, receptive fields and lints,
rolled up per block, with reports. Spec analysis is arithmetic on the graph IR (no torch).

    rep = analyze(spec_or_graph, input_shape=None, batch=1, dtype="float32", object_size=None, freeze=None)

The names below load on first use, so ``analysis.cli`` (imported for every ``--help``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.engine import analyze
    from analysis.records import BlockRecord, Fix, LayerRecord, Lint, ReceptiveField, Report, Totals

__all__ = ["analyze", "Report", "LayerRecord", "BlockRecord", "Totals", "ReceptiveField", "Lint", "Fix"]


def __getattr__(name: str) -> Any:
    if name == "analyze":
        return importlib.import_module("analysis.engine").analyze
    if name in __all__:
        return getattr(importlib.import_module("analysis.records"), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
