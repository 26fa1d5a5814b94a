"""Any ``nn.Module`` -> the graph IR, through a torch.fx trace and shape propagation on meta tensors.

Node names are module paths (``layer1.0.conv1``); a module called again gets ``@1``, ``@2`` (as torch's
own ``nn_module_stack`` names them) and counts its parameters once (so do weights tied between modules:
``attrs["shared_params"]`` says how many were counted elsewhere); a function call keeps its fx name
(``add_3``). Blocks are the root's children, and the children of plain containers (Sequential,
ModuleList, ModuleDict) below them, so torchvision's ``layer1`` is a stage of ``layer1.0``, ``layer1.1``.

A parameter or buffer a function reads (a layer scale, a class token, the weight of ``F.conv2d``) is a
``constant`` node, counted once where it is first read. Values that do not depend on the input pixels
(constants and what is computed from them only: Swin's relative position bias) carry ``attrs["once"]``:
they are computed once per batch, their shape has no batch axis.

Transformers map to IR ops too: ``linear`` on any rank (channels-last), ``matmul`` (matmul, bmm, einsum),
``attention`` (scaled_dot_product_attention, torchvision's Swin window attention), ``mha``
(nn.MultiheadAttention), ``layer_norm``, ``group_norm``, ``softmax``, ``reshape`` (views and layout),
``copy`` (concatenation on other axes, roll, pad), ``arith`` and ``reduce``. Each fx-imported op says in
``attrs["mixes"]`` whether it mixes image positions (``arch.fx_roles``): its receptive field is then
global. Every op that has no IR equivalent becomes an ``unknown`` node (its parameters and buffers still
counted) and is listed in ``graph.unknown_ops``; the analysis then marks the totals as lower bounds.
Values that are not tensors (sizes, shapes) are not activations and make no node. Parameters of modules
that the traced forward never calls are not part of the graph; ``unused_parameters`` names them.
"""

from __future__ import annotations

import importlib.util
import inspect
import operator
import sys
from math import prod
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from arch import fx_roles, ops
from arch.errors import ConvSmithError
from arch.fields import as_pair
from arch.fx_trace import SHAPE, meta_init, traced
from arch.graph import BlockInfo, Graph, Node
from arch.shapes import conv_pads

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
ACT_MODULES = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.SiLU: "silu", nn.GELU: "gelu",
               nn.Hardswish: "hardswish", nn.Sigmoid: "sigmoid", nn.Hardsigmoid: "hardsigmoid", nn.Tanh: "tanh"}
ACT_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.leaky_relu: "leaky_relu", F.silu: "silu",
                 F.gelu: "gelu", F.hardswish: "hardswish", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
                 F.hardsigmoid: "hardsigmoid", torch.tanh: "tanh", F.tanh: "tanh"}
ACT_METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
ADD = (operator.add, operator.iadd, torch.add)
MUL = (operator.mul, operator.imul, torch.mul)
SUB_DIV = (operator.sub, operator.isub, torch.sub, operator.truediv, operator.itruediv, torch.div)
MATMUL = (torch.matmul, operator.matmul, torch.bmm)
UNARY = {torch.exp: "exp", torch.sqrt: "sqrt", torch.rsqrt: "rsqrt", torch.abs: "abs", torch.neg: "neg",
         operator.neg: "neg", torch.log: "log", torch.clamp: "clamp", torch.pow: "pow", operator.pow: "pow",
         torch.sin: "sin", torch.cos: "cos", torch.erf: "erf", F.normalize: "normalize"}
UNARY_METHODS = ("exp", "sqrt", "rsqrt", "abs", "neg", "log", "clamp", "clamp_", "pow", "sin", "cos", "erf")
SCALAR_METHODS = ("add", "add_", "mul", "mul_", "sub", "sub_", "div", "div_")
SOFTMAX = (F.softmax, torch.softmax, F.log_softmax, torch.log_softmax)
FACTORIES = (torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.tensor, torch.zeros_like,
             torch.ones_like, torch.empty_like, torch.full_like, torch.eye, torch.linspace)
FACTORY_METHODS = ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor")
ALIAS_METHODS = ("contiguous", "to", "float", "half", "bfloat16", "type_as", "detach", "clone")
VIEW_METHODS = ("view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "expand", "expand_as",
                "view_as", "reshape_as")
VIEW_FUNCTIONS = (torch.reshape, torch.flatten, torch.squeeze, torch.unsqueeze, torch.unflatten)
PERMUTES = ("permute", "transpose", "swapaxes", "movedim", "t")
SPLITS = ("chunk", "split", "unbind", "tensor_split")
REDUCES = ("mean", "sum", "amax", "amin")
# torchvision functions that torch.fx.wrap keeps opaque, by what they compute
SWIN = "torchvision.models.swin_transformer."
WRAPPED_COPIES = (SWIN + "_get_relative_position_bias", SWIN + "_patch_merging_pad")
WINDOW_ATTENTION = SWIN + "shifted_window_attention"
Mapped = tuple[str, dict[str, Any]]


def _target_name(fx_node: fx.Node) -> str:
    t = fx_node.target
    if isinstance(t, str):
        return t if fx_node.op == "call_module" else f"Tensor.{t}"
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", repr(t))
    return f"{module}.{name}" if module and module != "_operator" else f"operator.{name}"


