"""Per-op counting rules (the ``count`` of each entry of ``arch.op_table``), so spec graphs and fx- or
ONNX-imported graphs get the same numbers.

Each rule returns (params, buffers, macs, flops) for one sample (batch 1):

* params / buffers: element counts, as ``sum(p.numel())`` over the module's parameters / buffers
  (batch norm: weight + bias; running mean + var + num_batches_tracked). An fx-imported module called
  more than once, or with weights tied to another module, carries ``attrs["shared_params"]`` /
  ``attrs["shared_buffers"]``: elements already counted at another node, subtracted here.
* macs: multiply-accumulates of conv, linear, matmul / bmm / einsum and attention (both products), bias
  excluded: torchvision's and fvcore's convention, ``torch.utils.flop_counter`` FLOPs / 2; the convs inside
  CBAM's gates count (its shared MLP twice, once for the average and once for the max). A conv or linear
  reading its weight from a constant node (``attrs["external"]``: ``F.conv2d``) counts no params itself.
* flops: every op; elementary functions (exp, erf, tanh, a compare) count 1:
  conv/linear 2 x MACs + one add per output when biased; batch norm 2 per value (folded scale and
  shift); activations per value as ``arch.activations`` declares; max pool k*k - 1 compares per output, average pool
  k*k (adds and one divide); N-max pool n selection passes (n*k*k - n(n+1)/2 compares) + n (adds and the
  divide); adaptive pools likewise over their actual windows; add, mul and max 1 per value; concatenation,
  flatten, dropout (inference) and the border copies of reflect / replicate / circular padding 0;
  layer and group norm 5 per value (mean, variance, normalise) + 2 when affine; softmax 5 per value (max,
  subtract, exp, sum, divide); matmul and attention 2 x MACs; other element-wise arithmetic 1 per value;
  reductions 1 per value read; local response normalisation size + 5 per value (square, the window's adds
  and divide, scale, offset, power, divide); CBAM gates their means (1 per value read), maxima (reads -
  outputs), convs, ReLU, add and sigmoid; views, copies and constants 0; unknown ops 0 (listed as unknown: every
  total they may add to is a lower bound).
* fx-imported ops holding their own tensors (norms, attention modules, constants, unknown ops) carry
  their deduplicated counts in ``attrs["params"]`` / ``attrs["buffers"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from arch.activations import BY_NAME
from arch.graph import Node, Shape

OpCounts = tuple[int, int, int, int]  # params, buffers, MACs, FLOPs of one sample
CountRule = Callable[[Node, Shape], OpCounts]
SIGMOID = BY_NAME["sigmoid"].flops


def adaptive_windows(size: int, out: int) -> list[int]:
    """Window lengths of adaptive pooling along one axis, as torch computes them."""
    return [-(-(i + 1) * size // out) - (i * size // out) for i in range(out)]


def numel(shape: Shape) -> int:
    """Elements of one sample's value; 0 for an fx op that returns a tuple (its items are counted)."""
    return prod(shape) if shape else 0


def _params(node: Node, n: int) -> int:
    return n - node.attrs.get("shared_params", 0)


def _buffers(node: Node, n: int) -> int:
    return n - node.attrs.get("shared_buffers", 0)


def conv(node: Node, x: Shape) -> OpCounts:
    a = node.attrs
    kh, kw = a["kernel"]
    per_out = a["in_channels"] // a["groups"] * kh * kw
    out = prod(node.shape)
    macs = out * per_out
    bias = a["bias"]
    params = 0 if a.get("external") else a["out_channels"] * per_out + (a["out_channels"] if bias else 0)
    return _params(node, params), 0, macs, 2 * macs + (out if bias else 0)


def linear(node: Node, x: Shape) -> OpCounts:
    """Over the last axis of a value of any rank (channels-last transformers apply it per token)."""
    a = node.attrs
    weights = a["in_features"] * a["out_features"]
    rows = prod(node.shape[:-1])
    bias = a["bias"]
    params = 0 if a.get("external") else weights + (a["out_features"] if bias else 0)
    return _params(node, params), 0, rows * weights, 2 * rows * weights + (rows * a["out_features"] if bias else 0)


