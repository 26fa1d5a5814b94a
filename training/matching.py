"""Which runs trained a given network: runs are matched by what is built, not by the spec's text.

The name, the description, the search section, labels and how a value is written (a default left out or
spelled out) do not change the network; the expanded graph does: every op with its attributes and shapes,
named as the built module's state_dict keys. The classes are the data's at training time (the loop adapts
them), so a run matches a network that differs from it only in ``num_classes``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from arch.errors import ConvSmithError
from arch.expand import build_graph
from arch.spec import Spec, load
from training.runs import RunInfo

Fingerprint = tuple[Any, ...]
_specs: dict[tuple[str, float], Spec | None] = {}  # (spec.json path, mtime) -> the run's network


def fingerprint(spec: Spec, num_classes: int | None = None) -> Fingerprint:
    """What is built from ``spec`` (with ``num_classes`` when given): ops, attributes, shapes, problems."""
    built = dataclasses.replace(spec, name="network", description="", search={},
                                num_classes=spec.num_classes if num_classes is None else num_classes)
    graph = build_graph(built)
    return (tuple((n.name, n.op, n.inputs, n.shape, tuple(sorted((k, repr(v)) for k, v in n.attrs.items())))
                  for n in graph.nodes), tuple(str(p) for p in graph.problems))


def run_fingerprint(run_dir: Path, num_classes: int) -> Fingerprint | None:
    """The fingerprint of a run's network at ``num_classes`` (None: no readable spec.json); specs are cached
    by file and mtime."""
    path = run_dir / "spec.json"
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        return None
    if key not in _specs:
        try:
            _specs[key] = load(path)
        except ConvSmithError:
            _specs[key] = None
    trained = _specs[key]
    return None if trained is None else fingerprint(trained, num_classes)


def runs_of(spec: Spec, runs: list[RunInfo]) -> list[RunInfo]:
    """The runs (in the order given) that trained the network ``spec`` builds."""
    target = fingerprint(spec)
    return [info for info in runs if run_fingerprint(info.path, spec.num_classes) == target]
