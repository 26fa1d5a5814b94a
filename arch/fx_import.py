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
Which module classes and call targets map to which op is declared in ``arch.op_table`` (``fx_modules``,
``fx_functions``); a module is read by its entry's ``from_module``, a call by the op's rule in ``_CALLS``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from math import prod
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from arch import fx_roles
from arch.errors import ConvSmithError
from arch.fields import as_pair
from arch.fx_targets import ACT_OF_TARGET, CALL_OPS, Call, call_target, module_entry, target_name
from arch.fx_trace import SHAPE, meta_init, traced
from arch.graph import BlockInfo, Graph, Node
from arch.op_modules import pool_attrs
from arch.op_table import OPS, Op
from arch.shapes import conv_pads

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
ALIASES = ("contiguous", "to", "float", "half", "bfloat16", "type_as", "detach", "clone")  # Tensor methods
PERMUTES = ("permute", "transpose", "swapaxes", "movedim", "t")
SPLITS = ("chunk", "split", "unbind", "tensor_split")
Mapped = tuple[str, dict[str, Any]]


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

    def _name_of(self, a: Any) -> str | None:
        """The graph node an fx argument stands for (an activation or a constant), or None (a literal)."""
        return (self.value.get(a) or self._constant(a)) if isinstance(a, fx.Node) else None

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
        target = target_name(fx_node)
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
        mapped = self._mapped(fx_node, m, inputs, shape) if full is not None else None
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
        if op == "pool_flat":
            self._pool_flat(fx_node, inputs, shape, full, attrs)
            return
        self._tensor_attrs(op, attrs, counts, owned)
        if not batched:
            attrs["once"] = True
        if roles is None:
            rank = len(full) if isinstance(full, tuple) else 0
            roles = self._same_roles(inputs, rank)
        self._add(fx_node, op, inputs, shape, full, roles, **attrs)

    def _mapped(self, fx_node: fx.Node, m: nn.Module | None, inputs: list[str], shape: tuple[int, ...]) \
            -> Mapped | None:
        try:
            if m is not None:
                mapped = self._map_module(fx_node, m, inputs, shape)
            else:
                mapped = self._map_function(fx_node, inputs, shape)
            if mapped is not None and inputs:
                self._placed(inputs[0], mapped[1])
            return mapped
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            return None  # an argument pattern the rules do not know: listed as unknown

    def _pool_flat(self, fx_node: fx.Node, inputs: list[str], shape: tuple[int, ...], full: Any,
                   attrs: dict[str, Any]) -> None:
        """x.mean((2, 3)): global average pooling, then the flat view of it."""
        self._add(fx_node, "adaptive_avgpool", inputs, (shape[0], 1, 1), (1, shape[0], 1, 1), ("c", "c", "h", "w"),
                  **attrs)
        pooled = self.value[fx_node]
        self.graph.add(Node(f"{pooled}@flatten", "flatten", (pooled,), shape, {}, self.graph.nodes[-1].block,
                            self.graph.nodes[-1].family))
        self.value[fx_node] = f"{pooled}@flatten"
        self.full[f"{pooled}@flatten"], self.roles[f"{pooled}@flatten"] = full, ("c", "c")

    def _tensor_attrs(self, op: str, attrs: dict[str, Any], counts: dict[str, int],
                      owned: list[tuple[torch.Tensor, bool]]) -> None:
        """The module's parameters and buffers in ``attrs``: counted there (ops whose entry says
        ``own_tensors``), else what the rules must not count again."""
        if OPS[op].own_tensors:
            attrs.update({k: v for k, v in counts.items() if v})
            return
        if counts["frozen_params"]:
            attrs["frozen_params"] = counts["frozen_params"]
        # a module called again, or weights tied to another module: counted where they were first seen
        seen_params = sum(t.numel() for t, is_param in owned if is_param) - counts["params"]
        seen_buffers = sum(t.numel() for t, is_param in owned if not is_param) - counts["buffers"]
        if seen_params:
            attrs["shared_params"] = seen_params
        if seen_buffers:
            attrs["shared_buffers"] = seen_buffers

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
        """A module call, by the op table entry that names its class (``from_module`` reads it)."""
        if isinstance(m, nn.Identity):
            return ("alias", {}) if inputs else None
        if isinstance(m, nn.MultiheadAttention):
            return self._mha(fx_node, m, inputs)
        entry = module_entry(m)
        if len(inputs) != 1 or entry is None or entry.from_module is None:
            return None
        mapped = entry.from_module(m, self._in_shape(inputs[0]), shape)
        if mapped is not None and mapped[0] == Op.RESHAPE:  # a flatten that is not one: a view
            return self._view(inputs[0], shape)
        return mapped

    def _placed(self, name: str, attrs: dict[str, Any]) -> None:
        """The op table's instructions in ``attrs`` (``windowed``, ``mix_axes``) as ``mixes`` for ``name``."""
        if attrs.pop("windowed", False) and self._windowed(name):
            attrs["mixes"] = True
        axes = attrs.pop("mix_axes", None)
        if axes is not None:
            attrs["mixes"] = self._mixes(name, axes)

    def _view(self, name: str, shape: tuple[int, ...], roles: fx_roles.Roles | None = None,
              op: str = "reshape") -> Mapped:
        """A view or copy that moves values without arithmetic: each value keeps its receptive field."""
        if roles is None:
            src = self.full[name]
            dst = (1, *shape) if name not in self.free else shape
            roles = fx_roles.reshape(src, self.roles[name], dst) if isinstance(src, tuple) else ("s",) * len(dst)
        return op, {"mixes": False, "roles": roles}

    def _map_function(self, fx_node: fx.Node, inputs: list[str], shape: tuple[int, ...]) -> Mapped | None:
        """A function or method call, by the op table entry that lists its target (``_CALLS`` reads it)."""
        found = call_target(fx_node)
        if found is None:
            return None
        op, key = found
        if op == Op.CONSTANT:
            return "constant", {"roles": fx_roles.plain(len(self._full_of(fx_node))), "created": True, "inputs": []}
        if not inputs:
            return None
        return _CALLS[op](self, Call(fx_node, key, inputs, shape))

    # ---------------------------------------------------------------------- calls, one rule per op
    def _add_call(self, c: Call) -> Mapped | None:
        tensors, name = c.tensors, c.inputs[0]
        if len(tensors) == 2 and not c.node.kwargs.get("alpha"):
            return ("add", {}) if len(c.inputs) == 2 else ("add", {"inputs": [name, name]})  # x + x
        if len(c.inputs) == 1 and len(tensors) <= 1:
            return "arith", {"fn": "scalar", "mixes": False}
        return None

    def _mul_call(self, c: Call) -> Mapped | None:
        tensors, inputs = c.tensors, c.inputs
        if len(inputs) == 1 and len(tensors) == 2:
            return "mul", {"inputs": [inputs[0], inputs[0]]}  # x * x
        if len(inputs) == 2 and len(tensors) == 2:
            if self._in_shape(inputs[1]) == c.shape and self._in_shape(inputs[0]) != c.shape:
                inputs.reverse()  # the IR reads (x, gate): full-size operand first
            return "mul", {}
        if len(inputs) == 1:
            return "arith", {"fn": "scalar", "mixes": False}
        return None

    def _max_call(self, c: Call) -> Mapped | None:
        if len(c.tensors) != 2:
            return None
        return ("max", {}) if len(c.inputs) == 2 else ("max", {"inputs": [c.inputs[0], c.inputs[0]]})

    def _concat_call(self, c: Call) -> Mapped | None:
        dim = int(_arg(c.node, 1, "dim", 0))
        if c.key == "torch.cat" and dim in (1, -3) and len(c.shape) == 3 and \
                all(len(self._in_shape(i)) == 3 for i in c.inputs):
            return "concat", {}
        return self._view(c.inputs[0], c.shape, self._same_roles(c.inputs, len(self._full_of(c.node))), "copy")

    def _arith_call(self, c: Call) -> Mapped | None:
        fn = c.key.rpartition(".")[2].rstrip("_")
        if fn in ("sub", "truediv", "div", "isub", "itruediv"):
            two = len(c.inputs) == 2
            return "arith", {"fn": ("div" if "div" in fn else "sub") if two else "scalar", "mixes": False}
        if len(c.inputs) != 1:
            return None
        normalize = fn == "normalize"
        return "arith", {"fn": fn, "mixes": normalize and self._mixes(c.inputs[0], _dims(_arg(c.node, 2, "dim", 1)))}

    def _act_call(self, c: Call) -> Mapped | None:
        return ("act", {"fn": ACT_OF_TARGET[c.key]}) if len(c.inputs) == 1 else None

    def _matmul_call(self, c: Call) -> Mapped | None:
        if c.key.endswith("einsum"):
            return self._einsum(c.node, c.inputs)
        return self._matmul(c.node, c.inputs)

    def _attention_call(self, c: Call) -> Mapped | None:
        if c.key.endswith("shifted_window_attention"):
            return self._window_attention(c.node, c.inputs)
        return self._sdpa(c.node, c.inputs)

    def _copy_call(self, c: Call) -> Mapped | None:
        if c.key.startswith("torchvision."):  # torchvision functions torch.fx.wrap keeps opaque
            return self._view(c.inputs[0], c.shape, self._same_roles(c.inputs, len(self._full_of(c.node))), "copy")
        return ("copy", {"mixes": False, "roles": self.roles[c.inputs[0]]}) if len(c.inputs) == 1 else None

    def _linear_call(self, c: Call) -> Mapped | None:
        w = self._full_of(_arg(c.node, 1, "weight", None))
        bias = _arg(c.node, 2, "bias", None) is not None
        return "linear", dict(in_features=w[1], out_features=w[0], bias=bias, external=True,
                              mixes=self._mixes(c.inputs[0], [-1]))

    def _layer_norm_call(self, c: Call) -> Mapped | None:
        normalized = _dims(_arg(c.node, 1, "normalized_shape", None))
        affine = _arg(c.node, 2, "weight", None) is not None
        return "layer_norm", {"rows": prod(c.shape) // prod(normalized), "affine": affine,
                              "mixes": self._mixes(c.inputs[0], list(range(-len(normalized), 0)))}

    def _group_norm_call(self, c: Call) -> Mapped | None:
        x = self._in_shape(c.inputs[0])
        return "group_norm", {"rows": int(_arg(c.node, 1, "num_groups", 1)),
                              "affine": _arg(c.node, 2, "weight", None) is not None,
                              "mixes": self._mixes(c.inputs[0], list(range(2, len(x) + 1)))}

    def _softmax_call(self, c: Call) -> Mapped | None:
        return "softmax", {"mixes": self._mixes(c.inputs[0], _dims(_arg(c.node, 1, "dim", None))), "fn": "softmax"}

    def _reshape_call(self, c: Call) -> Mapped | None:
        """Views, layout changes, splits, items of a tuple, and calls that only change the dtype (aliases)."""
        name, method = c.inputs[0], c.key.rpartition(".")[2]
        if c.key == "operator.getitem":
            return self._getitem(c.node, name, c.shape)
        if len(c.inputs) != 1:
            return None
        if c.key.startswith("Tensor.") and method in ALIASES:
            return "alias", {}
        if method in PERMUTES:
            return self._permute(c.node, name, c.shape)
        if method in SPLITS:
            roles = self.roles[name]
            if method == "unbind":
                roles = roles[:1]  # element roles are not tracked through unbind: any later mixing is global
            return "reshape", {"mixes": False, "roles": roles}
        return self._view(name, c.shape)

    def _flatten_call(self, c: Call) -> Mapped | None:
        if len(c.inputs) != 1:
            return None
        x = self._in_shape(c.inputs[0])
        if len(c.shape) == 1 and c.shape[0] == prod(x):
            return "flatten", {}
        return self._view(c.inputs[0], c.shape)

    def _adaptive_call(self, c: Call) -> Mapped | None:
        if len(c.inputs) != 1 or len(self._in_shape(c.inputs[0])) != 3:
            return None
        return CALL_OPS[c.key], {"output": (c.shape[1], c.shape[2])}

    def _reduce_call(self, c: Call) -> Mapped | None:
        if len(c.inputs) != 1:
            return None
        return self._reduce(c.node, c.inputs[0], self._in_shape(c.inputs[0]), c.shape, c.key.rpartition(".")[2])

    def _pool_call(self, c: Call) -> Mapped | None:
        if len(c.inputs) != 1 or len(self._in_shape(c.inputs[0])) != 3:
            return None
        node = c.node
        kernel, stride, padding = _arg(node, 1, "kernel_size", None), _arg(node, 2, "stride", None), \
            _arg(node, 3, "padding", 0)
        if CALL_OPS[c.key] == Op.MAXPOOL:
            if as_pair(_arg(node, 4, "dilation", 1)) != (1, 1) or _arg(node, 6, "return_indices", False):
                return None
            return "maxpool", pool_attrs(kernel, stride, padding, _arg(node, 5, "ceil_mode", False))
        return "avgpool", pool_attrs(kernel, stride, padding, _arg(node, 4, "ceil_mode", False))

    def _dropout_call(self, c: Call) -> Mapped | None:  # drop-path too: identity in inference, a mask in training
        return ("dropout", {"p": _arg(c.node, 1, "p", 0.5)}) if len(c.inputs) == 1 else None

    # ------------------------------------------------------------------------ ops with rules
    def _getitem(self, fx_node: fx.Node, name: str, shape: tuple[int, ...]) -> Mapped | None:
        source = fx_node.args[0]
        key = fx_node.args[1]
        if isinstance(source, fx.Node) and isinstance(source.meta.get(SHAPE), list):  # an item of a tuple
            node = self.graph.node(name)
            if node.op in (Op.MHA,) and key == 0:
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
        rest: list[Any] = list(fx_node.args[1:])
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
        names = [self._name_of(a_node), self._name_of(b_node)]
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
        names = [self._name_of(o) for o in operands]
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
        if isinstance(fx_node.args[0], fx.Node) and self._windowed(self.value.get(fx_node.args[0], "")):
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