def bn(node: Node, x: Shape) -> OpCounts:
    c = node.attrs["channels"]
    params = 2 * c if node.attrs.get("affine", True) else 0
    buffers = 2 * c + 1 if node.attrs.get("track_running_stats", True) else 0
    return _params(node, params), _buffers(node, buffers), 0, 2 * prod(node.shape)


def act(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, BY_NAME[node.attrs["fn"]].flops * prod(node.shape)


def maxpool(node: Node, x: Shape) -> OpCounts:
    kh, kw = node.attrs["kernel"]
    return 0, 0, 0, (kh * kw - 1) * prod(node.shape)


def avgpool(node: Node, x: Shape) -> OpCounts:
    kh, kw = node.attrs["kernel"]
    return 0, 0, 0, kh * kw * prod(node.shape)


def nmaxpool(node: Node, x: Shape) -> OpCounts:
    kh, kw = node.attrs["kernel"]
    n = node.attrs["n"]
    return 0, 0, 0, (n * kh * kw - n * (n + 1) // 2 + n) * prod(node.shape)


def _adaptive(x: Shape, output: tuple[int, int], per_window: int) -> OpCounts:
    c, h, w = x
    oh, ow = output
    area = sum(adaptive_windows(h, oh)) * sum(adaptive_windows(w, ow))  # values read, summed over windows
    return 0, 0, 0, c * (area + per_window * oh * ow)


def adaptive_avgpool(node: Node, x: Shape) -> OpCounts:
    return _adaptive(x, node.attrs["output"], 0)


def adaptive_maxpool(node: Node, x: Shape) -> OpCounts:
    return _adaptive(x, node.attrs["output"], -1)  # one compare fewer than values per window


def channel_gate(node: Node, x: Shape) -> OpCounts:
    """CBAM channel attention: the shared MLP runs twice (on the average and on the max)."""
    c, h, w = x
    hid = node.attrs["hidden"]
    mlp = 2 * c * hid + hid + 2 * hid * c + c  # fc1 and fc2 once: 2 x MACs + bias adds
    flops = c * h * w + (c * h * w - c) + 2 * mlp + 2 * hid + c + SIGMOID * c
    return _params(node, 2 * c * hid + hid + c), 0, 4 * c * hid, flops


def spatial_gate(node: Node, x: Shape) -> OpCounts:
    """CBAM spatial attention: mean and max over channels, a k x k conv (2 -> 1, no bias), a sigmoid."""
    c, h, w = x
    k = node.attrs["kernel"]
    macs = h * w * 2 * k * k
    return _params(node, 2 * k * k), 0, macs, c * h * w + (c * h * w - h * w) + 2 * macs + SIGMOID * h * w


def lrn(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, (node.attrs["size"] + 5) * prod(node.shape)


def elementwise(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, prod(node.shape)


def free(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, 0


def unknown(node: Node, x: Shape) -> OpCounts:
    a = node.attrs
    return a.get("params", 0), a.get("buffers", 0), 0, 0


def norm(node: Node, x: Shape) -> OpCounts:
    a = node.attrs
    return a.get("params", 0), a.get("buffers", 0), 0, (7 if a["affine"] else 5) * prod(node.shape)


def products(node: Node, x: Shape) -> OpCounts:
    """matmul, attention, mha: the importer works out the MACs from the operand shapes."""
    a = node.attrs
    return a.get("params", 0), a.get("buffers", 0), a["macs"], 2 * a["macs"]


def softmax(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, 5 * prod(node.shape)


def reduce(node: Node, x: Shape) -> OpCounts:
    return 0, 0, 0, prod(x)


def frozen(node: Node, params: int) -> int:
    """How many of a node's params do not train (fx import records requires_grad=False ones)."""
    return min(params, node.attrs["frozen_params"]) if "frozen_params" in node.attrs else 0
