"""torch.fx tracing and shape propagation for the importer, on meta tensors, cached per model class.

Shapes need no arithmetic: every fx node runs on meta tensors (a module built on the CPU gets meta copies
of its weights for the run, its own weights untouched). A model whose forward needs real values falls back
to fake tensors, then to a real forward. The traced graph and its shapes are kept per model class, keyed
by a fingerprint of the module tree (types, constructor settings, tensor shapes), so analysing another
instance of an architecture (the GUI redrawing, a search) skips the trace.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import fx, nn

from arch import ops
from arch.activations import ACTIVATIONS
from arch.dims import dims
from arch.errors import ConvSmithError

SHAPE = "convsmith_shape"  # fx node meta: a tensor's full shape, a list of them (tuple outputs), or None
CACHED_PER_CLASS = 8  # traces kept per model class (input sizes and configurations)
_CACHE: dict[type, OrderedDict[tuple[Any, ...], fx.Graph]] = {}
_LOCK = threading.Lock()
_INIT_LOCK = threading.Lock()  # meta_init swaps class attributes: one at a time
_PLAIN = (int, float, str, bool, type(None))
_SETTINGS = (*_PLAIN, tuple, list)


class _Tracer(fx.Tracer):
    """torch.nn modules and ConvSmith's own ops stay leaves (one node each)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (ops.NMaxPool2d, ops.ChannelGate, ops.SpatialGate)) or super().is_leaf_module(m, qualname)


def fingerprint(module: nn.Module) -> tuple[Any, ...]:
    """What decides a module tree's traced graph and shapes: every submodule's path, type and plain
    settings (``shift_size``, ``stride``...), and every parameter's and buffer's shape."""
    parts: list[Any] = []
    for path, m in module.named_modules():
        plain = tuple((k, v if isinstance(v, _PLAIN) else repr(v)) for k, v in vars(m).items()
                      if k[0] != "_" and isinstance(v, _SETTINGS))
        parts.append((path, type(m), plain, tuple((n, tuple(t.shape), t.dtype) for n, t in m._parameters.items()
                                                  if t is not None),
                      tuple((n, tuple(t.shape)) for n, t in m._buffers.items() if t is not None)))
    return tuple(parts)


def _trace(module: nn.Module) -> fx.Graph:
    try:
        return _Tracer().trace(module)
    except Exception as e:  # fx raises TraceError, TypeError, NotImplementedError... on dynamic code
        raise ConvSmithError(f"torch.fx cannot trace {type(module).__name__}: {type(e).__name__}: {e}") from None


