"""Spec format versions and the steps that carry an older document forward, so old files keep their meaning.

A step takes the decoded JSON document of one version and returns the document of the next one (a new
object: the caller's stays as it was) plus one line per change, for ``convsmith validate`` and the GUI.
``upgrade`` chains the steps from any known version to ``CURRENT``; the parser reads only ``CURRENT``.

convsmith/1 -> convsmith/2: a ``conv`` block's ``bias`` default changed from false to "learn a bias unless
batch norm follows" (what ``nn.Conv2d`` does). A v1 conv block that did not say ``bias`` had none, so the
step writes ``"bias": false`` into it, wherever it sits (top level, a stage's unit, any nested block, a search
space's alternatives).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Step = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


def _v1_to_v2(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out = copy.deepcopy(doc)
    notes: list[str] = []

    def visit(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if value.get("block") == "conv" and "bias" not in value:
                value["bias"] = False
                notes.append(f"{path}: bias false written in (convsmith/1 convs had no bias unless they said so)")
            for key, item in value.items():
                visit(item, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]")

    for key in ("body", "search"):  # a search space's block alternatives are v1 blocks too
        if isinstance(out.get(key), (list, dict)):
            visit(out[key], key)
    out["format"] = "convsmith/2"
    return out, notes


STEPS: dict[str, tuple[str, Step]] = {"convsmith/1": ("convsmith/2", _v1_to_v2)}
CURRENT = "convsmith/2"
KNOWN = (*STEPS, CURRENT)


def upgrade(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``doc`` carried to ``CURRENT`` (the same object when it already is) and what each step changed.

    An unknown or missing format is left alone: the parser reports it."""
    notes: list[str] = []
    fmt = doc.get("format")
    while isinstance(fmt, str) and fmt in STEPS:
        target, step = STEPS[fmt]
        doc, changed = step(doc)
        notes += [f"{fmt} -> {target}: {line}" for line in changed] or [f"{fmt} -> {target}: nothing to change"]
        fmt = target
    return doc, notes
