"""The graph ops, declared once: one ``OpSpec`` per op of the graph IR says how to build it (torch module or
merge function, also what the py export writes), how to count it, its receptive-field rule, what it saves
for backward, its label in the diagram, and the torch modules, fx call targets and ONNX op types the
importers map to it. The builder, the analysis (counts, memory, receptive field), the importers, the py
export and the diagram read this table; adding an op is one entry here (plus its tests:
tests/test_op_table.py walks the table). Cf. fvcore's op-handle table.

The IR's attrs per op are documented in ``arch.graph``; the rules themselves live in ``arch.op_counts``,
``arch.op_saves`` and ``arch.op_modules``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from arch import op_counts as count
from arch import op_modules as mod
from arch import op_saves as saves
from arch.activations import ACTIVATIONS
from arch.graph import Node
from arch.op_counts import CountRule
from arch.op_modules import FromModule, ModuleCall
from arch.op_saves import SaveRule


class Op(StrEnum):
    """The ops of the graph IR (``Node.op``); equal to their names, so ``node.op == Op.CONV`` and
    ``node.op == Op.CONV`` agree."""

    INPUT = "input"
    CONV = "conv"
    BN = "bn"
    ACT = "act"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    NMAXPOOL = "nmaxpool"
    ADAPTIVE_AVGPOOL = "adaptive_avgpool"
    ADAPTIVE_MAXPOOL = "adaptive_maxpool"
    FLATTEN = "flatten"
    DROPOUT = "dropout"
    LINEAR = "linear"
    LRN = "lrn"
    CHANNEL_GATE = "channel_gate"
    SPATIAL_GATE = "spatial_gate"
    ADD = "add"
    MUL = "mul"
    MAX = "max"
    CONCAT = "concat"
    UNKNOWN = "unknown"
    # made by the fx / ONNX importers only
    CONSTANT = "constant"
    RESHAPE = "reshape"
    COPY = "copy"
    MATMUL = "matmul"
    ATTENTION = "attention"
    MHA = "mha"
    LAYER_NORM = "layer_norm"
    GROUP_NORM = "group_norm"
    SOFTMAX = "softmax"
    ARITH = "arith"
    REDUCE = "reduce"


class RfRule(Enum):
    """How an op maps the receptive fields of its inputs to its output's (``analysis.receptive``).
    Whatever the rule, an fx-imported op carrying ``attrs["mixes"]`` is global (True) or keeps the
    envelope of its inputs' fields (False)."""

    SOURCE = "the network input: one pixel"
    PASS = "one value in, one out on the same grid: its input's field"
    WINDOW = "a window slid over the map (``window`` gives kernel, stride, leading pad, dilation)"
    WHOLE = "sees the whole input"
    ADAPTIVE = "adaptive pooling: windows of torch's lengths (to 1x1: the whole input)"
    ENVELOPE = "merges paths: the envelope of their fields"
    SCALE = "a multiply: a broadcast (C, 1, 1) gate only scales channels, other operands as ENVELOPE"
    MIXES = "fx / ONNX only: decided by attrs['mixes'] (an op without inputs, a constant, has no field)"


Window = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]  # kernel stride lead dilation


def _conv_window(n: Node) -> Window:
    a = n.attrs
    pads = a["pads"]
    return a["kernel"], a["stride"], (pads[0], pads[2]), a["dilation"]


def _pool_window(n: Node) -> Window:
    a = n.attrs
    return a["kernel"], a["stride"], a["padding"], (1, 1)


