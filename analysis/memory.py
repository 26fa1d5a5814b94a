"""Activation memory: what training keeps for backward, and the peak live memory of inference.

Training (``saved_for_backward``) counts the tensors autograd saves for the backward pass in training mode,
once per storage (a flatten output is a view of its input), parameters and buffers excluded:
conv and linear save their input (a conv with circular padding saves the padded copy torch makes
instead, reflect and replicate padding save both); batch norm its input and two per-channel statistics (mean, inverse
std); relu, sigmoid and tanh their output, other activations their input; max and adaptive max pooling
their input and int64 indices; average pooling its input (adaptive pooling to 1x1 is a mean and saves
nothing); dropout a mask of the input's size and dtype; a multiply each operand the other one needs;
an element-wise maximum both operands; add, concat and flatten nothing; local response normalisation its
input, the padded squares the window averages, and the base and result of the power (the divisor); a CBAM
gate its gate, the pooled values its convs read, the hidden ReLU outputs, and its input (and the max) when
the input needs a gradient. The N-max pool of ``arch.ops`` saves, per output, n int64 top-k indices,
n values, n finiteness flags and one divisor. An op is recorded only when its output needs a gradient
(it has trainable parameters or an input that needs one), exactly as autograd does; in-place variants
are counted as their out-of-place versions. Unknown (fx) ops are counted as saving nothing.
fx-imported ops: layer and group norm save their input and two float32 statistics per row / group;
softmax its output; matmul, einsum and a division both operands; a unary function its input; scalar
arithmetic, subtraction, views, copies and reductions nothing; attention (scaled_dot_product_attention,
Swin windows, nn.MultiheadAttention) its inputs plus the intermediates of torch's math path
(``attrs["saved"]``: projections, probabilities, output). Constants are parameters: 0 activation bytes.

Inference (``peak_bytes``) runs the graph in order with every value freed after its last
consumer (the network output is kept); flatten and eval-mode dropout return views and allocate nothing.
The peak is the largest sum of live values at the moment an op's output exists beside its inputs;
temporaries inside an op (the padded copy of a reflect-padded conv, N-max pooling's windows) are
workspace, not values, and are not counted.

Both work on a run of nodes in graph order: a whole graph, or one top-level block of a spec, which reads
nothing from outside but the value entering it (its port). Spec analysis sums them block by block
(``analysis.parts``): only the port's storage is alive where two blocks meet, so the sum is exact.
Each op's training rule is the ``saves`` of its entry in ``arch.op_table`` (written in ``arch.op_saves``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from arch.graph import Node, Shape
from arch.op_table import INFERENCE_VIEWS, OPS, VIEWS

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
SAVES = {op: e.saves for op, e in OPS.items()}  # the op table's rules, looked up once per node


class Saved(NamedTuple):
    """What a run of nodes keeps for backward. Storages are named by the node that allocated them; the
    port's storage by the port (the caller knows which node really holds it)."""

    values: dict[str, int]  # storage -> bytes of the values saved, each storage once
    extra: int  # bytes saved beside values (indices, statistics, masks, padded copies)
    grads: dict[str, bool]  # whether each node's output needs a gradient
    owners: dict[str, str]  # the storage of each node's value


def saved_for_backward(nodes: Iterable[Node], port: str | None, port_grad: bool, trainable: Mapping[str, int],
                       size: Mapping[str, int], shapes: Mapping[str, Shape], batch: int, dtype_bytes: int) -> Saved:
    """Training memory of ``nodes`` (see the module docstring): ``port`` is the value they read from
    outside (None for a whole graph) and ``port_grad`` whether it needs a gradient; ``trainable``: params
    per node; ``size``: bytes of every value they read or make; ``shapes``: shapes of the values they read."""
    owner: dict[str, str] = {}
    needs_grad: dict[str, bool] = {}
    if port is not None:
        owner[port], needs_grad[port] = port, port_grad
    values: dict[str, int] = {}
    extra = 0
    for n in nodes:
        name, inputs, op = n.name, n.inputs, n.op
        owner[name] = owner[inputs[0]] if op in VIEWS and inputs else name
        if len(inputs) == 1:  # the common case, without a generator
            grad = needs_grad[inputs[0]] or trainable.get(name, 0) > 0
        else:
            grad = trainable.get(name, 0) > 0 or any(needs_grad[i] for i in inputs)
        needs_grad[name] = grad
        if not grad:
            continue
        kept, more = SAVES[op](n, needs_grad, shapes, batch, dtype_bytes)
        for k in kept:
            values[owner[k]] = size[k]
        extra += more
    return Saved(values, extra, needs_grad, owner)


def peak_bytes(nodes: Sequence[Node], port: str | None, port_bytes: int, keep: str, size: Mapping[str, int]) -> int:
    """Peak of live activation bytes over ``nodes`` when each value is freed after its last consumer:
    ``port`` (None for a whole graph) is alive on entry with ``port_bytes``; ``keep`` (the value that
    leaves: the network output, or a block's output) is never freed."""
    owner: dict[str, str] = {}
    last_use: dict[str, int] = {}  # storage -> position of its last reader (or maker)
    live = 0
    if port is not None:
        owner[port], last_use[port], live = port, -1, port_bytes
    for k, n in enumerate(nodes):
        inputs = n.inputs
        kept = owner[n.name] = owner[inputs[0]] if inputs and n.op in INFERENCE_VIEWS else n.name
        last_use.setdefault(kept, k)
        for i in inputs:
            last_use[owner[i]] = k  # positions only grow: the latest reader wins
    if keep in owner:
        last_use[owner[keep]] = len(nodes)
    frees: dict[int, list[str]] = {}
    for s, k in last_use.items():
        frees.setdefault(k, []).append(s)
    peak = 0
    for k, n in enumerate(nodes):
        if owner[n.name] == n.name:
            live += size[n.name]
            if live > peak:
                peak = live
        for s in frees.get(k, ()):
            live -= size[s]
    return peak
