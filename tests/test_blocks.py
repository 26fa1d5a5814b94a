"""Every registered block family, driven by the registry: it validates with its defaults, expands,
builds, runs, and every inferred shape (per block and per op) equals the real forward pass."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from arch.builder import build
from arch.expand import build_graph, expand_spec
from arch.graph import Graph, within
from arch.op_table import MERGES
from arch.registry import REGISTRY, families, family
from arch.spec import FORMAT, Spec, parse_spec

torch.set_num_threads(2)


def run_checked(model: torch.nn.Module, graph: Graph, x: torch.Tensor) -> torch.Tensor:
    """``model(x)``, asserting that every block's and every op's output shape equals the graph's inferred
    shape (the submodule names being the graph's node names) and that the output has no NaN or inf."""
    seen: dict[str, tuple[int, ...]] = {}
    expected: dict[str, tuple[int, ...]] = {}
    handles = []

    def record(name: str, module: torch.nn.Module, shape: tuple[int, ...]) -> None:
        expected[name] = (len(x), *shape)
        handles.append(module.register_forward_hook(lambda m, args, out: seen.__setitem__(name, tuple(out.shape))))

    for b in graph.blocks:
        record(b.path, model.get_submodule(b.module), b.out_shape)
    for n in graph.nodes:
        if n.op not in MERGES and n.op != "input":
            record(n.name, model.get_submodule(n.name), n.shape)
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    assert seen == expected
    assert tuple(y.shape) == (len(x), *graph.output.shape)
    assert torch.isfinite(y).all(), "NaN or inf in the output"
    return y


def randomise_bn_stats(model: torch.nn.Module, seed: int = 3) -> torch.nn.Module:
    """Random running statistics, model in eval mode: a wrong eps or a lost buffer changes the outputs."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model.eval()


def check_forward(spec: Spec, input_shape: tuple[int, ...] | None = None, batch: int = 2) -> Graph:
    """Build ``spec`` and run it on a random batch through ``run_checked``; check that every op's
    "which block made me" points at the block that lists it."""
    graph = expand_spec(spec, input_shape)
    x = torch.randn(batch, *graph.input_shape, generator=torch.Generator().manual_seed(0))
    run_checked(build(spec, input_shape).eval(), graph, x)
    for b in graph.blocks:
        for name in b.nodes:
            node = graph.node(name)
            assert node.block == b.path and node.family == b.family and name.startswith(b.module + ".")
    return graph


def _containers() -> list[str]:
    return [f.name for f in families() if any(x.kind in ("block", "paths") for x in f.fields)]


def _cases() -> list[dict[str, Any]]:
    """Each family with its defaults; a family holding a block once per other family as that block."""
    leaves = [f.name for f in families() if f.name not in _containers()]
    cases = []
    for fam in families():
        inner = [x.name for x in fam.fields if x.kind == "block"]
        if fam.composite:  # a branch: each leaf on two paths, concatenated
            cases += [{"block": fam.name, "merge": "concat", "paths": [[{"block": leaf}], [{"block": leaf}]]}
                      for leaf in leaves]
        elif not inner:
            cases.append({"block": fam.name})
        for leaf in leaves if inner else ():
            cases.append({"block": fam.name, **{name: {"block": leaf} for name in inner}})
    return cases


def _id(case: dict[str, Any]) -> str:
    inner = [v["block"] for v in case.values() if isinstance(v, dict)]
    inner += [b["block"] for v in case.values() if isinstance(v, list) for lane in v for b in lane]
    return case["block"] + "".join(f"-{i}" for i in inner)


def _spec(body: list[dict[str, Any]]) -> Spec:
    return parse_spec({"format": FORMAT, "name": "case", "input": [3, 12, 12], "num_classes": 5, "body": body})


def test_registry_is_complete_and_consistent() -> None:
    names = [f.name for f in families()]
    assert {"conv", "separable", "pool", "global_pool", "adaptive_pool", "inception", "residual",
            "inverted_residual", "se", "batchnorm", "activation", "dropout", "flatten", "linear",
            "classifier", "stage"} <= set(names)
    for fam in families():
        assert family(fam.name) is REGISTRY[fam.name]
        assert fam.title and fam.doc and fam.category
        assert len({f.name for f in fam.fields}) == len(fam.fields)
        for f in fam.fields:
            if f.kind in ("block", "overrides", "paths"):
                continue
            assert f.check(f.default) == (f.default, None) or (f.nullable and f.default is None), (fam.name, f.name)
            assert f.describe()


@pytest.mark.parametrize("case", _cases(), ids=_id)
def test_family_builds_with_defaults(case: dict[str, Any]) -> None:
    """On a 3x12x12 input, or after flatten for the families that need a flat input."""
    built = 0
    for prefix in ([], [{"block": "flatten"}]):
        spec = _spec(prefix + [case])
        graph = build_graph(spec)
        if graph.ok:
            check_forward(spec)
            built += 1
        else:
            here = f"body[{len(prefix)}]"
            assert all(p.path == here or within(p.path, here) for p in graph.problems), graph.problems
    assert built, f"{case} builds neither on a CxHxW input nor on a flat one"


def _placed(tail: list[dict[str, Any]]) -> Spec | None:
    """``tail`` after an 8-channel conv (CxHxW input) or after flatten, whichever expands cleanly."""
    for prefix in ({"block": "conv", "out": 8}, {"block": "flatten"}):
        spec = _spec([prefix, *tail])
        if build_graph(spec).ok:
            return spec
    return None


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - set(_containers())))
def test_family_in_a_stage_with_first_override(name: str) -> None:
    """A stage of three whose first repeat overrides one field of its unit with a non-default value."""
    fam = family(name)
    for f in fam.fields:
        for value in (2, 1, True, False) if f.kind in ("int", "pair", "bool") else f.choices:
            if value == f.default or f.check(value)[1] is not None:
                continue
            spec = _placed([{"block": "stage", "repeat": 3, "unit": {"block": name}, "first": {f.name: value}}])
            if spec is None:
                continue
            graph = check_forward(spec)
            assert [b.path for b in graph.blocks if b.parent == "body[1]"] == ["body[1][0]", "body[1][1]", "body[1][2]"]
            first = [n for n in graph.nodes if n.block == "body[1][0]"]
            assert first and all(n.name.startswith("body.1.0.") for n in first)
            return
    assert not [f for f in fam.fields if f.kind in ("int", "pair", "bool", "choice")], f"{name}: no override fits"
