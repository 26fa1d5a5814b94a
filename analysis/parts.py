"""A network analysed in parts, so that an edit re-analyses only what it changed.

A part is a run of nodes that reads nothing from outside but one value, its port: a top-level block of a
spec (``arch.expand.Segment``), or a whole graph (fx import: no port). Its figures split in two:

* ``Counts``: params, MACs, FLOPs, activation bytes, shapes, memory. They depend on the part and on the
  batch, the dtype and whether the port needs a gradient, not on anything before it.
* ``Fields``: receptive fields, which depend on the field entering through the port (and the input size).

Both are cached in the segment's memo (so they live as long as the expansion cache keeps the segment),
so after an edit of one block every other block's counts, and the fields of the blocks before it (and of
all blocks when the field entering them did not change), come from the cache. Cached results are never
handed out: the engine makes new records from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from analysis.memory import Saved, peak_bytes, saved_for_backward
from analysis.receptive import UnitRF, propagate
from arch.expand import Segment
from arch.graph import Node, Port, Shape
from arch.op_counts import frozen, numel
from arch.op_table import OPS

CONTEXTS = 16  # results kept per segment (batch / dtype / entering-field combinations)


class LayerCounts(NamedTuple):
    """A layer's figures that do not depend on receptive fields (a tuple: cheap, cached per segment)."""

    params: int
    macs: int
    flops: int
    activation_bytes: int
    name: str
    block: str
    type: str
    in_shape: Shape
    out_shape: Shape
    trainable_params: int
    buffers: int
    frozen: bool


class Counts(NamedTuple):
    rows: list[LayerCounts]  # one per layer, in graph order (not the input)
    sums: dict[str, tuple[int, int, int, int, int]]  # per block: params, macs, flops, activation bytes, trainable
    totals: tuple[int, int, int, int, int]  # params, trainable, buffers, macs, flops
    gated: bool  # has a multiply by a broadcast gate (squeeze-excitation)
    saved: Saved  # training memory
    peak: int  # peak inference memory inside the part (the port alive on entry)


class Fields(NamedTuple):
    fields: dict[str, UnitRF | None]  # per node
    misaligned: frozenset[str]  # blocks with a merge whose paths differ in jump or centre


def counts(nodes: Sequence[Node], port: Port | None, port_grad: bool, keep: str, batch: int,
           dtype_bytes: int, held: Callable[[str], bool] | None = None) -> Counts:
    """The figures of ``nodes`` that do not depend on receptive fields; ``keep``: the value that leaves;
    ``held``: whether the freeze point holds a block (path) fixed, so none of its parameters train (None:
    nothing frozen)."""
    shapes: dict[str, Shape] = {port.node: port.shape} if port is not None else {}
    size: dict[str, int] = {port.node: numel(port.shape) * batch * dtype_bytes} if port is not None else {}
    rows: list[LayerCounts] = []
    sums: dict[str, list[int]] = {}
    trainable: dict[str, int] = {}
    params_sum = trainable_sum = buffers_sum = macs_sum = flops_sum = 0
    gated = False
    block, s, fixed = None, [0, 0, 0, 0, 0], False  # a block's layers are consecutive: look it up once
    for n in nodes:
        op, name, shape = n.op, n.name, n.shape
        shapes[name] = shape
        if op == "constant":  # a parameter or buffer: not an activation
            act = size[name] = 0
        else:  # a value computed once per batch (fx: from constants only) has no batch axis
            act = size[name] = numel(shape) * (1 if "once" in n.attrs else batch) * dtype_bytes
        if op == "input":
            continue
        in_shape = shapes[n.inputs[0]] if n.inputs else ()
        params, buffers, macs, flops = OPS[op].count(n, in_shape)
        if n.block != block:
            block = n.block
            s = sums.setdefault(block, [0, 0, 0, 0, 0])
            fixed = held is not None and held(block)
        if fixed:
            still = 0
        else:
            still = params - frozen(n, params) if params and "frozen_params" in n.attrs else params
        trainable[name] = still
        if batch != 1 and "once" not in n.attrs:
            macs, flops = macs * batch, flops * batch
        rows.append(LayerCounts(params, macs, flops, act, name, n.block, op, in_shape, shape, still, buffers,
                                fixed or (params > 0 and still == 0)))
        params_sum += params
        trainable_sum += still
        buffers_sum += buffers
        macs_sum += macs
        flops_sum += flops
        s[0] += params
        s[1] += macs
        s[2] += flops
        s[3] += act
        s[4] += still
        if op == "mul":
            gated = gated or any(shapes[i] != shape for i in n.inputs)
    saved = saved_for_backward(nodes, port.node if port else None, port_grad, trainable, size, shapes, batch,
                               dtype_bytes)
    peak = peak_bytes(nodes, port.node if port else None, size[port.node] if port else 0, keep, size)
    return Counts(rows, {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in sums.items()},
                  (params_sum, trainable_sum, buffers_sum, macs_sum, flops_sum), gated, saved, peak)


def fields(nodes: Sequence[Node], port: Port | None, entering: UnitRF | None, whole: UnitRF) -> Fields:
    """Receptive fields of ``nodes`` given the field ``entering`` through the port."""
    shapes = {n.name: n.shape for n in nodes}
    known: dict[str, UnitRF | None] = {}
    if port is not None:
        shapes[port.node], known[port.node] = port.shape, entering
    out = propagate(nodes, known, shapes, whole)
    if port is not None:
        del out[port.node]
    misaligned = frozenset(n.block for n in nodes if (f := out[n.name]) is not None and not f.aligned)
    return Fields(out, misaligned)


# ----------------------------------------------------------------------------------------- caches
def exact(field: UnitRF | None) -> tuple[Any, ...] | None:
    """A field as a cache key that tells 5 from 5.0 (reports print them differently)."""
    if field is None:
        return None
    (a, b), (c, d), (e, f) = field.size, field.jump, field.centre
    return (field, type(a), type(b), type(c), type(d), type(e), type(f))


def _cached(seg: Segment, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    memo = seg.memo
    found = memo.get(key)
    if found is None:
        found = make()
        if len(memo) >= CONTEXTS:
            memo.clear()
        memo[key] = found  # two threads may both make it: the same value, one kept
    return found


def segment_counts(seg: Segment, port_grad: bool, batch: int, dtype_bytes: int, fixed: bool) -> Counts:
    """``fixed``: the freeze point holds the whole segment (a top-level block) fixed."""
    return _cached(seg, ("counts", port_grad, batch, dtype_bytes, fixed),
                   lambda: counts(seg.nodes, seg.port, port_grad, seg.out.node, batch, dtype_bytes,
                                  (lambda _block: True) if fixed else None))


def segment_fields(seg: Segment, entering: UnitRF | None, whole: UnitRF, whole_key: tuple[Any, ...] | None) -> Fields:
    """``whole_key``: ``exact(whole)``, made once per analysis."""
    return _cached(seg, ("fields", exact(entering), whole_key), lambda: fields(seg.nodes, seg.port, entering, whole))
