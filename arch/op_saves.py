"""What each graph op keeps for backward in training mode (the ``saves`` of each entry of
``arch.op_table``; ``analysis.memory`` documents and sums it).

A rule sees an op whose output needs a gradient and returns the values autograd keeps (node names: the op's
own output or its inputs; the caller counts each storage once) and the bytes kept beside values (indices,
statistics, masks, padded copies) for the whole batch. ``grad`` says which values need a gradient,
``shapes`` gives the shapes of the values the op reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from arch.activations import BY_NAME
from arch.graph import Node, Shape
from arch.op_counts import numel

Kept = tuple[tuple[str, ...], int]  # values saved (node names), extra bytes
SaveRule = Callable[[Node, Mapping[str, bool], Mapping[str, Shape], int, int], Kept]

INDEX_BYTES = 8  # int64 pooling indices and top-k indices
STATS_BYTES = 4  # layer / group norm keep a float32 mean and inverse std per normalised row or group
NOTHING: Kept = ((), 0)


def nothing(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return NOTHING


def first_input(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (n.inputs[0],), 0


def output(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (n.name,), 0


def inputs(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return n.inputs, 0


def conv(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """Its input; with reflect, replicate or circular padding torch pads into a new tensor first and saves
    that (reflect and replicate also keep the input when it needs a gradient)."""
    x = n.inputs[0]
    mode = n.attrs["padding_mode"]
    if mode == "zeros":
        return (x,), 0
    c, h, w = shapes[x]
    top, bottom, left, right = n.attrs["pads"]
    padded = c * (h + top + bottom) * (w + left + right) * batch * nbytes
    return ((x,) if mode != "circular" and grad[x] else ()), padded


def bn(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (n.inputs[0],), 2 * n.attrs["channels"] * nbytes  # and the mean and inverse std per channel


def act(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return ((n.name,) if BY_NAME[n.attrs["fn"]].saves_output else (n.inputs[0],)), 0


def max_pool(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (n.inputs[0],), numel(n.shape) * batch * INDEX_BYTES  # and the int64 indices


def adaptive_avgpool(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int,
                     nbytes: int) -> Kept:
    return NOTHING if tuple(n.attrs["output"]) == (1, 1) else ((n.inputs[0],), 0)  # to 1x1: a mean


def nmaxpool(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """Per output: n top-k indices, n values, n finiteness flags and one divisor."""
    k = n.attrs["n"]
    return (), numel(n.shape) * batch * (k * (INDEX_BYTES + nbytes + 1) + nbytes)


def channel_gate(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """The gate (its sigmoid), the mean and max its convs read, the two hidden ReLU outputs, and the input
    when it needs a gradient (the max saves it)."""
    x = n.inputs[0]
    kept = (x, n.name) if grad[x] else (n.name,)
    return kept, (2 * n.attrs["channels"] + 2 * n.attrs["hidden"]) * batch * nbytes


def spatial_gate(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """The gate, the stacked mean and max the conv reads; the input and the max's result when the input
    needs a gradient."""
    x = n.inputs[0]
    _, h, w = n.shape
    kept = (x, n.name) if grad[x] else (n.name,)
    return kept, (2 + (1 if grad[x] else 0)) * h * w * batch * nbytes


def lrn(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """F.local_response_norm: x*x, pad, avg_pool3d, scale, pow, divide: its input, the padded squares the
    window averages, and the base and result of the power."""
    c, h, w = n.shape
    pad = n.attrs["size"] - 1
    return (n.inputs[0],), ((c + pad) * h * w + 2 * c * h * w) * batch * nbytes


def dropout(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (), numel(n.shape) * batch * nbytes  # the mask, in the input's dtype


def norm(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """Layer / group norm: the input and two float32 statistics per row / group."""
    return (n.inputs[0],), 2 * n.attrs["rows"] * STATS_BYTES * (1 if n.attrs.get("once") else batch)


def attention(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return n.inputs, n.attrs["saved"] * batch * nbytes  # and the intermediates of torch's math path


def arith(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    fn = n.attrs["fn"]
    if fn == "div":
        return n.inputs, 0
    return NOTHING if fn in ("scalar", "sub") else ((n.inputs[0],), 0)  # a unary function: its input


def maximum(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    return (n.inputs if len(n.inputs) > 1 else ()), 0  # torch.maximum saves both operands


def mul(n: Node, grad: Mapping[str, bool], shapes: Mapping[str, Shape], batch: int, nbytes: int) -> Kept:
    """Each operand the other one's gradient needs."""
    if len(n.inputs) < 2:
        return NOTHING
    a, b = n.inputs
    return ((b,) if grad[a] else ()) + ((a,) if grad[b] else ()), 0
