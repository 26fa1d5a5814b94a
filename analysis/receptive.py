"""Receptive fields per axis, after Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019).

For each value we keep, per axis, the field size r, the jump j (input pixels between neighbouring
units) and the centre c of unit 0's field in input pixel coordinates. A windowed op with effective
kernel k' = d*(k-1)+1, stride s and leading padding p maps (r, j, c) to
(r + (k'-1)*j, j*s, c + ((k'-1)/2 - p)*j); ceil_mode only adds units at the far end.

* Multi-path merges (add, max, concat, a multiply of two maps) take the envelope of the paths' fields; for
  aligned paths (same
  jump and centre) that is the largest field. Paths that differ in jump or centre are flagged.
* A multiply by a broadcast (C, 1, 1) gate (squeeze-excitation) is a channel scale: the field is the
  other input's; the gate's global context is not counted.
* Global pooling (adaptive pooling to 1x1), flatten and linear see the whole input; we then report the
  input size as the size and jump and the input centre as the offset, with ``whole`` set.
* Adaptive pooling to a size that does not divide the input has windows of two lengths: the size is
  that of the largest window's field, the jump the average step (possibly fractional).
* Unknown ops (fx import) are assumed element-wise over their inputs; the report notes it and marks the
  field a lower bound.
* fx-imported ops say whether they mix image positions (``attrs["mixes"]``, see ``arch.fx_roles``):
  attention, a token-mixing matmul, a norm or softmax over spatial axes, a conv over a reshaped map make
  the field global (reported as the whole input: "global"); views, channels-last linears and norms over
  channels keep each value's field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from arch.graph import Graph, Node, Shape
from arch.op_counts import adaptive_windows
from arch.op_table import OPS, RfRule


class UnitRF(NamedTuple):  # one unit's receptive field; a tuple: made once per layer per analysis, so cheap
    size: tuple[float, float]
    jump: tuple[float, float]
    centre: tuple[float, float]
    whole: bool = False
    aligned: bool = True  # False when this value merges paths that differ in jump or centre


def num(x: float) -> float:
    """Integral floats as ints, so reports print 435 rather than 435.0."""
    return int(x) if float(x).is_integer() else x


def _window(f: UnitRF, kernel: tuple[int, int], stride: tuple[int, int], lead: tuple[int, int],
            dilation: tuple[int, int] = (1, 1)) -> UnitRF:
    (r0, r1), (j0, j1), (c0, c1) = f.size, f.jump, f.centre
    k0, k1 = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)  # effective kernel - 1
    return UnitRF((r0 + k0 * j0, r1 + k1 * j1), (j0 * stride[0], j1 * stride[1]),
                 (num(c0 + (k0 / 2 - lead[0]) * j0), num(c1 + (k1 / 2 - lead[1]) * j1)))


def _adaptive(f: UnitRF, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> UnitRF:
    size, jump, centre = [], [], []
    for ax in (0, 1):
        n, o = in_hw[ax], out_hw[ax]
        windows = adaptive_windows(n, o)
        k, step = max(windows), n / o
        size.append(num(f.size[ax] + (k - 1) * f.jump[ax]))
        centre.append(num(f.centre[ax] + (windows[0] - 1) / 2 * f.jump[ax]))
        jump.append(num(f.jump[ax] * step))
    return UnitRF((size[0], size[1]), (jump[0], jump[1]), (centre[0], centre[1]))


def _envelope(fields: list[UnitRF]) -> UnitRF:
    if len(fields) == 1:
        return fields[0]
    aligned = all(f.aligned for f in fields)
    size, jump, centre = [], [], []
    for ax in (0, 1):
        half = [(f.size[ax] - 1) / 2 for f in fields]
        lo = min([f.centre[ax] - h for f, h in zip(fields, half)])
        hi = max([f.centre[ax] + h for f, h in zip(fields, half)])
        size.append(num(hi - lo + 1))
        centre.append(num((lo + hi) / 2))
        jumps = {f.jump[ax] for f in fields}
        aligned = aligned and len(jumps) == 1 and len({f.centre[ax] for f in fields}) == 1
        jump.append(max(jumps))
    return UnitRF((size[0], size[1]), (jump[0], jump[1]), (centre[0], centre[1]), aligned=aligned)


def whole_field(graph: Graph) -> UnitRF:
    shape = graph.input_shape
    h, w = (shape[1], shape[2]) if len(shape) == 3 else (1, 1)
    return UnitRF((h, w), (h, w), (num((h - 1) / 2), num((w - 1) / 2)), whole=True)


UNIT = UnitRF((1, 1), (1, 1), (0, 0))


def fields(graph: Graph) -> dict[str, UnitRF | None]:
    """The field of every node's output value (None for a value that does not depend on the input,
    such as a constant an fx-imported model creates)."""
    shapes = {n.name: n.shape for n in graph.nodes}
    return propagate(graph.nodes, {}, shapes, whole_field(graph))


def propagate(nodes: Iterable[Node], out: dict[str, UnitRF | None], shapes: Mapping[str, Shape],
              whole: UnitRF) -> dict[str, UnitRF | None]:
    """Fields of ``nodes`` (in graph order) added to ``out``, which holds the fields of the values they
    read from elsewhere; ``shapes``: the shape of every value they read; ``whole``: the whole input's.
    Each op's rule is its ``rf`` in ``arch.op_table``."""
    for node in nodes:
        name, inputs = node.name, node.inputs
        entry = OPS[node.op]
        if len(inputs) != 1:
            if entry.rf is RfRule.SOURCE:
                out[name] = UNIT
                continue
            ins = [(f, shapes[i]) for i in inputs if (f := out[i]) is not None]
            out[name] = _step(node, [f for f, _ in ins], [s for _, s in ins], whole) if ins else None
            continue
        f = out[inputs[0]]  # one input, the common case: the usual ops without building lists
        mixes = node.attrs.get("mixes")
        if mixes is not None and f is not None:  # fx import: mixes positions (global) or works per position
            out[name] = whole if mixes else f
        elif f is None or entry.rf is RfRule.PASS:
            out[name] = f
        elif f.whole:
            out[name] = whole
        elif entry.window is not None:
            out[name] = _window(f, *entry.window(node))
        else:
            out[name] = _step(node, [f], [shapes[inputs[0]]], whole)
    return out