def _shape_of(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return tuple(int(s) for s in value.shape)
    if isinstance(value, (tuple, list)) and value and any(isinstance(v, torch.Tensor) for v in value):
        return [_shape_of(v) for v in value]
    return None


class _ShapeRun(fx.Interpreter):
    """Runs the graph on meta (or fake / real) values and records each node's output shape."""

    def __init__(self, gm: fx.GraphModule, weights: dict[str, torch.Tensor] | None) -> None:
        super().__init__(gm)
        self.weights = weights  # module path -> meta stand-in, when the model's own weights are not meta

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as e:
            raise _NodeFailed(n, e) from e
        n.meta[SHAPE] = _shape_of(result)
        return result

    def get_attr(self, target: Any, args: Any, kwargs: Any) -> Any:
        if self.weights is not None and target in self.weights:
            return self.weights[target]
        return super().get_attr(target, args, kwargs)

    def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
        m = self.fetch_attr(target)
        x = args[0] if args and isinstance(args[0], torch.Tensor) and not kwargs else None
        if x is not None and len(args) == 1 and _fits(m, x):  # the common leaves: shapes by rule, no run
            if isinstance(m, SAME_SHAPE):
                return x
            if type(m) is nn.Conv2d:
                return x.new_empty((x.shape[0], m.out_channels, *_conv_hw(m, x.shape[2:])))
            if type(m) is nn.Linear and x.shape[-1] == m.in_features:
                return x.new_empty((*x.shape[:-1], m.out_features))
        if self.weights is None:
            return super().call_module(target, args, kwargs)
        own = {k: self.weights[f"{target}.{k}"] for k in _tensor_names(m)}
        return torch.func.functional_call(m, own, tuple(args), dict(kwargs))


SAME_SHAPE = (nn.BatchNorm1d, nn.BatchNorm2d, *(getattr(nn, a.module) for a in ACTIVATIONS), nn.Dropout,
              nn.Dropout2d, nn.Identity, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


def _fits(m: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``m`` accepts ``x`` (else it runs, and torch's own error names the mismatch)."""
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return x.dim() in ((4,) if isinstance(m, nn.BatchNorm2d) else (2, 3)) and x.shape[1] == m.num_features
    if isinstance(m, nn.GroupNorm):
        return x.dim() >= 2 and x.shape[1] == m.num_channels
    if isinstance(m, nn.LayerNorm):
        return tuple(x.shape[-len(m.normalized_shape):]) == tuple(m.normalized_shape)
    if type(m) is nn.Conv2d:
        return x.dim() == 4 and x.shape[1] == m.in_channels
    return True


def _conv_hw(m: nn.Conv2d, hw: Any) -> tuple[int, int]:
    """torch's output size of a 2-d convolution (the rule its shape check applies)."""
    out = []
    for ax in (0, 1):
        k, s, d = m.kernel_size[ax], m.stride[ax], m.dilation[ax]
        if m.padding == "same":
            out.append(int(hw[ax]))
            continue
        pad = m.padding
        p = 0 if isinstance(pad, str) else int(pad[ax])  # "valid" ("same" is above)
        size = (int(hw[ax]) + 2 * p - d * (k - 1) - 1) // s + 1
        if size < 1:
            raise ValueError(f"Conv2d output size {size} < 1 for input size {int(hw[ax])}")
        out.append(size)
    return out[0], out[1]


class _NodeFailed(Exception):
    def __init__(self, node: fx.Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


def _tensor_names(m: nn.Module) -> list[str]:
    return [n for n, _ in m.named_parameters(remove_duplicate=False)] + \
        [n for n, _ in m.named_buffers(remove_duplicate=False)]


def _meta_weights(root: nn.Module) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, t in [*root.named_parameters(remove_duplicate=False), *root.named_buffers(remove_duplicate=False)]:
        meta = t.detach().to("meta")
        out[name] = nn.Parameter(meta, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else meta
    return out


def _input_text(node: fx.Node) -> str:
    shapes = []
    for a in node.all_input_nodes:
        s = a.meta.get(SHAPE)
        shapes.append(dims(s) if isinstance(s, tuple) else str(s))
    return ", ".join(shapes) or "none"


def _propagate(gm: fx.GraphModule, root: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Shapes onto every fx node: meta tensors first, then fake tensors, then a real forward."""
    on_meta = all(t.device.type == "meta" for t in [*root.parameters(), *root.buffers()])
    weights = None if on_meta else _meta_weights(root)
    failure: _NodeFailed | None = None
    try:
        _ShapeRun(gm, weights).run(torch.zeros(1, *input_shape, device="meta"))
        return
    except _NodeFailed as e:
        failure = e
    except Exception:  # noqa: BLE001 - any meta failure: try the slower ways
        pass
    if not on_meta:
        from torch._subclasses.fake_tensor import FakeTensorMode

        for attempt in ("fake", "real"):
            try:
                if attempt == "fake":
                    mode = FakeTensorMode(allow_non_fake_inputs=True)
                    with mode:
                        _ShapeRun(gm, None).run(mode.from_tensor(torch.zeros(1, *input_shape)))
                else:
                    device = next((t.device for t in [*root.parameters(), *root.buffers()]), torch.device("cpu"))
                    with torch.no_grad():
                        _ShapeRun(gm, None).run(torch.zeros(1, *input_shape, device=device))
                return
            except _NodeFailed as e:
                failure = e
            except Exception:  # noqa: BLE001
                pass
    shape = dims(input_shape)
    if failure is None:
        raise ConvSmithError(f"{type(root).__name__} fails on a 1x{shape} input")
    n, err = failure.node, failure.error
    text = " ".join(str(err).split()) or type(err).__name__
    target = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", repr(n.target))
    raise ConvSmithError(f"{type(root).__name__} fails on a 1x{shape} input at node {n.name} ({n.op} {target}; "
                         f"input shapes {_input_text(n)}): {type(err).__name__}: {text}")


def traced(module: nn.Module, input_shape: tuple[int, ...],
           check: Callable[[fx.Graph], object] = lambda graph: None) -> fx.Graph:
    """``module`` (in eval mode) traced with every node's shape at a 1 x ``input_shape`` input; the graph
    comes from the per-class cache when this architecture was traced before. ``check`` sees the traced
    graph before any shape is propagated (it raises on a graph the caller cannot use)."""
    key = (fingerprint(module), tuple(input_shape))
    with _LOCK:
        graph = _CACHE.get(type(module), OrderedDict()).get(key)
    if graph is None:
        graph = _trace(module)
        check(graph)
        gm = fx.GraphModule(module, graph, type(module).__name__)  # to run it; its code is not needed again
        with _quiet():
            _propagate(gm, module, tuple(input_shape))
        with _LOCK:
            per_class = _CACHE.setdefault(type(module), OrderedDict())
            per_class[key] = graph
            while len(per_class) > CACHED_PER_CLASS:
                per_class.popitem(last=False)
    return graph


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch logs whole tracebacks of a failing fake-tensor run; the caller reports one line instead."""
    import logging

    loggers = [logging.getLogger(n) for n in ("torch._subclasses.fake_tensor", "torch.fx.experimental",
                                              "torch._dynamo", "torch.fx.passes.shape_prop")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@contextlib.contextmanager
def meta_init() -> Iterator[None]:
    """Build modules with their parameters and buffers on the meta device (no memory, no initialisation
    arithmetic), while the constructor's own tensor arithmetic (RegNet's widths) still runs on the CPU.
    Not thread-safe: it swaps ``nn.Module.register_parameter`` / ``register_buffer`` for its duration."""
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer(self: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True) -> None:
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    with _INIT_LOCK:
        nn.Module.register_parameter, nn.Module.register_buffer = parameter, buffer  # type: ignore[method-assign]
        try:
            yield
        finally:
            nn.Module.register_parameter, nn.Module.register_buffer = (  # type: ignore[method-assign]
                register_parameter, register_buffer)
