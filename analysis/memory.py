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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from analysis.rules import numel
from arch.graph import Node, Shape

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
INDEX_BYTES = 8  # int64 pooling indices and top-k indices
SAVES_OUTPUT = ("relu", "sigmoid", "tanh")
SAVES_INPUT = frozenset(("conv", "linear", "avgpool"))  # (conv with zeros padding)
VIEWS = frozenset(("flatten", "dropout", "reshape"))  # in inference; training keeps flatten and reshape
STATS_BYTES = 4  # layer / group norm keep a float32 mean and inverse std per normalised row or group


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
        owner[name] = owner[inputs[0]] if op in ("flatten", "reshape") and inputs else name
        if len(inputs) == 1:
            grads = None
            grad = needs_grad[inputs[0]] or trainable.get(name, 0) > 0
        else:
            grads = [needs_grad[i] for i in inputs]
            grad = trainable.get(name, 0) > 0 or any(grads)
        needs_grad[name] = grad
        if not grad:
            continue
        if op in SAVES_INPUT and not (op == "conv" and n.attrs["padding_mode"] != "zeros"):
            values[owner[inputs[0]]] = size[inputs[0]]
        elif op == "conv":  # torch pads into a new tensor first
            c, h, w = shapes[inputs[0]]
            top, bottom, left, right = n.attrs["pads"]
            extra += c * (h + top + bottom) * (w + left + right) * batch * dtype_bytes
            if n.attrs["padding_mode"] != "circular" and needs_grad[inputs[0]]:  # reflect / replicate: input
                values[owner[inputs[0]]] = size[inputs[0]]
        elif op == "bn":
            values[owner[inputs[0]]] = size[inputs[0]]
            extra += 2 * n.attrs["channels"] * dtype_bytes
        elif op == "act":
            kept = name if n.attrs["fn"] in SAVES_OUTPUT else inputs[0]
            values[owner[kept]] = size[kept]
        elif op in ("maxpool", "adaptive_maxpool"):
            values[owner[inputs[0]]] = size[inputs[0]]
            extra += numel(n.shape) * batch * INDEX_BYTES
        elif op == "adaptive_avgpool":
            if tuple(n.attrs["output"]) != (1, 1):
                values[owner[inputs[0]]] = size[inputs[0]]
        elif op == "nmaxpool":
            k = n.attrs["n"]
            extra += numel(n.shape) * batch * (k * (INDEX_BYTES + dtype_bytes + 1) + dtype_bytes)
        elif op in ("channel_gate", "spatial_gate"):  # CBAM: arch.ops.ChannelGate / SpatialGate
            if needs_grad[inputs[0]]:  # the max over the input saves it (and its result)
                values[owner[inputs[0]]] = size[inputs[0]]
            values[name] = size[name]  # the sigmoid saves the gate it returns
            if op == "channel_gate":  # mean and max (the convs' inputs), the two hidden ReLU outputs
                extra += (2 * n.attrs["channels"] + 2 * n.attrs["hidden"]) * batch * dtype_bytes
            else:  # the stacked mean and max the conv reads; the max's result when the input needs a gradient
                _, h, w = n.shape
                extra += (2 + (1 if needs_grad[inputs[0]] else 0)) * h * w * batch * dtype_bytes
        elif op == "lrn":  # F.local_response_norm: x*x, pad, avg_pool3d, scale, pow, divide
            values[owner[inputs[0]]] = size[inputs[0]]
            c, h, w = n.shape
            pad = n.attrs["size"] - 1
            extra += ((c + pad) * h * w + 2 * c * h * w) * batch * dtype_bytes  # padded squares, base, power
        elif op == "dropout":
            extra += numel(n.shape) * batch * dtype_bytes
        elif op in ("layer_norm", "group_norm"):
            values[owner[inputs[0]]] = size[inputs[0]]
            extra += 2 * n.attrs["rows"] * STATS_BYTES * (1 if n.attrs.get("once") else batch)
        elif op == "softmax":
            values[owner[name]] = size[name]
        elif op in ("attention", "mha"):  # its inputs, and the intermediates attrs["saved"] counts
            for i in inputs:
                values[owner[i]] = size[i]
            extra += n.attrs["saved"] * batch * dtype_bytes
        elif op == "matmul" or (op == "arith" and n.attrs["fn"] == "div"):
            for i in inputs:
                values[owner[i]] = size[i]
        elif op == "arith" and n.attrs["fn"] not in ("scalar", "sub"):  # a unary function: its input
            values[owner[inputs[0]]] = size[inputs[0]]
        elif op == "max" and grads is not None:  # torch.maximum saves both operands
            for i in inputs:
                values[owner[i]] = size[i]
        elif op == "mul" and grads is not None:
            a, b = inputs
            if grads[0]:
                values[owner[b]] = size[b]
            if grads[1]:
                values[owner[a]] = size[a]
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
        kept = owner[n.name] = owner[inputs[0]] if inputs and n.op in VIEWS else n.name
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
