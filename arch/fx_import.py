"""Any ``nn.Module`` -> the graph IR, through a torch.fx trace and shape propagation.

Node names are module paths (``layer1.0.conv1``); a module called again gets ``@1``, ``@2`` (as torch's
own ``nn_module_stack`` names them) and counts its parameters once (so do weights tied between modules:
``attrs["shared_params"]`` says how many were counted elsewhere); a function call keeps its fx name
(``add_3``). Blocks are the root's children, and the children of plain containers (Sequential,
ModuleList, ModuleDict) below them, so torchvision's ``layer1`` is a stage of ``layer1.0``, ``layer1.1``.

Every op that has no IR equivalent becomes an ``unknown`` node (its parameters and buffers still
counted) and is listed in ``graph.unknown_ops``: nothing is dropped. Values that are not tensors
(sizes, shapes) are not activations and make no node. Parameters of modules that the traced forward
never calls are not part of the graph; ``unused_parameters`` names them.
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

from arch import ops
from arch.errors import ConvSmithError
from arch.fields import as_pair
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


class _Tracer(fx.Tracer):
    """torch.nn modules and ConvSmith's own ops stay leaves (one node each)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, ops.NMaxPool2d) or super().is_leaf_module(m, qualname)


def _trace(module: nn.Module) -> fx.GraphModule:
    try:
        graph = _Tracer().trace(module)
    except Exception as e:  # fx raises TraceError, TypeError, NotImplementedError... on dynamic code
        raise ConvSmithError(f"torch.fx cannot trace {type(module).__name__}: {type(e).__name__}: {e}") from None
    return fx.GraphModule(module, graph, type(module).__name__)


