"""Graph ops and torch modules, both ways, and their labels: the ``module``, ``from_module`` and ``label``
of each entry of ``arch.op_table``.

``module``: the torch class name (torch.nn, or ConvSmith's own in ``arch.ops``) and constructor arguments
of a module-backed op; the builder instantiates it and the py export prints it, so both always agree.
``from_module``: what the fx importer makes of such a module, read from its attributes (no torch import
needed) given the shapes without batch axis of its input and output; None when the IR cannot express it
(the importer then records an unknown op). Two keys of the attrs it returns are instructions to the
importer, not attrs: ``windowed`` (a window slid over the value: if its axes are not channels, rows,
columns the op mixes positions) and ``mix_axes`` (the op mixes the values along these axes).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from arch.activations import ACTIVATIONS, BY_NAME
from arch.dims import dims
from arch.fields import as_pair
from arch.graph import Node, Shape
from arch.shapes import conv_pads

ModuleCall = tuple[str, tuple[Any, ...], dict[str, Any]]  # class name, positional and keyword arguments
Attrs = dict[str, Any]
FromModule = Callable[[Any, Shape, Shape], "tuple[str, Attrs] | None"]
ACT_OF_MODULE = {a.module: a.name for a in ACTIVATIONS}


def _k(pair: tuple[int, int]) -> int | tuple[int, int]:
    return pair[0] if pair[0] == pair[1] else (pair[0], pair[1])


# ------------------------------------------------------------------------------------------ conv
def conv_module(node: Node) -> ModuleCall:
    a = node.attrs
    kw: dict[str, Any] = {"stride": _k(a["stride"])}
    padding = a["padding"]
    kw["padding"] = padding if padding == "same" else _k(padding)
    if a["dilation"] != (1, 1):
        kw["dilation"] = _k(a["dilation"])
    if a["groups"] != 1:
        kw["groups"] = a["groups"]
    kw["bias"] = a["bias"]
    if a["padding_mode"] != "zeros":
        kw["padding_mode"] = a["padding_mode"]
    return "Conv2d", (a["in_channels"], a["out_channels"], _k(a["kernel"])), kw


def conv_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    if len(x) != 3:
        return None
    kernel, dilation = as_pair(m.kernel_size), as_pair(m.dilation)
    padding = m.padding if isinstance(m.padding, str) else as_pair(m.padding)
    pads, torch_padding = conv_pads(kernel, dilation, padding)
    return "conv", dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=kernel,
                        stride=as_pair(m.stride), dilation=dilation, groups=m.groups, bias=m.bias is not None,
                        padding_mode=m.padding_mode, pads=pads, padding=torch_padding, windowed=True)


def conv_label(node: Node) -> str:
    a = node.attrs
    groups = a["groups"]
    kind = "dw conv" if groups > 1 and groups == a["in_channels"] else "conv"
    extra = f" g{groups}" if groups > 1 and kind == "conv" else ""
    if a["dilation"] != (1, 1):
        extra += f" d{dims(a['dilation'])}"
    return f"{kind} {dims(a['kernel'])}/{dims(a['stride'], square=True)}{extra}, {a['out_channels']}"


# ------------------------------------------------------------------------------------ norms, acts
def bn_module(node: Node) -> ModuleCall:
    a = node.attrs
    cls = "BatchNorm2d" if len(node.shape) == 3 else "BatchNorm1d"
    return cls, (a["channels"],), {"eps": a["eps"], "momentum": a["momentum"]}


def bn_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    if len(x) not in (1, 3):
        return None
    return "bn", dict(channels=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                      track_running_stats=m.track_running_stats)


def act_module(node: Node) -> ModuleCall:
    return BY_NAME[node.attrs["fn"]].module, (), {}


def act_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return "act", {"fn": ACT_OF_MODULE[type(m).__name__]}


def act_label(node: Node) -> str:
    fn = node.attrs["fn"]
    return BY_NAME[fn].label if fn in BY_NAME else fn


def lrn_module(node: Node) -> ModuleCall:
    a = node.attrs
    return "LocalResponseNorm", (a["size"],), {"alpha": a["alpha"], "beta": a["beta"], "k": a["k"]}


def lrn_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("lrn", {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}) if len(x) == 3 else None


def layer_norm_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return "layer_norm", {"rows": prod(out) // prod(m.normalized_shape), "affine": m.elementwise_affine,
                          "mix_axes": list(range(-len(m.normalized_shape), 0))}


def group_norm_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return "group_norm", {"rows": m.num_groups, "affine": m.affine, "mix_axes": list(range(2, len(x) + 1))}


def softmax_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    dim = m.dim
    axes = [] if dim is None else [int(d) for d in dim] if isinstance(dim, (list, tuple)) else [int(dim)]
    return "softmax", {"mix_axes": axes, "fn": "softmax"}


# ----------------------------------------------------------------------------------------- pools
def _pool_module(cls: str, node: Node, **extra: Any) -> ModuleCall:
    a = node.attrs
    kw: dict[str, Any] = {"stride": _k(a["stride"]), "padding": _k(a["padding"])}
    if a["ceil_mode"]:
        kw["ceil_mode"] = True
    return cls, (_k(a["kernel"]),), {**kw, **extra}


def maxpool_module(node: Node) -> ModuleCall:
    return _pool_module("MaxPool2d", node)


def avgpool_module(node: Node) -> ModuleCall:
    return _pool_module("AvgPool2d", node)


def nmaxpool_module(node: Node) -> ModuleCall:
    return _pool_module("NMaxPool2d", node, n=node.attrs["n"])


def pool_attrs(kernel: Any, stride: Any, padding: Any, ceil_mode: bool) -> Attrs:
    """A pooling window as the IR writes it (``stride`` None: the kernel, as torch does)."""
    k = as_pair(kernel)
    return dict(kernel=k, stride=as_pair(stride) if stride not in (None, []) else k, padding=as_pair(padding),
                ceil_mode=bool(ceil_mode), windowed=True)


def maxpool_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    if len(x) != 3 or as_pair(m.dilation) != (1, 1):
        return None
    return "maxpool", pool_attrs(m.kernel_size, m.stride, m.padding, m.ceil_mode)


def avgpool_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("avgpool", pool_attrs(m.kernel_size, m.stride, m.padding, m.ceil_mode)) if len(x) == 3 else None


def nmaxpool_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return "nmaxpool", {**pool_attrs(m.kernel_size, m.stride, m.padding, m.ceil_mode), "n": m.n}


def pool_label(node: Node) -> str:
    a = node.attrs
    mode = {"maxpool": "max", "avgpool": "avg", "nmaxpool": f"{a.get('n')}-max"}[node.op]
    return f"{mode} pool {dims(a['kernel'])}/{dims(a['stride'], square=True)}"


def adaptive_avgpool_module(node: Node) -> ModuleCall:
    return "AdaptiveAvgPool2d", (_k(node.attrs["output"]),), {}


def adaptive_maxpool_module(node: Node) -> ModuleCall:
    return "AdaptiveMaxPool2d", (_k(node.attrs["output"]),), {}


def adaptive_avgpool_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("adaptive_avgpool", {"output": (out[1], out[2])}) if len(x) == 3 else None


def adaptive_maxpool_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("adaptive_maxpool", {"output": (out[1], out[2])}) if len(x) == 3 else None


def adaptive_label(node: Node) -> str:
    return f"{node.op[9:-4]} pool to {dims(node.attrs['output'])}"


# ------------------------------------------------------------------------------ flatten, dropout, linear
def flatten_module(node: Node) -> ModuleCall:
    return "Flatten", (), {}


def flatten_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    """A flatten to one axis; any other is a view (``reshape``, whose roles the importer works out)."""
    return ("flatten", {}) if len(out) == 1 and out[0] == prod(x) else ("reshape", {})


def dropout_module(node: Node) -> ModuleCall:
    return "Dropout", (), {"p": node.attrs["p"]}


def dropout_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return "dropout", {"p": m.p}


def dropout_label(node: Node) -> str:
    return f"dropout {node.attrs['p']:g}"


def linear_module(node: Node) -> ModuleCall:
    a = node.attrs
    return "Linear", (a["in_features"], a["out_features"]), {"bias": a["bias"]}


def linear_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    """Over the last axis of any rank (channels-last transformers apply it per token)."""
    attrs: Attrs = dict(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None)
    if len(x) != 1:
        attrs["mix_axes"] = [-1]
    return "linear", attrs


def linear_label(node: Node) -> str:
    return f"linear {node.attrs['out_features']}"


# ------------------------------------------------------------------------------------- CBAM gates
def channel_gate_module(node: Node) -> ModuleCall:
    return "ChannelGate", (node.attrs["channels"], node.attrs["hidden"]), {}


def channel_gate_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("channel_gate", {"channels": m.fc1.in_channels, "hidden": m.fc1.out_channels}) if len(x) == 3 else None


def spatial_gate_module(node: Node) -> ModuleCall:
    return "SpatialGate", (node.attrs["kernel"],), {}


def spatial_gate_from(m: Any, x: Shape, out: Shape) -> tuple[str, Attrs] | None:
    return ("spatial_gate", {"kernel": m.conv.kernel_size[0]}) if len(x) == 3 else None


def unknown_label(node: Node) -> str:
    return str(node.attrs.get("target", "unknown"))