def _gate_window(n: Node) -> Window:
    k = n.attrs["kernel"]  # a k x k conv, stride 1, padding k // 2 over the channel mean and max
    return (k, k), (1, 1), (k // 2, k // 2), (1, 1)


def _concat(*xs: Any) -> Any:
    import torch  # only a built model calls this; the spec side of arch stays free of torch

    return torch.cat(xs, 1)


def _maximum(a: Any, b: Any) -> Any:
    return a.maximum(b)  # torch.maximum


@dataclass(frozen=True)
class OpSpec:
    """One graph op. ``module`` or ``merge`` is set for the ops a spec can build."""

    op: Op
    doc: str
    count: CountRule  # (node, first input's shape) -> params, buffers, MACs, FLOPs of one sample
    saves: SaveRule  # what autograd keeps when its output needs a gradient (arch.op_saves)
    rf: RfRule
    window: Callable[[Node], Window] | None = None  # RfRule.WINDOW: its geometry
    module: Callable[[Node], ModuleCall] | None = None  # builder and py export: torch class and arguments
    merge: Callable[..., Any] | None = None  # builder: the function of its inputs (no module)
    code: str = ""  # py export of a merge: "{0} + {1}"; {all} is every input, comma-separated
    symbol: str = ""  # diagram: a merge drawn as this symbol in a circle (else a labelled bar)
    label: Callable[[Node], str] | None = None  # diagram text (default: the op's name)
    own_tensors: bool = False  # fx / ONNX: its params and buffers are counted into attrs["params"] / ["buffers"]
    view: bool = False  # its output is a view of its input (shares the storage)
    inference_view: bool = False  # in inference its output is its input or a view of it (also dropout)
    fx_modules: tuple[str, ...] = ()  # torch.nn / arch.ops classes the fx importer reads as this op
    from_module: FromModule | None = None  # how (arch.op_modules)
    fx_functions: tuple[str, ...] = ()  # fx call targets: dotted functions, ``Tensor.method`` names
    onnx: tuple[str, ...] = ()  # ONNX op types read as this op (arch.onnx_import)

    def text(self, node: Node) -> str:
        return self.label(node) if self.label else str(self.op)


_ACT_FUNCTIONS = tuple(f for a in ACTIVATIONS for f in a.functions)
_ACT_ONNX = tuple(t for a in ACTIVATIONS for t in a.onnx) + ("Clip",)
_F = "torch.nn.functional."
_SWIN = "torchvision.models.swin_transformer."

_ENTRIES = (
    OpSpec(Op.INPUT, "the network input (C, H, W)", count.free, saves.nothing, RfRule.SOURCE),
    OpSpec(Op.CONV, "2-d convolution", count.conv, saves.conv, RfRule.WINDOW, _conv_window, mod.conv_module,
           label=mod.conv_label, fx_modules=("Conv2d",), from_module=mod.conv_from,
           fx_functions=(_F + "conv2d",), onnx=("Conv",)),
    OpSpec(Op.BN, "batch normalisation (2d on maps, 1d on features)", count.bn, saves.bn, RfRule.PASS,
           module=mod.bn_module, fx_modules=("BatchNorm2d", "BatchNorm1d"), from_module=mod.bn_from,
           onnx=("BatchNormalization",)),
    OpSpec(Op.ACT, "an element-wise activation (arch.activations)", count.act, saves.act, RfRule.PASS,
           module=mod.act_module, label=mod.act_label, fx_modules=tuple(a.module for a in ACTIVATIONS),
           from_module=mod.act_from, fx_functions=_ACT_FUNCTIONS, onnx=_ACT_ONNX),
    OpSpec(Op.MAXPOOL, "max pooling", count.maxpool, saves.max_pool, RfRule.WINDOW, _pool_window, mod.maxpool_module,
           label=mod.pool_label, fx_modules=("MaxPool2d",), from_module=mod.maxpool_from,
           fx_functions=(_F + "max_pool2d",), onnx=("MaxPool",)),
    OpSpec(Op.AVGPOOL, "average pooling (padding counted, torch's default)", count.avgpool, saves.first_input,
           RfRule.WINDOW, _pool_window, mod.avgpool_module, label=mod.pool_label, fx_modules=("AvgPool2d",),
           from_module=mod.avgpool_from, fx_functions=(_F + "avg_pool2d",), onnx=("AveragePool",)),
    OpSpec(Op.NMAXPOOL, "mean of the n largest values per window (arch.ops.NMaxPool2d)", count.nmaxpool,
           saves.nmaxpool, RfRule.WINDOW, _pool_window, mod.nmaxpool_module, label=mod.pool_label,
           fx_modules=("NMaxPool2d",), from_module=mod.nmaxpool_from),
    OpSpec(Op.ADAPTIVE_AVGPOOL, "adaptive average pooling", count.adaptive_avgpool, saves.adaptive_avgpool,
           RfRule.ADAPTIVE, module=mod.adaptive_avgpool_module, label=mod.adaptive_label,
           fx_modules=("AdaptiveAvgPool2d",), from_module=mod.adaptive_avgpool_from,
           fx_functions=(_F + "adaptive_avg_pool2d",), onnx=("GlobalAveragePool", "ReduceMean")),
    OpSpec(Op.ADAPTIVE_MAXPOOL, "adaptive max pooling", count.adaptive_maxpool, saves.max_pool, RfRule.ADAPTIVE,
           module=mod.adaptive_maxpool_module, label=mod.adaptive_label, fx_modules=("AdaptiveMaxPool2d",),
           from_module=mod.adaptive_maxpool_from, fx_functions=(_F + "adaptive_max_pool2d",),
           onnx=("GlobalMaxPool",)),
    OpSpec(Op.FLATTEN, "flatten to one axis, a view (its fx targets to other shapes: reshape)", count.free,
           saves.nothing, RfRule.WHOLE, module=mod.flatten_module, view=True, inference_view=True,
           fx_modules=("Flatten",), from_module=mod.flatten_from,
           fx_functions=("torch.flatten", "Tensor.flatten", "Tensor.view", "Tensor.reshape"), onnx=("Flatten",)),
    OpSpec(Op.DROPOUT, "dropout (identity in inference; drop-path too)", count.free, saves.dropout, RfRule.PASS,
           module=mod.dropout_module, label=mod.dropout_label, inference_view=True,
           fx_modules=("Dropout", "Dropout2d"), from_module=mod.dropout_from,
           fx_functions=(_F + "dropout", "torchvision.ops.stochastic_depth.stochastic_depth")),
    OpSpec(Op.LINEAR, "fully connected, over the last axis", count.linear, saves.first_input, RfRule.WHOLE,
           module=mod.linear_module, label=mod.linear_label, fx_modules=("Linear",), from_module=mod.linear_from,
           fx_functions=(_F + "linear",), onnx=("Gemm", "MatMul")),
    OpSpec(Op.LRN, "local response normalisation across channels", count.lrn, saves.lrn, RfRule.PASS,
           module=mod.lrn_module, fx_modules=("LocalResponseNorm",), from_module=mod.lrn_from, onnx=("LRN",)),
    OpSpec(Op.CHANNEL_GATE, "CBAM channel attention: a (C, 1, 1) sigmoid gate", count.channel_gate,
           saves.channel_gate, RfRule.WHOLE, module=mod.channel_gate_module, fx_modules=("ChannelGate",),
           from_module=mod.channel_gate_from),
    OpSpec(Op.SPATIAL_GATE, "CBAM spatial attention: a (1, H, W) sigmoid gate", count.spatial_gate,
           saves.spatial_gate, RfRule.WINDOW, _gate_window, mod.spatial_gate_module, fx_modules=("SpatialGate",),
           from_module=mod.spatial_gate_from),
    OpSpec(Op.ADD, "element-wise sum of two values", count.elementwise, saves.nothing, RfRule.ENVELOPE,
           merge=operator.add, code="{0} + {1}", symbol="+",
           fx_functions=("operator.add", "operator.iadd", "torch.add", "Tensor.add", "Tensor.add_"),
           onnx=("Add", "Sum")),
    OpSpec(Op.MUL, "element-wise product (x and a gate, or two maps)", count.elementwise, saves.mul, RfRule.SCALE,
           merge=operator.mul, code="{0} * {1}", symbol="×", label=lambda n: "multiply",
           fx_functions=("operator.mul", "operator.imul", "torch.mul", "Tensor.mul", "Tensor.mul_"), onnx=("Mul",)),
    OpSpec(Op.MAX, "element-wise maximum of two values", count.elementwise, saves.maximum, RfRule.ENVELOPE,
           merge=_maximum, code="torch.maximum({0}, {1})",
           fx_functions=("torch.maximum", "Tensor.maximum"), onnx=("Max",)),
    OpSpec(Op.CONCAT, "concatenation on the channel axis", count.free, saves.nothing, RfRule.ENVELOPE,
           merge=_concat, code="torch.cat([{all}], 1)", fx_functions=("torch.cat", "torch.stack"),
           onnx=("Concat",)),
    OpSpec(Op.UNKNOWN, "an op the importers could not map (counted as free: totals become lower bounds)",
           count.unknown, saves.nothing, RfRule.ENVELOPE, own_tensors=True, label=mod.unknown_label),
    OpSpec(Op.CONSTANT, "a parameter, buffer or created tensor", count.unknown, saves.nothing, RfRule.MIXES,
           own_tensors=True,
           fx_functions=("torch.zeros", "torch.ones", "torch.empty", "torch.full", "torch.arange", "torch.tensor",
                         "torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.full_like", "torch.eye",
                         "torch.linspace", "Tensor.new_zeros", "Tensor.new_ones", "Tensor.new_empty",
                         "Tensor.new_full", "Tensor.new_tensor")),
    OpSpec(Op.RESHAPE, "a view or layout change (no arithmetic)", count.free, saves.nothing, RfRule.MIXES, view=True,
           inference_view=True, fx_functions=(
               "operator.getitem", "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.unflatten",
               "torch.permute", "torch.transpose", "torch.swapaxes", "torch.movedim", "torch.t", "torch.chunk",
               "torch.split", "torch.unbind", "Tensor.unflatten",
               "Tensor.squeeze", "Tensor.unsqueeze", "Tensor.expand", "Tensor.expand_as", "Tensor.view_as",
               "Tensor.reshape_as", "Tensor.permute", "Tensor.transpose", "Tensor.swapaxes", "Tensor.movedim",
               "Tensor.t", "Tensor.chunk", "Tensor.split", "Tensor.unbind", "Tensor.tensor_split",
               "Tensor.contiguous", "Tensor.to", "Tensor.float", "Tensor.half", "Tensor.bfloat16", "Tensor.type_as",
               "Tensor.detach", "Tensor.clone"),
           onnx=("Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity")),
    OpSpec(Op.COPY, "a copy that moves values (concatenation on other axes, roll, pad, gather)", count.free,
           saves.nothing, RfRule.MIXES, fx_functions=("torch.roll", _F + "pad", "Tensor.roll", "Tensor.repeat",
                                                 _SWIN + "_get_relative_position_bias",
                                                 _SWIN + "_patch_merging_pad")),
    OpSpec(Op.MATMUL, "matmul, bmm, einsum (attrs['macs'])", count.products, saves.inputs, RfRule.MIXES,
           fx_functions=("torch.matmul", "operator.matmul", "torch.bmm", "Tensor.matmul", "Tensor.bmm",
                         "torch.einsum", "torch.functional.einsum")),
    OpSpec(Op.ATTENTION, "scaled dot-product or Swin window attention (attrs['macs'], ['saved'])",
           count.products, saves.attention, RfRule.MIXES, own_tensors=True,
           fx_functions=(_F + "scaled_dot_product_attention", _SWIN + "shifted_window_attention")),
    OpSpec(Op.MHA, "nn.MultiheadAttention (batch_first, no weights returned)", count.products, saves.attention,
           RfRule.MIXES, own_tensors=True, fx_modules=("MultiheadAttention",)),
    OpSpec(Op.LAYER_NORM, "layer normalisation (attrs['rows'], ['affine'])", count.norm, saves.norm, RfRule.MIXES,
           own_tensors=True,
           fx_modules=("LayerNorm",), from_module=mod.layer_norm_from, fx_functions=(_F + "layer_norm",)),
    OpSpec(Op.GROUP_NORM, "group normalisation (attrs['rows'], ['affine'])", count.norm, saves.norm, RfRule.MIXES,
           own_tensors=True,
           fx_modules=("GroupNorm",), from_module=mod.group_norm_from, fx_functions=(_F + "group_norm",)),
    OpSpec(Op.SOFTMAX, "softmax or log-softmax", count.softmax, saves.output, RfRule.MIXES, own_tensors=True,
           fx_modules=("Softmax", "LogSoftmax"), from_module=mod.softmax_from,
           fx_functions=(_F + "softmax", "torch.softmax", _F + "log_softmax", "torch.log_softmax", "Tensor.softmax",
                         "Tensor.log_softmax")),
    OpSpec(Op.ARITH, "other element-wise arithmetic (attrs['fn']: scalar, sub, div or a unary function)",
           count.elementwise, saves.arith, RfRule.MIXES,
           fx_functions=("operator.sub", "operator.isub", "torch.sub", "operator.truediv", "operator.itruediv",
                         "torch.div", "Tensor.sub", "Tensor.sub_", "Tensor.div", "Tensor.div_", "torch.exp",
                         "torch.sqrt", "torch.rsqrt", "torch.abs", "torch.neg", "operator.neg", "torch.log",
                         "torch.clamp", "torch.pow", "operator.pow", "torch.sin", "torch.cos", "torch.erf",
                         _F + "normalize", "Tensor.exp", "Tensor.sqrt", "Tensor.rsqrt", "Tensor.abs", "Tensor.neg",
                         "Tensor.log", "Tensor.clamp", "Tensor.clamp_", "Tensor.pow", "Tensor.sin", "Tensor.cos",
                         "Tensor.erf")),
    OpSpec(Op.REDUCE, "a reduction (attrs['fn']: mean, sum, amax, amin)", count.reduce, saves.nothing, RfRule.MIXES,
           fx_functions=("torch.mean", "torch.sum", "torch.amax", "torch.amin", "Tensor.mean", "Tensor.sum",
                         "Tensor.amax", "Tensor.amin")),
)

OPS: dict[str, OpSpec] = {e.op: e for e in _ENTRIES}
MERGES = frozenset(e.op for e in _ENTRIES if e.merge)  # functions of their inputs: no module
VIEWS = frozenset(e.op for e in _ENTRIES if e.view)
INFERENCE_VIEWS = frozenset(e.op for e in _ENTRIES if e.inference_view)


def module_call(node: Node) -> ModuleCall:
    """The torch class name and constructor arguments of a module-backed op (builder and py export)."""
    make = OPS[node.op].module
    if make is None:
        raise ValueError(f"op {node.op!r} of {node.name} cannot be built")
    return make(node)


def label(node: Node) -> str:
    """A short name for one op, e.g. ``conv 3x3/2, 64`` or ``max pool 3x3/2``."""
    return OPS[node.op].text(node)
