"""The caches behind incremental analysis: what they share cannot be changed, and every cached answer
equals the uncached one (the witnesses: the same spec analysed with the caches cleared, and its graph
analysed whole, as an fx import is, instead of block by block)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis import analyze
from analysis.formats import count, nbytes
from analysis.lints import edited
from arch.errors import ConvSmithError, SpecError
from arch.expand import build_graph, clear_cache, expand
from arch.graph import Graph
from arch.limits import MAX_EXPANDED_BLOCKS
from arch.paths import with_value
from arch.registry import family
from arch.spec import BlockSpec, Spec, dumps, parse_spec
from arch.templates import load_template
from tests.spec_strategies import valid_specs, valid_value

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def edits(draw: st.DrawFn) -> tuple[Spec, Spec, int]:
    """A valid spec, the same spec with one field of top-level block i set to another valid value, and i."""
    spec = draw(valid_specs(max_blocks=7))
    i = draw(st.integers(0, len(spec.body) - 1))
    bs, path = spec.body[i], f"body[{i}]"
    if bs.block == "stage":
        bs, path = bs.params["unit"], path + ".unit"
    fields = [f for f in family(bs.block).fields if f.kind not in ("block", "overrides")]
    assume(fields)
    f = draw(st.sampled_from(fields))
    try:
        changed = with_value(spec, f"{path}.{f.name}", draw(valid_value(f)))
    except SpecError:  # a cross-field rule (groups must divide out, ...)
        assume(False)
    return spec, changed, i


def outcome(spec: Spec) -> Any:
    """Everything an analysis says, or the problems that stop it."""
    try:
        return analyze(spec, batch=2).to_json()
    except SpecError as e:
        return [str(p) for p in e.problems]


def nodes_of(graph: Graph) -> list[tuple[Any, ...]]:
    return [(n.name, n.op, n.inputs, n.shape, dict(n.attrs), n.block, n.family) for n in graph.nodes]


def infos_of(graph: Graph) -> list[tuple[Any, ...]]:
    return [(b.path, b.family, b.summary, b.label, b.module, b.in_shape, b.out_shape, b.parent, list(b.nodes),
             b.output) for b in graph.blocks]


@FAST
@given(edits())
def test_an_edit_analysed_from_the_caches_equals_a_cold_analysis(case: tuple[Spec, Spec, int]) -> None:
    spec, changed, _ = case
    outcome(spec)  # the caches now hold every block of the spec before the edit
    warm = outcome(changed)
    clear_cache()
    assert warm == outcome(changed)


@FAST
@given(valid_specs(max_blocks=7))
def test_block_by_block_analysis_equals_the_whole_graph_analysed_at_once(spec: Spec) -> None:
    """Spec analysis sums cached per-block figures (memory liveness included); a Graph is analysed in
    one pass over all its nodes. Lints agree too; only the spec analysis can offer fixes."""
    by_blocks = analyze(spec, batch=3, dtype="float16").to_json()
    whole = analyze(build_graph(spec), batch=3, dtype="float16").to_json()
    for lint in by_blocks["lints"] + whole["lints"]:
        lint.pop("fix")
    assert by_blocks == whole


@FAST
@given(edits())
def test_a_variant_re_expands_only_the_changed_block_and_equals_a_full_build(case: tuple[Spec, Spec, int]) -> None:
    spec, changed, i = case
    base = expand(spec)
    assume(base.graph.ok)
    variant = base.variant(changed, {i})
    clear_cache()
    full = build_graph(changed)
    assert nodes_of(variant) == nodes_of(full) and infos_of(variant) == infos_of(full)
    assert [str(p) for p in variant.problems] == [str(p) for p in full.problems]


@FAST
@given(edits())
def test_an_expansion_from_the_previous_state_equals_a_full_one(case: tuple[Spec, Spec, int]) -> None:
    """The designer expands each edit from the last state's expansion (blocks that are the same objects are
    taken as they are): graph, problems and the whole analysis equal a cold build of the edited spec."""
    spec, changed, _ = case
    incremental = expand(changed, previous=expand(spec))
    clear_cache()
    full = expand(changed)
    assert nodes_of(incremental.graph) == nodes_of(full.graph) and infos_of(incremental.graph) == infos_of(full.graph)
    assert [str(p) for p in incremental.graph.problems] == [str(p) for p in full.graph.problems]
    assert incremental.sizes == full.sizes
    if not full.graph.problems:
        assert analyze(changed, batch=2, expansion=incremental).to_json() == outcome(changed)


def test_an_expansion_from_the_previous_state_still_checks_size_input_and_settings() -> None:
    spec = load_template("resnet20")
    base = expand(spec)
    nested = BlockSpec("stage", {"repeat": 2, "unit": BlockSpec("stage", {"repeat": 64, "unit": BlockSpec(
        "stage", {"repeat": 64, "unit": BlockSpec("activation", {})})})})  # 2 + 128 + 8,192 blocks: allowed
    wide = dataclasses.replace(spec, body=[*spec.body[:-1], nested, spec.body[-1]])
    wide_expansion = expand(wide, previous=base)
    assert not wide_expansion.graph.problems and sum(wide_expansion.sizes) == expand(wide).sizes[-2] + sum(
        base.sizes) and MAX_EXPANDED_BLOCKS < 8 * 64 * 64
    huge = with_value(wide, f"body[{len(wide.body) - 2}].repeat", 8)  # only this block's size is counted again
    assert "at most 20,000" in str(expand(huge, previous=wide_expansion).graph.problems[0])
    smaller = dataclasses.replace(spec, input=(3, 16, 16))  # same block objects, another input: all expanded
    assert nodes_of(expand(smaller, previous=base).graph) == nodes_of(build_graph(smaller))
    classes = dataclasses.replace(spec, num_classes=7)  # another setting: the head's shape follows
    assert expand(classes, previous=base).graph.nodes[-1].shape == (7,)
    with pytest.raises(ConvSmithError, match="expansion passed to analyze"):
        analyze(classes, expansion=base)


def test_cached_nodes_and_infos_are_shared_and_read_only() -> None:
    spec = load_template("resnet18")
    clear_cache()
    first, again = build_graph(spec), build_graph(spec)
    assert all(a is b for a, b in zip(first.nodes[1:], again.nodes[1:]))  # from the cache (the input is new)
    node = first.node("body.0.conv")
    with pytest.raises(AttributeError, match="read-only"):
        node.shape = (1, 1, 1)
    with pytest.raises(TypeError, match="read-only"):
        node.attrs["kernel"] = (9, 9)
    with pytest.raises(TypeError, match="read-only"):
        node.attrs.update(kernel=(9, 9))
    info = first.block("body[4][1]")
    with pytest.raises(AttributeError, match="read-only"):
        info.out_shape = (1,)
    with pytest.raises(AttributeError):
        info.nodes.append("x")  # a tuple
    assert node.attrs["kernel"] == (7, 7) and info.out_shape == (256, 14, 14)
    # copies are independent and pickle, so a caller can keep or derive from them
    clone = copy.deepcopy(first)
    assert nodes_of(clone) == nodes_of(first) and dict(pickle.loads(pickle.dumps(node.attrs))) == dict(node.attrs)
    clear_cache()
    assert nodes_of(build_graph(spec)) == nodes_of(first) and infos_of(build_graph(spec)) == infos_of(first)


def test_an_edit_re_expands_its_block_and_the_blocks_its_shape_reaches() -> None:
    spec = load_template("cifar_cnn")
    before = build_graph(spec)
    same_shape = build_graph(with_value(spec, "body[3].kernel", 5))  # 'same' padding: shapes unchanged
    wider = build_graph(with_value(spec, "body[3].out", 48))  # the next conv reads 48 channels
    for graph, fresh in ((same_shape, {"body[3]"}), (wider, {"body[3]", "body[4]"})):
        old = {n.name: n for n in before.nodes}
        for n in graph.nodes[1:]:  # the input node is made for each graph
            assert (n is old[n.name]) == (n.block.split("]")[0] + "]" not in fresh), n.name


def test_lint_fixes_are_checked_on_the_same_spec_the_gui_gets() -> None:
    """``edited`` copies only the edited block; the result is what ``with_value`` makes of the whole spec."""
    spec = parse_spec({"format": "convsmith/1", "name": "odd", "input": [3, 32, 32], "num_classes": 10, "body": [
        {"block": "conv", "out": 12}, {"block": "stage", "repeat": 2, "unit": {"block": "conv", "out": 20},
                                       "first": {"out": 10, "stride": 2}},
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]})
    text = dumps(spec)
    fixes = [lint.fix for lint in analyze(spec).lints if lint.fix is not None]
    assert len(fixes) >= 2
    for fix in fixes:
        whole = spec
        for path, value in fix.edits:
            whole = with_value(whole, path, value)
        new, changed = edited(spec, fix.edits)
        assert dumps(new) == dumps(whole) and changed == {int(re.match(r"body\[(\d+)\]", p)[1]) for p, _ in fix.edits}
        assert build_graph(whole).ok
    with pytest.raises(SpecError):
        edited(spec, [("body[1].unit.out", 0)])
    assert dumps(spec) == text  # the analysed spec itself is untouched


@pytest.mark.parametrize(("n", "counted", "in_bytes"), [
    (999, "999", "999 B"), (1000, "1k", "1000 B"), (999_499, "999k", "976 KiB"), (999_999, "1M", "977 KiB"),
    (1_234_567, "1.23M", "1.18 MiB"), (2**20 - 1, "1.05M", "1 MiB"), (999_999_999, "1G", "954 MiB"),
    (-999_999, "-1M", "-977 KiB")])
def test_counts_round_into_the_next_unit(n: int, counted: str, in_bytes: str) -> None:
    """999,999 used to read '1e+03k'; a value that rounds to 1000 of a unit is written in the next one."""
    assert count(n) == counted and nbytes(n) == in_bytes


def test_a_field_as_a_cache_key_tells_ints_from_floats() -> None:
    """Reports print 5 and 5.0 differently, so cached fields must not serve one for the other."""
    from analysis.parts import exact
    from analysis.receptive import UnitRF

    whole, fractional = UnitRF((5, 5), (2, 2), (1, 1)), UnitRF((5.0, 5), (2, 2), (1, 1))
    assert whole == fractional and exact(whole) != exact(fractional) and exact(whole) == exact(UnitRF(*whole))
