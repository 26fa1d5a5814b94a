"""A seeded mutation fuzzer over template specs, and hypothesis properties for hostile text and sizes.

Every mutant (wrong types, out-of-range and huge numbers, deep nesting, unicode, missing and extra keys)
is either accepted, and then builds on meta tensors with the output shape and parameter count the
analysis reported, or refused with a ConvSmithError: never another exception (a traceback for a user).
ConvSmith's part of each mutant (load, analyse, render, build) stays under 2 s of CPU time (CPU, not wall
clock: the machine is shared; the witness forward pass on meta tensors is not ConvSmith's time)."""

from __future__ import annotations

import copy
import json
import random
import time
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import analyze, formats, html
from arch.builder import build
from arch.errors import ConvSmithError
from arch.limits import MAX_EXPANDED_BLOCKS, MAX_NESTING
from arch.spec import loads
from arch.templates import template_text

TEMPLATES = ("lenet5", "resnet20", "mobilenet_mnist", "cifar_cnn")
MUTANTS = 300
SEED = 12
ODD_VALUES: list[Any] = [None, True, -1, 0, 2**63, -(2**70), 1e308, float("inf"), 0.5, "", "x" * 10_000, "\udc80",
                         "卷积", "\x00", [], {}, [1, 2, 3], {"block": "conv"}, "same", "auto"]


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON document: dict keys and list items, recursively."""
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, path + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def mutate(doc: dict, rng: random.Random) -> dict:
    """One to three random mutations of a decoded spec."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(doc)[1:])
        parent, key = _get(doc, path[:-1]), path[-1]
        kind = rng.choice(("value", "number", "delete", "extra", "nest", "repeat", "unicode", "duplicate"))
        value = parent[key]
        if kind == "value":
            parent[key] = rng.choice(ODD_VALUES)
        elif kind == "number":
            base = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 1
            parent[key] = rng.choice([base * 10**rng.randint(1, 12), -base, base + 1, 0, base * 0.5])
        elif kind == "delete":
            del parent[key]
        elif kind == "extra" and isinstance(value, dict):
            value[rng.choice(["junk", "out", "kernel", "repeat", "unit", "format"])] = rng.choice(ODD_VALUES)
        elif kind == "nest" and isinstance(value, dict) and "block" in value:
            unit = value
            for _ in range(rng.choice([2, 10, MAX_NESTING, 200])):
                unit = {"block": "stage", "repeat": rng.randint(1, 64), "unit": unit}
            parent[key] = unit
        elif kind == "repeat" and isinstance(value, dict) and "block" in value:
            parent[key] = {"block": "stage", "repeat": rng.choice([1, 64, 10**6]), "unit": value}
        elif kind == "unicode" and isinstance(value, str):
            parent[key] = value + rng.choice(["é", "\u202e", "\udc80", "\U0001F600", "\n", '"', "\\"])
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
    return doc


def check(text: str) -> tuple[str, float]:
    """'refused' or 'built', and the CPU seconds ConvSmith took (load, analyse, render, build: not the
    witness forward pass); raises AssertionError on any disagreement, lets no non-ConvSmith error pass."""
    start = time.process_time()
    try:
        spec = loads(text)
        report = analyze(spec)
    except ConvSmithError as e:
        assert str(e).strip(), "an error with no message"
        return "refused", time.process_time() - start
    for render in (formats.table, formats.to_json, formats.to_csv, formats.markdown, html.report):
        render(report).encode("utf-8")  # printable everywhere
    try:
        with torch.device("meta"):
            model = build(spec)
    except ConvSmithError:  # a build-only limit (arch.limits.MAX_BUILD_PARAMS)
        return "refused", time.process_time() - start
    took = time.process_time() - start
    out = model(torch.empty(2, *spec.input, device="meta"))
    assert tuple(out.shape[1:]) == tuple(report.graph.output.shape)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    return "built", took


@pytest.mark.slow
def test_mutation_fuzzer() -> None:
    rng = random.Random(SEED)
    docs = {name: json.loads(template_text(name)) for name in TEMPLATES}
    for name in TEMPLATES:  # warm up: first imports and caches are not a mutant's cost
        check(template_text(name))
    outcomes = {"refused": 0, "built": 0}
    slowest = 0.0
    for i in range(MUTANTS):
        name = TEMPLATES[i % len(TEMPLATES)]
        mutant = mutate(docs[name], rng)
        text = json.dumps(mutant)
        try:
            outcome, took = check(text)
        except Exception as e:  # noqa: BLE001 - the point: name the mutant that escaped
            raise AssertionError(f"mutant {i} of {name} escaped with {type(e).__name__}: {e}\n{text[:2000]}") from e
        outcomes[outcome] += 1
        slowest = max(slowest, took)
        assert slowest < 2.0, f"mutant {i} of {name} took {slowest:.2f} s of CPU"
    assert outcomes["refused"] > 50 and outcomes["built"] > 50, outcomes  # both paths really exercised


# ----------------------------------------------------------------------------------- hypothesis
BASE = {"format": "convsmith/2", "input": [1, 8, 8], "num_classes": 3}
BODY = [{"block": "conv", "out": 8}, {"block": "flatten"}, {"block": "classifier"}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=90), label=st.text(max_size=70), description=st.text(max_size=200))
def test_any_text_is_refused_or_renders(name: str, label: str, description: str) -> None:
    doc = {**BASE, "name": name, "description": description,
           "body": [{**BODY[0], "label": label}, *BODY[1:]]}
    try:
        report = analyze(loads(json.dumps(doc)))
    except ConvSmithError as e:
        assert "\n" not in str(e).strip() or str(e).count("\n") < 4
        return
    for render in (formats.table, formats.to_json, formats.to_csv, formats.markdown, html.report):
        render(report).encode("utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 60), repeat=st.integers(1, 64))
def test_nesting_and_repeats_are_bounded(depth: int, repeat: int) -> None:
    unit: dict = {"block": "conv", "out": 8, "padding": 1}
    for _ in range(depth):
        unit = {"block": "stage", "repeat": repeat, "unit": unit}
    doc = {**BASE, "name": "n", "body": [unit, *BODY[1:]]}
    blocks = sum(repeat ** k for k in range(depth + 1)) + 2
    try:
        report = analyze(loads(json.dumps(doc)))
    except ConvSmithError as e:  # the conv inside the stages is one more level of blocks
        assert depth + 1 > MAX_NESTING or blocks > MAX_EXPANDED_BLOCKS
        assert "nested more than" in str(e) or f"expands to {blocks:,} blocks" in str(e)
        return
    assert depth + 1 <= MAX_NESTING and blocks <= MAX_EXPANDED_BLOCKS
    assert sum(1 for x in report.layers if x.type == "conv") == repeat ** depth


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_pass_the_fuzzer_check(name: str) -> None:
    assert check(template_text(name))[0] == "built"
