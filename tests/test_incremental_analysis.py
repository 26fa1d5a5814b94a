"""The designer's incremental analysis over a long edit session: each state is expanded from the previous
one's expansion and analysed from the blocks' cached records and lint scans, as gui/evaluation.py does.
Witnesses: the same spec analysed from scratch (every cache cleared, the spec copied so no block object is
shared), and for lints the whole graph analysed in one pass (one scan over every node, no per-block cache)."""

from __future__ import annotations

import copy
import random
from typing import Any

from analysis import analyze
from arch.errors import SpecError
from arch.expand import Expansion, build_graph, clear_cache, expand
from arch.paths import with_value
from arch.spec import BlockSpec, Spec
from benchmarks.gui_redraw import network

CONV = {"out": (6, 8, 12, 13, 16, 24), "kernel": (1, 2, 3, 5), "stride": (1, 2), "dilation": (1, 2),
        "bias": (True, False), "norm": ("batch", "none"), "padding": ("auto", "same", "same")}
# The session's first steps: a concat of a 2x2 conv padded 'same' beside a 3x3 (misaligned); then a block
# before it shifts every centre by half a pixel (same shapes, so the concat's segment is reused with another
# field entering it); then a 1x1 conv at stride 2 on 16x16 (skips pixels, drops the last row).
SCRIPT = ([("body[44].paths[0][0].kernel", 2), ("body[44].paths[0][0].padding", "same")],
          [("body[41].kernel", 2), ("body[41].padding", "same")],
          [("body[45].stride", 2)])
POOL = {"kernel": (2, 3), "stride": (1, 2), "padding": (0, 1), "ceil_mode": (True, False)}


def editable(blocks: list[BlockSpec], prefix: str) -> list[tuple[str, dict[str, tuple[Any, ...]]]]:
    """Every conv and pool block, nested branch paths included, with the values the session tries."""
    out: list[tuple[str, dict[str, tuple[Any, ...]]]] = []
    for i, bs in enumerate(blocks):
        path = f"{prefix}[{i}]"
        if bs.block == "conv":
            out.append((path, CONV))
        elif bs.block == "pool":
            out.append((path, POOL))
        elif bs.block == "branch":
            for p, blocks_of_path in enumerate(bs.params["paths"]):
                out += editable(blocks_of_path, f"{path}.paths[{p}]")
    return out


def from_scratch(spec: Spec, batch: int, freeze: str | None) -> Any:
    clear_cache()
    fresh = copy.deepcopy(spec)
    try:
        return analyze(fresh, batch=batch, freeze=freeze).to_json()
    except SpecError as e:
        return [str(p) for p in e.problems]


def incremental(spec: Spec, previous: Expansion | None, batch: int, freeze: str | None) -> tuple[Any, Expansion]:
    expansion = expand(spec, previous=previous)
    if expansion.graph.problems:
        return [str(p) for p in expansion.graph.problems], expansion
    return analyze(spec, batch=batch, freeze=freeze, expansion=expansion).to_json(), expansion


def test_a_session_of_random_edits_analyses_each_state_as_from_scratch() -> None:
    """Edits of convs and pools in a stretch of the nested benchmark network (inside branch paths too: edits
    pile up on the same blocks), with the blocks before and after it from the caches; undo to
    earlier states, other batches and freeze points: every state's layers, blocks, totals, receptive field and
    lints (fixes included) equal those of a cold analysis, and its lints those of the whole graph's single
    scan. The session makes several kinds of lint fire, so their per-block caches are exercised."""
    rng = random.Random(15)
    spec = network("nested")
    targets = [t for t in editable(spec.body, "body") if t[0].startswith(("body[4", "body[50]", "body[51]"))]
    history = [spec]
    expansion: Expansion | None = None
    codes: set[str] = set()
    checked = 0
    for step in range(80):
        if step % 7 == 6:  # undo to an earlier state: the very spec objects, as the undo stack keeps them
            spec = history[rng.randrange(len(history))]
        else:
            path, values = rng.choice(targets)
            name = rng.choice(sorted(values))
            edits = SCRIPT[step] if step < len(SCRIPT) else [(f"{path}.{name}", rng.choice(values[name]))]
            try:
                for field, value in edits:
                    spec = with_value(spec, field, value)
            except SpecError:  # a cross-field rule refuses the value: the state stays
                continue
            history.append(spec)
        batch = rng.choice((1, 1, 2))
        freeze = rng.choice((None, None, f"body[{rng.randrange(len(spec.body))}]"))
        got, expansion = incremental(spec, expansion, batch, freeze)
        assert got == from_scratch(spec, batch, freeze), f"step {step}"
        if not isinstance(got, dict):  # shapes fail (a stride inside one path of a concat): the user undoes it
            history.remove(spec)
            spec = history[-1]
            continue
        checked += 1
        codes |= {lint["code"] for lint in got["lints"]}
        whole = analyze(build_graph(spec), batch=batch).to_json()["lints"]
        assert [{**lint, "fix": None} for lint in got["lints"]] == whole
    assert checked >= 30
    assert {"channels-not-multiple-of-8", "paths-misaligned", "stride-drops-pixels", "stride-gt-kernel",
            "bn-after-bias"} <= codes


def test_an_empty_block_passes_its_port_on_to_the_lints_of_the_blocks_after_it() -> None:
    """A value read across an empty block (dropout 0 emits nothing) is found by the rules that ask who reads
    it: the biased conv's only reader is the batch norm two blocks later."""
    spec = Spec(name="gap", input=(3, 16, 16), num_classes=10, body=[
        BlockSpec("conv", {"out": 8, "norm": "none", "activation": "none"}), BlockSpec("dropout", {"p": 0.0}),
        BlockSpec("batchnorm", {}), BlockSpec("global_pool"), BlockSpec("flatten"), BlockSpec("classifier")])
    lints = analyze(spec).lints
    wasted = [lint for lint in lints if lint.code == "bn-after-bias"]
    assert len(wasted) == 1 and wasted[0].block == "body[0]"
    assert wasted[0].fix is not None and wasted[0].fix.edits == [("body[0].bias", False)]
    assert [(lint.block, lint.code, lint.message) for lint in analyze(build_graph(spec)).lints] == [
        (lint.block, lint.code, lint.message) for lint in lints]