def _arg(fx_node: fx.Node, index: int, name: str, default: Any) -> Any:
    if len(fx_node.args) > index:
        return fx_node.args[index]
    return fx_node.kwargs.get(name, default)


def _dims(value: Any) -> list[int]:
    """An int, a list of ints or None (all axes) as a list (None -> [])."""
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


class _Importer:
    def __init__(self, root: nn.Module, fx_graph: fx.Graph, name: str, input_shape: tuple[int, ...]) -> None:
        self.root = root  # the original module: its container types and weights (fx copies flatten them)
        self.fx_graph = fx_graph
        self.modules = dict(root.named_modules())
        self.graph = Graph(name, tuple(input_shape))
        self.value: dict[fx.Node, str] = {}  # fx node -> IR node holding its value
        self.calls: dict[str, int] = {}  # module path -> times called so far
        self.seen_params: set[int] = set()
        self.blocks = self._block_paths()
        self.batched: set[fx.Node] = set()  # fx nodes whose value depends on the input (it has a batch axis)
        self.full: dict[str, Any] = {}  # IR value -> its full shape (batch axis included when batched)
        self.roles: dict[str, fx_roles.Roles] = {}  # IR value -> axis roles of its full shape
        self.free: set[str] = set()  # IR values that do not depend on the input pixels

    # ---------------------------------------------------------------------------------- blocks
    def _block_paths(self) -> dict[str, str | None]:
        """Module path -> parent block path, for every module that is a block."""
        out: dict[str, str | None] = {}

        def visit(module: nn.Module, prefix: str, parent: str | None) -> None:
            for child_name, child in module.named_children():
                path = f"{prefix}{child_name}"
                out[path] = parent
                if type(child) in CONTAINERS:
                    visit(child, path + ".", path)

        visit(self.root, "", None)
        return out

    def _block_of(self, fx_node: fx.Node) -> str:
        stack = fx_node.meta.get("nn_module_stack") or {}
        paths = [path for path, _ in stack.values()]
        if fx_node.op in ("call_module", "get_attr"):
            target = str(fx_node.target)
            while target:  # the module itself, then its parents
                if target in self.blocks:
                    return target
                target = target.rpartition(".")[0]
        for path in reversed(paths):
            if path in self.blocks:
                return path
        return ""

    # ---------------------------------------------------------------------------------- params
    def _counts(self, tensors: list[tuple[torch.Tensor, bool]]) -> dict[str, int]:
        """params / frozen_params / buffers of tensors not counted before (shared weights count once)."""
        params = frozen = buffers = 0
        for t, is_param in tensors:
            if id(t) in self.seen_params:
                continue
            self.seen_params.add(id(t))
            if is_param:
                params += t.numel()
                frozen += 0 if t.requires_grad else t.numel()
            else:
                buffers += t.numel()
        return {"params": params, "frozen_params": frozen, "buffers": buffers}

    def _module_tensors(self, m: nn.Module) -> list[tuple[torch.Tensor, bool]]:
        return [(p, True) for p in m.parameters()] + [(b, False) for b in m.buffers()]

    # ---------------------------------------------------------------------------------- nodes
    def _name(self, fx_node: fx.Node) -> str:
        if fx_node.op != "call_module":
            return fx_node.name if fx_node.name not in self.modules else f"{fx_node.name}@fx"
        path = str(fx_node.target)
        n = self.calls.get(path, 0)
        self.calls[path] = n + 1
        return path if n == 0 else f"{path}@{n}"

    def _constant(self, fx_node: fx.Node) -> str | None:
        """The IR node of a parameter / buffer read by a function, made on first use."""
        if fx_node in self.value:
            return self.value[fx_node]
        full = fx_node.meta.get(SHAPE)
        tensor = getattr_path(self.root, str(fx_node.target))
        if not isinstance(full, tuple) or not isinstance(tensor, torch.Tensor):
            return None
        counts = self._counts([(tensor, isinstance(tensor, nn.Parameter))])
        self._add(fx_node, "constant", [], full, full, fx_roles.plain(len(full)), once=True,
                  target=str(fx_node.target), **{k: v for k, v in counts.items() if v})
        return self.value[fx_node]

    def _inputs(self, fx_node: fx.Node) -> list[str]:
        """IR values among the fx node's arguments (parameters and buffers become constant nodes)."""
        values: list[str] = []

        def visit(a: Any) -> Any:
            if isinstance(a, fx.Node):
                name = self.value.get(a) or (self._constant(a) if a.op == "get_attr" else None)
                if name is not None and name not in values:
                    values.append(name)
            return a

        fx.node.map_arg((fx_node.args, fx_node.kwargs), visit)
        return values

    def _add(self, fx_node: fx.Node, op: str, inputs: list[str], shape: tuple[int, ...], full: Any,
             roles: fx_roles.Roles, **attrs: Any) -> None:
        block = self._block_of(fx_node)
        family = type(self.modules[block]).__name__ if block else ""
        name = self._name(fx_node)
        self.graph.add(Node(name, op, tuple(inputs), shape, attrs, block, family))
        self.value[fx_node] = name
        self.full[name] = full
        self.roles[name] = roles
        if attrs.get("once") or (inputs and all(i in self.free for i in inputs)) or op == "constant":
            self.free.add(name)

    def unknown(self, fx_node: fx.Node, inputs: list[str], shape: tuple[int, ...], full: Any,
                counts: dict[str, int]) -> None:
        target = _target_name(fx_node)
        rank = len(full) if isinstance(full, tuple) else 0
        self._add(fx_node, "unknown", inputs, shape, full, ("s",) * rank, target=target, **counts)
        self.graph.unknown_ops.append(f"{self.graph.nodes[-1].name} ({target})")

    def run(self) -> Graph:
        image = _image_input(self.fx_graph, self.graph.name)
        for fx_node in self.fx_graph.nodes:
            if fx_node.op == "placeholder":
                if fx_node is image:
                    self.graph.add(Node("input", "input", (), self.graph.input_shape))
                    self.value[fx_node] = "input"
                    self.full["input"] = (1, *self.graph.input_shape)
                    self.roles["input"] = ("c", *fx_roles.image(self.graph.input_shape))
                    self.batched.add(fx_node)
            elif fx_node.op == "output":
                self._output(fx_node)
            elif fx_node.op != "get_attr":
                if any(a in self.batched for a in fx_node.all_input_nodes):
                    self.batched.add(fx_node)
                self._op(fx_node)
        self._add_blocks()
        return self.graph

    def _output(self, fx_node: fx.Node) -> None:
        outs = self._inputs(fx_node)
        if not outs:
            return
        node = self.graph.node(outs[0])
        later = self.graph.nodes[self.graph.nodes.index(node) + 1:]
        if not any(node.name in n.inputs for n in later):  # keep the network output last (graph.output)
            self.graph.nodes.remove(node)
            self.graph.nodes.append(node)

    def _op(self, fx_node: fx.Node) -> None:
        full = fx_node.meta.get(SHAPE)
        m = self.root.get_submodule(str(fx_node.target)) if fx_node.op == "call_module" else None
        if full is None and m is None:
            return  # sizes, shapes, python values, None: not activations
        inputs = self._inputs(fx_node)
        owned = self._module_tensors(m) if m is not None else []
        counts = self._counts(owned)
        batched = fx_node in self.batched
        if isinstance(full, tuple):
            shape = full[1:] if batched and full else full
        else:
            shape = ()  # a tuple of tensors (or nothing): its getitem users make the nodes downstream
        mapped = None
        if full is not None:
            try:
                mapped = self._map_module(fx_node, m, inputs, shape) if m is not None else \
                    self._map_function(fx_node, inputs, shape)
            except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
                mapped = None  # an argument pattern the rules do not know: listed as unknown below
        if mapped is None:
            self.unknown(fx_node, inputs, shape, full, {k: v for k, v in counts.items() if v})
            return
        op, attrs = mapped
        roles = attrs.pop("roles", None)
        inputs = attrs.pop("inputs", inputs)
        if op == "mha" and isinstance(full, list):  # (output, weights): the node holds the output
            full = full[0]
            shape = full[1:]
        if op == "alias":
            self.value[fx_node] = inputs[0]
            return
        if op == "pool_flat":  # x.mean((2, 3)): global average pooling, then the flat view of it
            self._add(fx_node, "adaptive_avgpool", inputs, (shape[0], 1, 1), (1, shape[0], 1, 1), ("c", "c", "h", "w"),
                      **attrs)
            pooled = self.value[fx_node]
            self.graph.add(Node(f"{pooled}@flatten", "flatten", (pooled,), shape, {}, self.graph.nodes[-1].block,
                                self.graph.nodes[-1].family))
            self.value[fx_node] = f"{pooled}@flatten"
            self.full[f"{pooled}@flatten"], self.roles[f"{pooled}@flatten"] = full, ("c", "c")
            return
        if op in COUNTED:
            attrs.update({k: v for k, v in counts.items() if v})
        elif counts["frozen_params"]:
            attrs["frozen_params"] = counts["frozen_params"]
        if not batched:
            attrs["once"] = True
        # a module called again, or weights tied to another module: counted where they were first seen
        seen_params = sum(t.numel() for t, is_param in owned if is_param) - counts["params"]
        seen_buffers = sum(t.numel() for t, is_param in owned if not is_param) - counts["buffers"]
        if seen_params and op not in COUNTED:
            attrs["shared_params"] = seen_params
        if seen_buffers and op not in COUNTED:
            attrs["shared_buffers"] = seen_buffers
        if roles is None:
            rank = len(full) if isinstance(full, tuple) else 0
            roles = self._same_roles(inputs, rank)
        self._add(fx_node, op, inputs, shape, full, roles, **attrs)

    # ------------------------------------------------------------------------------- helpers
    def _in_shape(self, name: str) -> tuple[int, ...]:
        return self.graph.node(name).shape

    def _same_roles(self, inputs: list[str], rank: int) -> fx_roles.Roles:
        """An element-wise op's roles: those of its first input of the output's rank."""
        for i in inputs:
            if len(self.roles.get(i, ())) == rank and i not in self.free:
                return self.roles[i]
        for i in inputs:
            if len(self.roles.get(i, ())) == rank:
                return self.roles[i]
        return ("s",) * rank

    def _acts(self, inputs: list[str]) -> list[str]:
        """The inputs that depend on the input pixels."""
        return [i for i in inputs if i not in self.free]

    def _mixes(self, name: str, axes: list[int]) -> bool:
        return name not in self.free and fx_roles.spatial(self.roles[name], axes)

    def _full_of(self, a: Any) -> tuple[int, ...]:
        if isinstance(a, fx.Node):
            full = a.meta.get(SHAPE)
            if isinstance(full, tuple):
                return full
        raise ValueError("not a tensor")

    def _windowed(self, name: str) -> bool:
        """A conv / pool over a value whose axes are not channels, rows, columns (a reshaped map)."""
        return name not in self.free and self.roles[name][1:] != ("c", "h", "w")

    # ------------------------------------------------------------------------------- mapping
    def _map_module(self, fx_node: fx.Node, m: nn.Module, inputs: list[str], shape: tuple[int, ...]) -> Mapped | None:
        if isinstance(m, nn.Identity):
            return ("alias", {}) if inputs else None
        if isinstance(m, nn.MultiheadAttention):
            return self._mha(fx_node, m, inputs)
        if len(inputs) != 1:
            return None
        x = self._in_shape(inputs[0])
        name = inputs[0]
        if type(m) is nn.Conv2d and len(x) == 3:
            kernel, dilation = as_pair(m.kernel_size), as_pair(m.dilation)
            padding = m.padding if isinstance(m.padding, str) else as_pair(m.padding)
            pads, torch_padding = conv_pads(kernel, dilation, padding)
            attrs = dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=kernel,
                         stride=as_pair(m.stride), dilation=dilation, groups=m.groups, bias=m.bias is not None,
                         padding_mode=m.padding_mode, pads=pads, padding=torch_padding)
            if self._windowed(name):
                attrs["mixes"] = True
            return "conv", attrs
        if type(m) in (nn.BatchNorm2d, nn.BatchNorm1d) and len(x) in (1, 3):
            return "bn", dict(channels=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                              track_running_stats=m.track_running_stats)
        if type(m) in ACT_MODULES:
            return "act", {"fn": ACT_MODULES[type(m)]}
        if type(m) in (nn.MaxPool2d, nn.AvgPool2d) and len(x) == 3:
            if isinstance(m, nn.MaxPool2d) and as_pair(m.dilation) != (1, 1):
                return None
            return self._pool_of(name, "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool", m.kernel_size,
                                 m.stride, m.padding, m.ceil_mode)
        if isinstance(m, ops.ChannelGate) and len(x) == 3:  # CBAM's gates: the IR has an op for each
            return "channel_gate", {"channels": m.fc1.in_channels, "hidden": m.fc1.out_channels}
        if isinstance(m, ops.SpatialGate) and len(x) == 3:
            return "spatial_gate", {"kernel": m.conv.kernel_size[0]}
        if isinstance(m, ops.NMaxPool2d):
            op, attrs = self._pool_of(name, "nmaxpool", m.kernel_size, m.stride, m.padding, m.ceil_mode)
            return op, {**attrs, "n": m.n}
        if type(m) in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d) and len(x) == 3:
            op = "adaptive_avgpool" if isinstance(m, nn.AdaptiveAvgPool2d) else "adaptive_maxpool"
            return op, {"output": (shape[1], shape[2])}
        if type(m) is nn.Flatten:
            return _flatten(x, shape) or self._view(name, shape)
        if type(m) in (nn.Dropout, nn.Dropout2d):
            return "dropout", {"p": m.p}
        if type(m) is nn.LocalResponseNorm and len(x) == 3:
            return "lrn", {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}
        if type(m) is nn.Linear:
            if len(x) == 1:
                return "linear", dict(in_features=m.in_features, out_features=m.out_features,
                                      bias=m.bias is not None)
            return "linear", dict(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None,
                                  mixes=self._mixes(name, [-1]))
        if type(m) is nn.LayerNorm:
            axes = list(range(-len(m.normalized_shape), 0))
            return "layer_norm", {"rows": prod(shape) // prod(m.normalized_shape), "affine": m.elementwise_affine,
                                  "mixes": self._mixes(name, axes)}
        if type(m) is nn.GroupNorm:
            return "group_norm", {"rows": m.num_groups, "affine": m.affine,
                                  "mixes": self._mixes(name, list(range(2, len(x) + 1)))}
        if type(m) in (nn.Softmax, nn.LogSoftmax):
            return "softmax", {"mixes": self._mixes(name, _dims(m.dim)), "fn": "softmax"}
        return None

    def _pool_of(self, name: str, op: str, kernel: Any, stride: Any, padding: Any, ceil_mode: bool) -> Mapped:
        op, attrs = _pool(op, kernel, stride, padding, ceil_mode)
        if self._windowed(name):
            attrs["mixes"] = True
        return op, attrs

    def _view(self, name: str, shape: tuple[int, ...], roles: fx_roles.Roles | None = None,
              op: str = "reshape") -> Mapped:
        """A view or copy that moves values without arithmetic: each value keeps its receptive field."""
        if roles is None:
            src = self.full[name]
            dst = (1, *shape) if name not in self.free else shape
            roles = fx_roles.reshape(src, self.roles[name], dst) if isinstance(src, tuple) else ("s",) * len(dst)
        return op, {"mixes": False, "roles": roles}

    def _map_function(self, fx_node: fx.Node, inputs: list[str], shape: tuple[int, ...]) -> Mapped | None:
        t, a = fx_node.target, fx_node.args
        method = t if fx_node.op == "call_method" else None
        tensors = [arg for arg in a if isinstance(arg, fx.Node)]
        if t in FACTORIES or method in FACTORY_METHODS:
            return "constant", {"roles": fx_roles.plain(len(self._full_of(fx_node))), "created": True,
                                "inputs": []}
        if not inputs:
            return None
        name = inputs[0]
        x = self._in_shape(name)
        if t in ADD or method in ("add", "add_"):
            if len(tensors) == 2 and not fx_node.kwargs.get("alpha"):
                return ("add", {}) if len(inputs) == 2 else ("add", {"inputs": [name, name]})  # x + x
            if len(inputs) == 1 and len(tensors) <= 1:
                return "arith", {"fn": "scalar", "mixes": False}
            return None
        if t in MUL or method in ("mul", "mul_"):
            if len(inputs) == 1 and len(tensors) == 2:
                return "mul", {"inputs": [name, name]}  # x * x
            if len(inputs) == 2 and len(tensors) == 2:
                if self._in_shape(inputs[1]) == shape and self._in_shape(inputs[0]) != shape:
                    inputs.reverse()  # the IR reads (x, gate): full-size operand first
                return "mul", {}
            if len(inputs) == 1:
                return "arith", {"fn": "scalar", "mixes": False}
            return None
        if t in SUB_DIV or method in ("sub", "sub_", "div", "div_"):
            divides = t in (operator.truediv, operator.itruediv, torch.div) or method in ("div", "div_")
            two = len(inputs) == 2
            return "arith", {"fn": "div" if divides and two else ("sub" if two else "scalar"), "mixes": False}
        if t is torch.maximum or method == "maximum":
            if len(tensors) != 2:
                return None
            return ("max", {}) if len(inputs) == 2 else ("max", {"inputs": [name, name]})
        if t is torch.cat or t is torch.stack:
            dim = int(_arg(fx_node, 1, "dim", 0))
            if t is torch.cat and dim in (1, -3) and len(shape) == 3 and all(len(self._in_shape(i)) == 3
                                                                            for i in inputs):
                return "concat", {}
            return self._view(name, shape, self._same_roles(inputs, len(self._full_of(fx_node))), "copy")
        if t in ACT_FUNCTIONS or method in ACT_METHODS or method in ("relu_", "sigmoid_"):
            fn = ACT_FUNCTIONS[t] if t in ACT_FUNCTIONS else ACT_METHODS[str(method).rstrip("_")]
            return ("act", {"fn": fn}) if len(inputs) == 1 else None
        if t in MATMUL or method in ("matmul", "bmm"):
            return self._matmul(fx_node, inputs)
        if t is torch.einsum or getattr(t, "__name__", "") == "einsum":
            return self._einsum(fx_node, inputs)
        if t is F.scaled_dot_product_attention:
            return self._sdpa(fx_node, inputs)
        if _target_name(fx_node) == WINDOW_ATTENTION:
            return self._window_attention(fx_node, inputs)
        if _target_name(fx_node) in WRAPPED_COPIES:
            return self._view(name, shape, self._same_roles(inputs, len(self._full_of(fx_node))), "copy")
        if t is F.conv2d:
            return self._functional_conv(fx_node, inputs)
        if t is F.linear:
            w = self._full_of(_arg(fx_node, 1, "weight", None))
            bias = _arg(fx_node, 2, "bias", None) is not None
            return "linear", dict(in_features=w[1], out_features=w[0], bias=bias, external=True,
                                  mixes=self._mixes(name, [-1]))
        if t is F.layer_norm:
            normalized = _dims(_arg(fx_node, 1, "normalized_shape", None))
            affine = _arg(fx_node, 2, "weight", None) is not None
            return "layer_norm", {"rows": prod(shape) // prod(normalized), "affine": affine,
                                  "mixes": self._mixes(name, list(range(-len(normalized), 0)))}
        if t is F.group_norm:
            return "group_norm", {"rows": int(_arg(fx_node, 1, "num_groups", 1)),
                                  "affine": _arg(fx_node, 2, "weight", None) is not None,
                                  "mixes": self._mixes(name, list(range(2, len(x) + 1)))}
        if t in SOFTMAX or method in ("softmax", "log_softmax"):
            return "softmax", {"mixes": self._mixes(name, _dims(_arg(fx_node, 1, "dim", None))), "fn": "softmax"}
        if t is operator.getitem:
            return self._getitem(fx_node, name, shape)
        if len(inputs) != 1:
            return None
        if t in UNARY or method in UNARY_METHODS:
            return "arith", {"fn": UNARY.get(t, str(method).rstrip("_")), "mixes": t is F.normalize and
                             self._mixes(name, _dims(_arg(fx_node, 2, "dim", 1)))}
        if method in SCALAR_METHODS:
            return "arith", {"fn": "scalar", "mixes": False}
        if method in ALIAS_METHODS or t is torch.Tensor.contiguous:
            return "alias", {}
        if t is torch.flatten or method in ("flatten", "view", "reshape") and len(shape) == 1:
            found = _flatten(x, shape)
            if found is not None:
                return found
        if t in VIEW_FUNCTIONS or method in VIEW_METHODS:
            return self._view(name, shape)
        if t in (torch.permute, torch.transpose, torch.swapaxes, torch.movedim, torch.t) or method in PERMUTES:
            return self._permute(fx_node, name, shape)
        if t in (torch.chunk, torch.split, torch.unbind, torch.roll, F.pad) or method in (*SPLITS, "roll", "repeat"):
            op = "reshape" if (t in (torch.chunk, torch.split, torch.unbind) or method in SPLITS) else "copy"
            roles = self.roles[name]
            if t is torch.unbind or method == "unbind":
                roles = roles[:1]  # element roles are not tracked through unbind: any later mixing is global
            return op, {"mixes": False, "roles": roles}
        if t in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d) and len(x) == 3:
            return ("adaptive_avgpool" if t is F.adaptive_avg_pool2d else "adaptive_maxpool",
                    {"output": (shape[1], shape[2])})
        if t in (torch.mean, torch.sum, torch.amax, torch.amin) or method in REDUCES:
            return self._reduce(fx_node, name, x, shape, str(method or getattr(t, "__name__", "")))
        if t in (F.max_pool2d, F.avg_pool2d) and len(x) == 3:
            kernel = _arg(fx_node, 1, "kernel_size", None)
            stride = _arg(fx_node, 2, "stride", None)
            padding = _arg(fx_node, 3, "padding", 0)
            if t is F.max_pool2d:
                if as_pair(_arg(fx_node, 4, "dilation", 1)) != (1, 1) or _arg(fx_node, 6, "return_indices", False):
                    return None
                ceil = _arg(fx_node, 5, "ceil_mode", False)
            else:
                ceil = _arg(fx_node, 4, "ceil_mode", False)
            return self._pool_of(name, "maxpool" if t is F.max_pool2d else "avgpool", kernel, stride, padding, ceil)
        if t is F.dropout or _is_stochastic_depth(t):  # drop-path: identity in inference, a mask in training
            return "dropout", {"p": _arg(fx_node, 1, "p", 0.5)}
        return None

    # ------------------------------------------------------------------------ ops with rules
    def _getitem(self, fx_node: fx.Node, name: str, shape: tuple[int, ...]) -> Mapped | None:
        source = fx_node.args[0]
        key = fx_node.args[1]
        if isinstance(source, fx.Node) and isinstance(source.meta.get(SHAPE), list):  # an item of a tuple
            node = self.graph.node(name)
            if node.op in ("mha",) and key == 0:
                return "alias", {}
            return "reshape", {"mixes": False, "roles": self.roles[name][:len(self._full_of(fx_node))]
                               if len(self.roles[name]) == len(self._full_of(fx_node)) else
                               ("s",) * len(self._full_of(fx_node))}
        if isinstance(key, fx.Node) or (isinstance(key, tuple) and any(isinstance(k, fx.Node) for k in key)):
            return "copy", {"mixes": name not in self.free and fx_roles.any_spatial(self.roles[name]),
                            "roles": ("s",) * len(self._full_of(fx_node))}  # a gather: positions are lost
        found = fx_roles.index(self.roles[name], self.full[name], key)
        if found is None:
            return None
        roles, moved = found
        return "reshape", {"mixes": moved and name not in self.free, "roles": roles}

    def _permute(self, fx_node: fx.Node, name: str, shape: tuple[int, ...]) -> Mapped:
        t, method, roles = fx_node.target, fx_node.target if fx_node.op == "call_method" else None, self.roles[name]
        rest = [a for a in fx_node.args[1:]]
        if t is torch.permute or method == "permute":
            dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else \
                rest or _dims(fx_node.kwargs.get("dims"))
            roles = fx_roles.permute(roles, [int(d) for d in dims])
        elif t is torch.t or method == "t":
            roles = roles[::-1]
        elif t is torch.movedim or method == "movedim":
            src, dst = _dims(rest[0]), _dims(rest[1])
            order = [d for d in range(len(roles)) if d not in [s % len(roles) for s in src]]
            for s, d in sorted(zip(src, dst), key=lambda p: p[1] % len(roles)):
                order.insert(d % len(roles), s % len(roles))
            roles = fx_roles.permute(roles, order)
        else:
            roles = fx_roles.swap(roles, int(rest[0]), int(rest[1]))
        return "reshape", {"mixes": False, "roles": roles}

    def _reduce(self, fx_node: fx.Node, name: str, x: tuple[int, ...], shape: tuple[int, ...],
                fn: str) -> Mapped | None:
        dims = _arg(fx_node, 1, "dim", None)
        keep = bool(_arg(fx_node, 2, "keepdim", False))
        if fn == "mean" and len(x) == 3 and isinstance(dims, (list, tuple)) and sorted(d % 4 for d in dims) == [2, 3]:
            return ("adaptive_avgpool" if keep else "pool_flat"), {"output": (1, 1)}
        roles = self.roles[name]
        axes = [d % len(roles) for d in _dims(dims)] if dims is not None else list(range(len(roles)))
        out = roles if keep else tuple(r for i, r in enumerate(roles) if i not in axes)
        return "reduce", {"fn": fn, "mixes": self._mixes(name, axes), "roles": out}

    def _matmul(self, fx_node: fx.Node, inputs: list[str]) -> Mapped | None:
        a_node, b_node = fx_node.args[0], fx_node.args[1]
        a, b, out = self._full_of(a_node), self._full_of(b_node), self._full_of(fx_node)
        if len(a) < 2 or len(b) < 2:
            return None
        names = [self.value.get(a_node) or self._constant(a_node), self.value.get(b_node) or self._constant(b_node)]
        acts = [n for n in names if n is not None and n not in self.free]
        if len(acts) == 2:
            mixes = True
        elif names[0] in acts:
            mixes = self._mixes(names[0], [-1])
        else:
            mixes = bool(acts) and self._mixes(acts[0], [-2])
        roles = (self.roles[names[0]][:-1] + ("c",)) if names[0] in acts else ("c",) * len(out)
        return "matmul", {"macs": prod(out) * a[-1], "mixes": mixes, "saves": "operands",
                          "roles": roles if len(roles) == len(out) else ("s",) * len(out)}

    def _einsum(self, fx_node: fx.Node, inputs: list[str]) -> Mapped | None:
        eq = str(fx_node.args[0]).replace(" ", "")
        operands = fx_node.args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
        if "->" not in eq or "." in eq:
            return None
        lhs, rhs = eq.split("->")
        terms = lhs.split(",")
        if len(terms) != len(operands) or len(operands) > 2:
            return None
        sizes: dict[str, int] = {}
        for term, op in zip(terms, operands):
            for letter, size in zip(term, self._full_of(op)):
                sizes[letter] = max(size, sizes.get(letter, 1))
        names = [self.value.get(o) or self._constant(o) for o in operands]
        acts = [(n, term) for n, term in zip(names, terms) if n is not None and n not in self.free]
        out = self._full_of(fx_node)
        if len(operands) == 1:  # a permutation or a sum: no multiplications
            summed = [i for i, letter in enumerate(terms[0]) if letter not in rhs]
            mixes = bool(acts) and self._mixes(acts[0][0], summed)
            return "reduce" if summed else "reshape", {"fn": "sum", "mixes": mixes, "roles": ("s",) * len(out)}
        macs = prod(sizes.values())
        if len(acts) == 2:
            mixes = True
        elif acts:
            n, term = acts[0]
            mixes = self._mixes(n, [i for i, letter in enumerate(term) if letter not in rhs])
        else:
            mixes = False
        return "matmul", {"macs": macs, "mixes": mixes, "saves": "operands", "roles": ("s",) * len(out)}

    def _sdpa(self, fx_node: fx.Node, inputs: list[str]) -> Mapped:
        q = self._full_of(_arg(fx_node, 0, "query", None))
        k = self._full_of(_arg(fx_node, 1, "key", None))
        v = self._full_of(_arg(fx_node, 2, "value", None))
        groups = prod(q[:-2])
        length, keys = q[-2], k[-2]
        return "attention", {"macs": groups * length * keys * (q[-1] + v[-1]), "mixes": True,
                             "saved": groups * length, "roles": ("s",) * len(q)}

    def _mha(self, fx_node: fx.Node, m: nn.MultiheadAttention, inputs: list[str]) -> Mapped | None:
        if not m.batch_first:
            return None  # (L, N, E) values: the batch axis is not the first one
        q = self._full_of(_arg(fx_node, 0, "query", None))
        k = self._full_of(_arg(fx_node, 1, "key", None))
        v = self._full_of(_arg(fx_node, 2, "value", None))
        if _arg(fx_node, 4, "need_weights", True) or len(q) != 3:
            return None  # averaged attention weights: another output with its own arithmetic
        e, length, keys = m.embed_dim, q[1], k[1]
        macs = length * e * e + keys * k[2] * e + keys * v[2] * e + 2 * length * keys * e + length * e * e
        saved = 3 * length * e + m.num_heads * length * keys + length * e  # q, k, v; probabilities; output
        return "mha", {"macs": macs, "mixes": True, "saved": saved, "roles": ("c", "s", "c")}

    def _window_attention(self, fx_node: fx.Node, inputs: list[str]) -> Mapped:
        """torchvision's Swin ``shifted_window_attention(x, qkv_weight, proj_weight, bias, window_size,
        num_heads, ...)``: the padded map split into windows, self-attention inside each."""
        x = self._full_of(fx_node.args[0])
        window, heads = [int(w) for w in _arg(fx_node, 4, "window_size", None)], int(_arg(fx_node, 5, "num_heads", 1))
        h, w, c = x[-3], x[-2], x[-1]
        tokens = (-(-h // window[0]) * window[0]) * (-(-w // window[1]) * window[1])
        area = window[0] * window[1]
        macs = tokens * c * 3 * c + 2 * tokens * area * c + tokens * c * c
        saved = 4 * tokens * c + heads * tokens * area  # q, k, v, output; probabilities
        return "attention", {"macs": macs, "mixes": True, "saved": saved, "roles": ("c", "s", "s", "c")}

    def _functional_conv(self, fx_node: fx.Node, inputs: list[str]) -> Mapped | None:
        w = self._full_of(_arg(fx_node, 1, "weight", None))
        x = self._full_of(fx_node.args[0])
        if len(w) != 4 or len(x) != 4:
            return None
        stride, dilation = as_pair(_arg(fx_node, 3, "stride", 1)), as_pair(_arg(fx_node, 5, "dilation", 1))
        padding = _arg(fx_node, 4, "padding", 0)
        padding = padding if isinstance(padding, str) else as_pair(padding)
        kernel = (w[2], w[3])
        pads, torch_padding = conv_pads(kernel, dilation, padding)
        groups = int(_arg(fx_node, 6, "groups", 1))
        attrs = dict(in_channels=x[1], out_channels=w[0], kernel=kernel, stride=stride, dilation=dilation,
                     groups=groups, bias=_arg(fx_node, 2, "bias", None) is not None, padding_mode="zeros", pads=pads,
                     padding=torch_padding, external=True)
        if self._windowed(self.value.get(fx_node.args[0], "")):
            attrs["mixes"] = True
        return "conv", attrs

    def _add_blocks(self) -> None:
        members: dict[str, list[Node]] = {}
        for n in self.graph.nodes:
            path = n.block
            while path:
                members.setdefault(path, []).append(n)
                path = self.blocks[path] or ""
        index = {n.name: i for i, n in enumerate(self.graph.nodes)}
        for path, parent in self.blocks.items():
            nodes = members.get(path)
            if not nodes:
                continue
            first, last = nodes[0], nodes[-1]
            in_shape = self.graph.node(first.inputs[0]).shape if first.inputs else first.shape
            self.graph.blocks.append(BlockInfo(
                path, type(self.modules[path]).__name__, _summary(self.modules[path]), "", path, in_shape,
                last.shape, parent, [n.name for n in nodes if n.block == path], last.name))
        self.graph.blocks.sort(key=lambda b: (index[members[b.path][0].name], b.path.count(".")))


COUNTED = frozenset(("layer_norm", "group_norm", "mha", "constant", "unknown", "attention", "softmax"))


def _image_input(graph: fx.Graph, name: str) -> fx.Node:
    """The one required forward argument (the image batch)."""
    required = [n for n in graph.nodes if n.op == "placeholder" and not n.args]
    if len(required) != 1:
        raise ConvSmithError(f"{name}: forward must take exactly one input tensor "
                             f"(it takes {len(required)} required arguments)")
    return required[0]


def _pool(op: str, kernel: Any, stride: Any, padding: Any, ceil_mode: bool) -> tuple[str, dict[str, Any]]:
    k = as_pair(kernel)
    return op, dict(kernel=k, stride=as_pair(stride) if stride not in (None, []) else k,
                    padding=as_pair(padding), ceil_mode=bool(ceil_mode))


def _is_stochastic_depth(target: Any) -> bool:
    return getattr(target, "__name__", "") == "stochastic_depth" and \
        str(getattr(target, "__module__", "")).startswith("torchvision.ops")


def _flatten(x: tuple[int, ...], shape: tuple[int, ...]) -> tuple[str, dict[str, Any]] | None:
    return ("flatten", {}) if len(shape) == 1 and shape[0] == prod(x) else None


def _summary(m: nn.Module) -> str:
    if type(m) in CONTAINERS:
        return f"{type(m).__name__} of {len(m)}"
    extra = m.extra_repr()
    text = f"{type(m).__name__}({extra})" if extra else type(m).__name__
    return text if len(text) <= 90 else text[:87] + "..."


def getattr_path(root: nn.Module, target: str) -> Any:
    value: Any = root
    for part in target.split("."):
        value = getattr(value, part)
    return value


def import_module(module: nn.Module, input_shape: tuple[int, ...], name: str | None = None) -> Graph:
    """Trace ``module`` at ``input_shape`` (no batch dimension) into the graph IR."""
    was_training = module.training
    module.eval()  # the inference graph: auxiliary heads and drop paths are training-only
    try:
        fx_graph = traced(module, tuple(input_shape), lambda g: _image_input(g, name or type(module).__name__))
    finally:
        module.train(was_training)
    return _Importer(module, fx_graph, name or type(module).__name__, tuple(input_shape)).run()


def unused_parameters(module: nn.Module, graph: Graph) -> int:
    """How many parameters of ``module`` no graph node uses (modules the traced forward never calls)."""
    used: set[int] = set()
    for n in graph.nodes:
        for target in [n.name.split("@")[0]] + ([n.attrs["target"]] if n.op == "constant" and "target" in n.attrs
                                                 else []):
            try:
                value = getattr_path(module, target)
            except AttributeError:
                continue
            tensors = value.parameters() if isinstance(value, nn.Module) else [value]
            used.update(id(t) for t in tensors)
    return sum(p.numel() for p in module.parameters() if id(p) not in used)


def torchvision_model(name: str) -> nn.Module:
    """A torchvision classification model by name, built with ``weights=None`` (no download) and its
    weights on the meta device: analysis needs their shapes only."""
    import torchvision

    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        from arch.fields import did_you_mean

        raise ConvSmithError(f"unknown torchvision model {name!r}{did_you_mean(name, available)}")
    with meta_init():
        return torchvision.models.get_model(name, weights=None)


def user_module(ref: str) -> nn.Module:
    """``path/to/file.py:ClassName`` -> an instance built without arguments."""
    path_text, sep, cls_name = ref.rpartition(":")
    if not sep or not path_text or not cls_name:
        raise ConvSmithError(f"--module expects path/to/file.py:ClassName (got {ref!r})")
    path = Path(path_text)
    if not path.is_file():
        raise ConvSmithError(f"--module: no such file {path_text!r}")
    spec = importlib.util.spec_from_file_location(f"convsmith_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConvSmithError(f"--module: cannot import {path_text!r} (not a Python file?)")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        raise ConvSmithError(f"--module: importing {path_text} failed: {type(e).__name__}: {e}") from None
    cls = getattr(mod, cls_name, None)
    if cls is None:
        from arch.fields import did_you_mean

        names = [n for n, v in vars(mod).items() if inspect.isclass(v) and issubclass(v, nn.Module)]
        raise ConvSmithError(f"--module: {path_text} has no class {cls_name!r}{did_you_mean(cls_name, names)}")
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ConvSmithError(f"--module: {cls_name} in {path_text} is not a torch.nn.Module class")
    try:
        return cls()
    except Exception as e:
        raise ConvSmithError(f"--module: {cls_name}() failed (it must construct without arguments): "
                             f"{type(e).__name__}: {e}") from None