_CALLS: dict[Op, Callable[[_Importer, Call], Mapped | None]] = {
    Op.ADD: _Importer._add_call, Op.MUL: _Importer._mul_call, Op.MAX: _Importer._max_call,
    Op.CONCAT: _Importer._concat_call, Op.ARITH: _Importer._arith_call, Op.ACT: _Importer._act_call,
    Op.MATMUL: _Importer._matmul_call, Op.ATTENTION: _Importer._attention_call, Op.COPY: _Importer._copy_call,
    Op.CONV: lambda self, c: self._functional_conv(c.node, c.inputs), Op.LINEAR: _Importer._linear_call,
    Op.LAYER_NORM: _Importer._layer_norm_call, Op.GROUP_NORM: _Importer._group_norm_call,
    Op.SOFTMAX: _Importer._softmax_call, Op.RESHAPE: _Importer._reshape_call, Op.FLATTEN: _Importer._flatten_call,
    Op.ADAPTIVE_AVGPOOL: _Importer._adaptive_call, Op.ADAPTIVE_MAXPOOL: _Importer._adaptive_call,
    Op.REDUCE: _Importer._reduce_call, Op.MAXPOOL: _Importer._pool_call, Op.AVGPOOL: _Importer._pool_call,
    Op.DROPOUT: _Importer._dropout_call,
}


def _image_input(graph: fx.Graph, name: str) -> fx.Node:
    """The one required forward argument (the image batch)."""
    required = [n for n in graph.nodes if n.op == "placeholder" and not n.args]
    if len(required) != 1:
        raise ConvSmithError(f"{name}: forward must take exactly one input tensor "
                             f"(it takes {len(required)} required arguments)")
    return required[0]


def _summary(m: nn.Module) -> str:
    if type(m) in CONTAINERS:
        return f"{type(m).__name__} of {len(m._modules)}"  # len() of each container type
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
        for target in [n.name.split("@")[0]] + ([n.attrs["target"]] if n.op == Op.CONSTANT and "target" in n.attrs
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
