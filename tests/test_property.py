"""Property test: any spec document either validates and builds with inferred shapes equal to the real
ones, or raises SpecError whose every problem names a real place in the document. Nothing else escapes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, find, given, settings
from hypothesis import strategies as st

from arch.builder import build
from arch.errors import SpecError
from arch.expand import build_graph
from arch.paths import get_block
from arch.spec import parse_spec
from tests.spec_strategies import spec_documents, valid_specs
from tests.test_blocks import check_forward

STEP = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]")
TOP = re.compile(r"[A-Za-z_]\w*(\[\d\])?")


def _resolves(doc: dict[str, Any], path: str) -> bool:
    """A problem's path points into the document: every step exists but possibly the last (a missing key)."""
    if TOP.fullmatch(path) and path.split("[")[0] in {*doc, "format", "name", "input", "num_classes", "body"}:
        return True
    if not path.startswith("body["):
        return False
    steps = [m.group(1) or int(m.group(2)) for m in STEP.finditer(path[4:])]
    if "".join(f".{s}" if isinstance(s, str) else f"[{s}]" for s in steps) != path[4:]:
        return False
    here: Any = doc["body"]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, int) and isinstance(here, list) and step < len(here):
            here = here[step]
        elif isinstance(step, str) and isinstance(here, dict) and (step in here or last):
            here = here.get(step)
        else:
            return False
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_documents())
def test_any_document_validates_and_builds_or_names_its_problems(doc: dict[str, Any]) -> None:
    try:
        spec = parse_spec(doc)
    except SpecError as e:
        event("rejected by validation")
        assert e.problems
        for p in e.problems:
            assert p.message and _resolves(doc, p.path), f"{p} does not name a place in {doc}"
        return
    graph = build_graph(spec)
    if graph.problems:
        event("valid fields, shape problem")
        for p in graph.problems:  # shape problems name the block: body[i], body[i][r], body[i].paths[p][j]
            if p.path == "body":  # the whole body: empty, or over arch/limits.py's size limit
                continue
            assert re.fullmatch(r"body(\[\d+\]|\.paths\[\d+\]\[\d+\])+", p.path), p
            assert get_block(spec, p.path), p
        with pytest.raises(SpecError) as e:
            build(spec)
        assert e.value.problems == graph.problems
        return
    event("built and ran")
    check_forward(spec)


@settings(max_examples=40, deadline=None)
@given(valid_specs(), st.integers(1, 3))
def test_valid_specs_build_at_any_batch_size(spec, batch: int) -> None:
    graph = check_forward(spec, batch=batch)
    assert graph.ok and graph.input_shape == spec.input


def _features(spec) -> set[str]:
    graph = build_graph(spec)
    found = {f"family {b.family}" for b in graph.blocks}
    found |= {" ".join(b.summary.split()[:2]) for b in graph.blocks if b.family == "residual"}
    found |= {"stage with first" for b in spec.body if b.block == "stage" and b.params.get("first")}
    for n in graph.nodes:
        a = n.attrs
        if n.op == "conv":
            found |= {f"padding_mode {a['padding_mode']}", f"kernel {a['kernel'][0]}x{a['kernel'][1]}"}
            found |= {"dilation"} if a["dilation"] != (1, 1) else set()
            found |= {"'same' padding"} if a["padding"] == "same" else set()
            found |= {"grouped conv"} if n.family == "conv" and a["groups"] > 1 else set()
        if n.op in ("maxpool", "avgpool", "nmaxpool"):
            found |= {f"{n.op} ceil_mode"} if a["ceil_mode"] else set()
            found |= {f"{n.op} padding"} if a["padding"] != (0, 0) else set()
        if n.op == "mul" and n.family == "inverted_residual":
            found.add("inverted residual with SE")
    return found


# each feature the issue lists, and the block family it is drawn from (None: any family)
REQUIRED = {
    "dilation": "conv", "kernel 1x7": "conv", "kernel 7x1": "conv", "'same' padding": "conv",
    "padding_mode reflect": "conv", "padding_mode replicate": "conv", "padding_mode circular": "conv",
    "grouped conv": "conv", "family inception": None, "residual basic": "residual", "residual bottleneck": "residual",
    "inverted residual with SE": "inverted_residual", "family separable": None, "family se": None,
    "maxpool ceil_mode": "pool", "maxpool padding": "pool", "avgpool ceil_mode": "pool", "avgpool padding": "pool",
    "nmaxpool ceil_mode": "pool", "nmaxpool padding": "pool", "family global_pool": None,
    "family adaptive_pool": None, "stage with first": "stage",
}


@pytest.mark.parametrize("feature", sorted(REQUIRED))
def test_valid_specs_reach_every_listed_feature(feature: str) -> None:
    """The shared strategy reaches every feature the issue lists (deterministic search, no shrinking)."""
    names = [REQUIRED[feature]] if REQUIRED[feature] else None
    found = find(valid_specs(names=names), lambda spec: feature in _features(spec),
                 settings=settings(max_examples=2000, phases=[Phase.generate], derandomize=True, database=None,
                                   deadline=None))
    assert build_graph(found).ok