def _step(node: Node, ins: list[UnitRF], in_shapes: list[Shape], whole: UnitRF) -> UnitRF:
    entry = OPS[node.op]
    rf = entry.rf
    if rf is RfRule.PASS:
        return ins[0]
    mixes = node.attrs.get("mixes")
    if mixes is not None:
        return whole if mixes else _envelope(ins)
    if rf is RfRule.SCALE:  # a (C, 1, 1) gate is a channel scale: only operands on the output's grid shape the field
        full = [f for f, s in zip(ins, in_shapes) if s[1:] == node.shape[1:]]
        ins = full or ins
    if rf is RfRule.WHOLE or any(f.whole for f in ins):
        return whole
    if entry.window is not None:
        return _window(ins[0], *entry.window(node))
    if rf is RfRule.ADAPTIVE:
        in_hw = in_shapes[0][1:3]
        if tuple(node.attrs["output"]) == (1, 1) and in_hw != (1, 1):
            return whole
        return _adaptive(ins[0], (in_hw[0], in_hw[1]), node.attrs["output"])
    if rf in (RfRule.ENVELOPE, RfRule.SCALE):
        return _envelope(ins)
    raise ValueError(f"no receptive-field rule for op {node.op!r} ({node.name})")


def last_spatial(graph: Graph, rf: dict[str, UnitRF | None]) -> str:
    """The last layer whose output is a C x H x W map whose units see part (not all) of the input."""
    for n in reversed(graph.nodes):
        f = rf[n.name]
        if len(n.shape) == 3 and f is not None and not f.whole:
            return n.name
    return "input"