def _propagate(gm: fx.GraphModule, input_shape: tuple[int, ...]) -> None:
    """Shapes onto every fx node: fake tensors first (no arithmetic), a real forward if that fails."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    device = next((t.device for t in gm.parameters()), None) or next((t.device for t in gm.buffers()), "cpu")
    example = torch.zeros(1, *input_shape, device=device)
    try:
        mode = FakeTensorMode(allow_non_fake_inputs=True)
        ShapeProp(gm, fake_mode=mode).propagate(mode.from_tensor(example))
        return
    except Exception:  # an op without a fake-tensor rule: run it for real
        pass
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example)
    except Exception as e:
        shape = "x".join(map(str, input_shape))
        raise ConvSmithError(f"{gm.__class__.__name__} fails on a 1x{shape} input: {type(e).__name__}: {e}") from None


def _shape(fx_node: fx.Node) -> tuple[int, ...] | None:
    """The shape without the batch dimension, or None when the value is not a single tensor."""
    meta = fx_node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    shape = tuple(int(s) for s in meta.shape)
    return shape[1:] if shape else shape


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


class _Importer:
    def __init__(self, root: nn.Module, gm: fx.GraphModule, name: str, input_shape: tuple[int, ...]) -> None:
        self.root = root  # the original module: its container types and weights (fx copies flatten them)
        self.gm = gm
        self.modules = dict(root.named_modules())
        self.graph = Graph(name, tuple(input_shape))
        self.value: dict[fx.Node, str] = {}  # fx node -> IR node holding its value
        self.calls: dict[str, int] = {}  # module path -> times called so far
        self.seen_params: set[int] = set()
        self.blocks = self._block_paths()

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
        if fx_node.op == "call_module":
            paths.append(str(fx_node.target))
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

    def _inputs(self, fx_node: fx.Node) -> tuple[list[str], list[fx.Node]]:
        """IR inputs (tensor values) and get_attr constants among the fx node's arguments."""
        values: list[str] = []
        consts: list[fx.Node] = []

        def visit(a: Any) -> Any:
            if isinstance(a, fx.Node):
                if a in self.value and self.value[a] not in values:
                    values.append(self.value[a])
                elif a.op == "get_attr":
                    consts.append(a)
            return a

        fx.node.map_arg((fx_node.args, fx_node.kwargs), visit)
        return values, consts

    def add(self, fx_node: fx.Node, op: str, inputs: list[str], shape: tuple[int, ...], **attrs: Any) -> None:
        block = self._block_of(fx_node)
        family = type(self.modules[block]).__name__ if block else ""
        name = self._name(fx_node)
        self.graph.add(Node(name, op, tuple(inputs), shape, attrs, block, family))
        self.value[fx_node] = name

    def unknown(self, fx_node: fx.Node, inputs: list[str], shape: tuple[int, ...], counts: dict[str, int]) -> None:
        target = _target_name(fx_node)
        self.add(fx_node, "unknown", inputs, shape, target=target, **counts)
        self.graph.unknown_ops.append(f"{self.graph.nodes[-1].name} ({target})")

    def run(self) -> Graph:
        image = _image_input(self.gm, self.graph.name)
        for fx_node in self.gm.graph.nodes:
            if fx_node.op == "placeholder":
                if fx_node is image:
                    self.graph.add(Node("input", "input", (), self.graph.input_shape))
                    self.value[fx_node] = "input"
            elif fx_node.op == "output":
                self._output(fx_node)
            elif fx_node.op != "get_attr":
                self._op(fx_node)
        self._add_blocks()
        return self.graph

    def _output(self, fx_node: fx.Node) -> None:
        outs, _ = self._inputs(fx_node)
        if not outs:
            return
        node = self.graph.node(outs[0])
        later = self.graph.nodes[self.graph.nodes.index(node) + 1:]
        if not any(node.name in n.inputs for n in later):  # keep the network output last (graph.output)
            self.graph.nodes.remove(node)
            self.graph.nodes.append(node)

    def _op(self, fx_node: fx.Node) -> None:
        shape = _shape(fx_node)
        inputs, consts = self._inputs(fx_node)
        m = self.root.get_submodule(str(fx_node.target)) if fx_node.op == "call_module" else None
        if m is not None:
            owned = self._module_tensors(m)
        else:
            owned = [(t, isinstance(t, nn.Parameter)) for t in (getattr_path(self.root, str(c.target)) for c in consts)
                     if isinstance(t, torch.Tensor)]
        counts = self._counts(owned)
        if shape is None:
            if fx_node.meta.get("tensor_meta") is None and not owned:
                return  # sizes, shapes, python values: not activations
            shape = ()  # a tuple of tensors: its getitem users make the nodes downstream
        mapped = None
        if inputs and not consts:
            mapped = self._map_module(fx_node, m, inputs, shape) if m is not None else \
                self._map_function(fx_node, inputs, shape)
        if mapped is None:
            extra = {"constants": [str(c.target) for c in consts]} if consts else {}
            self.unknown(fx_node, inputs, shape, {**counts, **extra})
            return
        op, attrs = mapped
        if op == "alias":
            self.value[fx_node] = inputs[0]
            return
        if op == "pool_flat":  # x.mean((2, 3)): global average pooling, then the flat view of it
            self.add(fx_node, "adaptive_avgpool", inputs, (shape[0], 1, 1), **attrs)
            pooled = self.value[fx_node]
            self.graph.add(Node(f"{pooled}@flatten", "flatten", (pooled,), shape, {}, self.graph.nodes[-1].block,
                                self.graph.nodes[-1].family))
            self.value[fx_node] = f"{pooled}@flatten"
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
        self.add(fx_node, op, inputs, shape, **attrs)

    # ------------------------------------------------------------------------------- mapping
    def _in_shape(self, name: str) -> tuple[int, ...]:
        return self.graph.node(name).shape

    def _map_module(self, fx_node: fx.Node, m: nn.Module, inputs: list[str],
                    shape: tuple[int, ...]) -> tuple[str, dict[str, Any]] | None:
        x = self._in_shape(inputs[0])
        if isinstance(m, nn.Identity):
            return "alias", {}
        if len(inputs) != 1:
            return None
        if type(m) is nn.Conv2d and len(x) == 3:
            kernel, dilation = as_pair(m.kernel_size), as_pair(m.dilation)
            padding = m.padding if isinstance(m.padding, str) else as_pair(m.padding)
            pads, torch_padding = conv_pads(kernel, dilation, padding)
            return "conv", dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=kernel,
                                stride=as_pair(m.stride), dilation=dilation, groups=m.groups,
                                bias=m.bias is not None, padding_mode=m.padding_mode, pads=pads,
                                padding=torch_padding)
        if type(m) in (nn.BatchNorm2d, nn.BatchNorm1d) and len(x) in (1, 3):
            return "bn", dict(channels=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                              track_running_stats=m.track_running_stats)
        if type(m) in ACT_MODULES:
            return "act", {"fn": ACT_MODULES[type(m)]}
        if type(m) in (nn.MaxPool2d, nn.AvgPool2d) and len(x) == 3:
            if isinstance(m, nn.MaxPool2d) and as_pair(m.dilation) != (1, 1):
                return None
            return _pool("maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool", m.kernel_size, m.stride,
                         m.padding, m.ceil_mode)
        if isinstance(m, ops.NMaxPool2d):
            op, attrs = _pool("nmaxpool", m.kernel_size, m.stride, m.padding, m.ceil_mode)
            return op, {**attrs, "n": m.n}
        if type(m) in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d) and len(x) == 3:
            op = "adaptive_avgpool" if isinstance(m, nn.AdaptiveAvgPool2d) else "adaptive_maxpool"
            return op, {"output": (shape[1], shape[2])}
        if type(m) is nn.Flatten:
            return _flatten(x, shape)
        if type(m) in (nn.Dropout, nn.Dropout2d):
            return "dropout", {"p": m.p}
        if type(m) is nn.Linear and len(x) == 1:
            return "linear", dict(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None)
        return None

    def _map_function(self, fx_node: fx.Node, inputs: list[str],
                      shape: tuple[int, ...]) -> tuple[str, dict[str, Any]] | None:
        t, a = fx_node.target, fx_node.args
        x = self._in_shape(inputs[0])
        method = t if fx_node.op == "call_method" else None
        tensors = [arg for arg in a if isinstance(arg, fx.Node)]
        if t in ADD or method in ("add", "add_"):
            if len(inputs) == 2 and len(tensors) == 2 and self._in_shape(inputs[1]) == x == shape \
                    and not fx_node.kwargs.get("alpha"):
                return "add", {}
            return None
        if t in MUL or method in ("mul", "mul_"):
            if len(inputs) == 2 and len(tensors) == 2 and len(shape) == 3:
                if self._in_shape(inputs[1]) == shape:  # the IR reads (x, gate): full-size operand first
                    inputs.reverse()
                if self._in_shape(inputs[0]) == shape and self._in_shape(inputs[1]) in (shape, (shape[0], 1, 1)):
                    return "mul", {}
            return None
        if t is torch.cat:
            dim = _arg(fx_node, 1, "dim", 0)
            if dim in (1, -3) and len(shape) == 3 and all(len(self._in_shape(i)) == 3 for i in inputs):
                return "concat", {}
            return None
        if t in ACT_FUNCTIONS or method in ACT_METHODS or method in ("relu_", "sigmoid_"):
            fn = ACT_FUNCTIONS[t] if t in ACT_FUNCTIONS else ACT_METHODS[str(method).rstrip("_")]
            return ("act", {"fn": fn}) if len(inputs) == 1 else None
        if len(inputs) != 1:
            return None
        if t is torch.flatten or method in ("flatten", "view", "reshape"):
            return _flatten(x, shape)
        if method == "contiguous":
            return "alias", {}
        if t in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d) and len(x) == 3:
            return ("adaptive_avgpool" if t is F.adaptive_avg_pool2d else "adaptive_maxpool",
                    {"output": (shape[1], shape[2])})
        if t is torch.mean or method == "mean":
            dims = _arg(fx_node, 1, "dim", None)
            keep = _arg(fx_node, 2, "keepdim", False)
            if len(x) == 3 and isinstance(dims, (list, tuple)) and sorted(d % 4 for d in dims) == [2, 3]:
                return ("adaptive_avgpool" if keep else "pool_flat"), {"output": (1, 1)}
            return None
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
            return _pool("maxpool" if t is F.max_pool2d else "avgpool", kernel, stride, padding, ceil)
        if t is F.dropout or _is_stochastic_depth(t):  # drop-path: identity in inference, a mask in training
            return "dropout", {"p": _arg(fx_node, 1, "p", 0.5)}
        return None

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


