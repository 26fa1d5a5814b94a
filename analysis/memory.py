"""Activation memory: what training keeps for backward, and the peak live memory of inference.

Training (``training_bytes``) counts the tensors autograd saves for the backward pass in training mode,
once per storage (a flatten output is a view of its input), parameters and buffers excluded:
conv and linear save their input (a conv with circular padding saves the padded copy torch makes
instead, reflect and replicate padding save both); batch norm its input and two per-channel statistics (mean, inverse
std); relu, sigmoid and tanh their output, other activations their input; max and adaptive max pooling
their input and int64 indices; average pooling its input (adaptive pooling to 1x1 is a mean and saves
nothing); dropout a mask of the input's size and dtype; a multiply each operand the other one needs;
add, concat and flatten nothing. The N-max pool of ``arch.ops`` saves, per output, n int64 top-k indices,
n values, n finiteness flags and one divisor. An op is recorded only when its output needs a gradient
(it has trainable parameters or an input that needs one), exactly as autograd does; in-place variants
are counted as their out-of-place versions. Unknown (fx) ops are counted as saving nothing.

Inference (``peak_inference_bytes``) runs the graph in order with every value freed after its last
consumer (the network output is kept); flatten and eval-mode dropout return views and allocate nothing.
The peak is the largest sum of live values at the moment an op's output exists beside its inputs;
temporaries inside an op (the padded copy of a reflect-padded conv, N-max pooling's windows) are
workspace, not values, and are not counted.
"""

from __future__ import annotations

from analysis.rules import numel
from arch.graph import Graph

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
INDEX_BYTES = 8  # int64 pooling indices and top-k indices
SAVES_OUTPUT = ("relu", "sigmoid", "tanh")


def _storages(graph: Graph, views: tuple[str, ...]) -> dict[str, str]:
    """Node -> the node whose allocation holds its value (itself unless the op returns a view)."""
    owner: dict[str, str] = {}
    for n in graph.nodes:
        owner[n.name] = owner[n.inputs[0]] if n.op in views and n.inputs else n.name
    return owner


def training_bytes(graph: Graph, trainable: dict[str, int], batch: int, dtype_bytes: int) -> int:
    """Bytes autograd keeps for backward (see the module docstring); ``trainable``: params per node."""
    owner = _storages(graph, ("flatten",))
    index = {n.name: n for n in graph.nodes}
    needs_grad: dict[str, bool] = {}
    saved: dict[tuple[str, str], int] = {}

    def value(name: str) -> None:
        saved[("value", owner[name])] = numel(index[name].shape) * batch * dtype_bytes

    for n in graph.nodes:
        grads = [needs_grad[i] for i in n.inputs]
        needs_grad[n.name] = trainable.get(n.name, 0) > 0 or any(grads)
        if not needs_grad[n.name]:
            continue
        op, out = n.op, numel(n.shape) * batch
        if op == "conv" and n.attrs["padding_mode"] != "zeros":  # torch pads into a new tensor first
            c, h, w = index[n.inputs[0]].shape
            top, bottom, left, right = n.attrs["pads"]
            saved[("extra", n.name)] = c * (h + top + bottom) * (w + left + right) * batch * dtype_bytes
            if n.attrs["padding_mode"] != "circular" and grads[0]:  # reflect / replicate save their input
                value(n.inputs[0])
        elif op in ("conv", "linear", "avgpool"):
            value(n.inputs[0])
        elif op == "bn":
            value(n.inputs[0])
            saved[("extra", n.name)] = 2 * n.attrs["channels"] * dtype_bytes
        elif op == "act":
            value(n.name if n.attrs["fn"] in SAVES_OUTPUT else n.inputs[0])
        elif op in ("maxpool", "adaptive_maxpool"):
            value(n.inputs[0])
            saved[("extra", n.name)] = out * INDEX_BYTES
        elif op == "adaptive_avgpool":
            if tuple(n.attrs["output"]) != (1, 1):
                value(n.inputs[0])
        elif op == "nmaxpool":
            k = n.attrs["n"]
            saved[("extra", n.name)] = out * (k * (INDEX_BYTES + dtype_bytes + 1) + dtype_bytes)
        elif op == "dropout":
            saved[("extra", n.name)] = out * dtype_bytes
        elif op == "mul":
            a, b = n.inputs
            if grads[0]:
                value(b)
            if grads[1]:
                value(a)
    return sum(saved.values())


def peak_inference_bytes(graph: Graph, batch: int, dtype_bytes: int) -> int:
    """Peak of live activation bytes when each value is freed after its last consumer."""
    owner = _storages(graph, ("flatten", "dropout"))
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    last_use: dict[str, int] = {}
    for n in graph.nodes:
        last_use.setdefault(owner[n.name], order[n.name])
        for i in n.inputs:
            last_use[owner[i]] = max(last_use[owner[i]], order[n.name])
    if graph.nodes:
        last_use[owner[graph.output.name]] = len(graph.nodes)
    frees: dict[int, list[str]] = {}
    for s, i in last_use.items():
        frees.setdefault(i, []).append(s)
    size = {n.name: numel(n.shape) * batch * dtype_bytes for n in graph.nodes}
    live = peak = 0
    for i, n in enumerate(graph.nodes):
        if owner[n.name] == n.name:
            live += size[n.name]
            peak = max(peak, live)
        for s in frees.get(i, ()):
            live -= size[s]
    return peak