def _image_input(gm: fx.GraphModule, name: str) -> fx.Node:
    """The one required forward argument (the image batch)."""
    required = [n for n in gm.graph.nodes if n.op == "placeholder" and not n.args]
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
        gm = _trace(module)
        _image_input(gm, name or type(module).__name__)
        _propagate(gm, tuple(input_shape))
    finally:
        module.train(was_training)
    return _Importer(module, gm, name or type(module).__name__, tuple(input_shape)).run()


def unused_parameters(module: nn.Module, graph: Graph) -> int:
    """How many parameters of ``module`` no graph node uses (modules the traced forward never calls)."""
    used: set[int] = set()
    for n in graph.nodes:
        for target in [n.name.split("@")[0]] + list(n.attrs.get("constants", ())):
            try:
                value = getattr_path(module, target)
            except AttributeError:
                continue
            tensors = value.parameters() if isinstance(value, nn.Module) else [value]
            used.update(id(t) for t in tensors)
    return sum(p.numel() for p in module.parameters() if id(p) not in used)


def torchvision_model(name: str) -> nn.Module:
    """A torchvision classification model by name, built with ``weights=None`` (no download)."""
    import torchvision

    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        from arch.fields import did_you_mean

        raise ConvSmithError(f"unknown torchvision model {name!r}{did_you_mean(name, available)}")
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
