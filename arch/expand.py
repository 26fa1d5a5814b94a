"""Expansion of a spec into the graph IR. Walking the spec this way *is* shape inference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arch.errors import Problem, SpecError
from arch.fields import as_pair
from arch.graph import BlockInfo, Graph, Node, Port, Shape, fmt_shape
from arch.registry import family
from arch.shapes import conv_out, conv_pads, pool_out

if TYPE_CHECKING:
    from arch.spec import BlockSpec, Spec


class ShapeIssue(Exception):
    """Raised inside a block's expansion when the input shape makes it impossible."""


@dataclass(frozen=True)
class Context:
    """Spec-wide settings a block expansion may need."""

    num_classes: int
    width_mult: float = 1.0
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _hw(h: int, w: int) -> str:
    return f"{h}x{w}"


class Emitter:
    """What block families call to emit primitive ops; checks every shape on the way."""

    def __init__(self, graph: Graph, ctx: Context) -> None:
        self.graph = graph
        self.ctx = ctx
        self._scope: list[BlockInfo] = []

    # ----------------------------------------------------------------- blocks
    def block(self, bs: BlockSpec, x: Port, path: str, module: str) -> Port:
        """Expand one spec block (recursively for stages) under its own module prefix."""
        fam = family(bs.block)
        cfg = fam.resolve(bs.params, self.ctx.width_mult)
        summary = fam.summary(cfg)
        info = BlockInfo(path, fam.name, summary, bs.label, module, x.shape, x.shape,
                         parent=self._scope[-1].path if self._scope else None)
        self.graph.blocks.append(info)
        self._scope.append(info)
        try:
            out = fam.expand(self, cfg, x)
        except ShapeIssue as issue:
            raise _Stop(Problem(path, str(issue), subject=summary)) from None
        finally:
            self._scope.pop()
        info.out_shape, info.output = out.shape, out.node
        return out

    @property
    def scope(self) -> BlockInfo:
        return self._scope[-1]

    def _emit(self, local: str, op: str, inputs: list[Port], shape: Shape, **attrs: Any) -> Port:
        info = self.scope
        name = f"{info.module}.{local}"
        self.graph.add(Node(name, op, tuple(p.node for p in inputs), tuple(shape), attrs,
                            info.path, info.family))
        info.nodes.append(name)
        return Port(name, tuple(shape))

    # ------------------------------------------------------------- primitives
    @staticmethod
    def need_spatial(x: Port, what: str) -> None:
        if not x.spatial:
            raise ShapeIssue(f"{what} needs a CxHxW input but gets a flat vector of {x.shape[0]} "
                             "(move it before flatten)")

    def conv(self, x: Port, name: str, out: int, kernel: Any = 1, stride: Any = 1, padding: Any = "auto",
             dilation: Any = 1, groups: int = 1, bias: bool = False, padding_mode: str = "zeros") -> Port:
        self.need_spatial(x, "a convolution")
        cin, h, w = x.shape
        if cin % groups:
            raise ShapeIssue(f"groups {groups} must divide the input channels {cin}")
        if out % groups:
            raise ShapeIssue(f"groups {groups} must divide the output channels {out}")
        (kh, kw), (sh, sw), (dh, dw) = as_pair(kernel), as_pair(stride), as_pair(dilation)
        pads, torch_padding = conv_pads(kernel, dilation, padding)
        top, bottom, left, right = pads
        if padding_mode in ("reflect", "circular"):
            limit_h, limit_w = (h, w) if padding_mode == "circular" else (h - 1, w - 1)
            if max(top, bottom) > limit_h or max(left, right) > limit_w:
                raise ShapeIssue(f"{padding_mode} padding {max(top, bottom)}x{max(left, right)} is too large "
                                 f"for input {_hw(h, w)}")
        oh = conv_out(h, kh, sh, dh, top, bottom)
        ow = conv_out(w, kw, sw, dw, left, right)
        if oh < 1 or ow < 1:
            raise ShapeIssue(f"input {_hw(h, w)} would become {_hw(max(oh, 0), max(ow, 0))}")
        return self._emit(name, "conv", [x], (out, oh, ow), in_channels=cin, out_channels=out,
                          kernel=(kh, kw), stride=(sh, sw), dilation=(dh, dw), groups=groups, bias=bias,
                          padding_mode=padding_mode, pads=pads, padding=torch_padding)

    def bn(self, x: Port, name: str) -> Port:
        return self._emit(name, "bn", [x], x.shape, channels=x.shape[0], eps=self.ctx.bn_eps,
                          momentum=self.ctx.bn_momentum)

    def act(self, x: Port, name: str, fn: str) -> Port:
        if fn == "none":
            return x
        return self._emit(name, "act", [x], x.shape, fn=fn)

    def conv_unit(self, x: Port, prefix: str, out: int, kernel: Any = 1, stride: Any = 1,
                  padding: Any = "auto", dilation: Any = 1, groups: int = 1, norm: str = "batch",
                  activation: str = "relu", bias: bool | None = None, padding_mode: str = "zeros") -> Port:
        """conv -> bn -> activation, named ``prefix.conv`` / ``prefix.bn`` / ``prefix.act``."""
        p = f"{prefix}." if prefix else ""
        y = self.conv(x, p + "conv", out, kernel, stride, padding, dilation, groups,
                      bias=(norm == "none") if bias is None else bias, padding_mode=padding_mode)
        if norm == "batch":
            y = self.bn(y, p + "bn")
        return self.act(y, p + "act", activation)

    def pool(self, x: Port, name: str, mode: str, kernel: Any, stride: Any = None, padding: Any = 0,
             ceil_mode: bool = False, n: int = 2) -> Port:
        self.need_spatial(x, "pooling")
        c, h, w = x.shape
        (kh, kw) = as_pair(kernel)
        (sh, sw) = as_pair(stride if stride is not None else kernel)
        (ph, pw) = as_pair(padding)
        if ph > kh // 2 or pw > kw // 2:
            raise ShapeIssue(f"padding {ph}x{pw} must be at most half the kernel {kh}x{kw}")
        oh, ow = pool_out(h, kh, sh, ph, ceil_mode), pool_out(w, kw, sw, pw, ceil_mode)
        if oh < 1 or ow < 1:
            raise ShapeIssue(f"input {_hw(h, w)} would become {_hw(max(oh, 0), max(ow, 0))}")
        attrs: dict[str, Any] = dict(kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), ceil_mode=ceil_mode)
        if mode == "nmax":
            if n > kh * kw:
                raise ShapeIssue(f"n={n} is larger than the {kh * kw} values of a {kh}x{kw} window")
            attrs["n"] = n
        return self._emit(name, f"{mode}pool", [x], (c, oh, ow), **attrs)

    def adaptive_pool(self, x: Port, name: str, mode: str, size: Any = 1) -> Port:
        self.need_spatial(x, "adaptive pooling")
        oh, ow = as_pair(size)
        return self._emit(name, f"adaptive_{mode}pool", [x], (x.shape[0], oh, ow), output=(oh, ow))

    def flatten(self, x: Port, name: str = "flatten") -> Port:
        size = 1
        for s in x.shape:
            size *= s
        return self._emit(name, "flatten", [x], (size,))

    def linear(self, x: Port, name: str, out: int, bias: bool = True) -> Port:
        if x.spatial:
            raise ShapeIssue(f"a linear layer needs a flat input but gets {fmt_shape(x.shape)} "
                             "(put flatten, or global_pool then flatten, before it)")
        return self._emit(name, "linear", [x], (out,), in_features=x.shape[0], out_features=out, bias=bias)

    def dropout(self, x: Port, name: str, p: float) -> Port:
        if p == 0:
            return x
        return self._emit(name, "dropout", [x], x.shape, p=p)

    def add(self, a: Port, b: Port, name: str = "add") -> Port:
        if a.shape != b.shape:
            raise ShapeIssue(f"cannot add {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
        return self._emit(name, "add", [a, b], a.shape)

    def mul(self, x: Port, gate: Port, name: str) -> Port:
        return self._emit(name, "mul", [x, gate], x.shape)

    def concat(self, xs: list[Port], name: str = "concat") -> Port:
        hws = {p.hw for p in xs}
        if len(hws) != 1:
            raise ShapeIssue("branches disagree on size: " + ", ".join(fmt_shape(p.shape) for p in xs))
        (h, w), = hws
        return self._emit(name, "concat", xs, (sum(p.channels for p in xs), h, w))

    def se(self, x: Port, prefix: str, squeeze: int, activation: str, gate: str) -> Port:
        """Squeeze-excitation: global pool -> 1x1 -> act -> 1x1 -> gate, times the input."""
        p = f"{prefix}." if prefix else ""
        s = self.adaptive_pool(x, p + "pool", "avg", 1)
        s = self.conv(s, p + "fc1", squeeze, 1, bias=True, padding=0)
        s = self.act(s, p + "act", activation)
        s = self.conv(s, p + "fc2", x.channels, 1, bias=True, padding=0)
        s = self.act(s, p + "gate", gate)
        return self.mul(x, s, p + "scale")


def build_graph(spec: Spec, input_shape: Shape | None = None) -> Graph:
    """Expand a (field-valid) spec; a shape problem stops expansion and is kept in ``problems``."""
    shape = tuple(input_shape or spec.input)
    graph = Graph(spec.name, shape)
    graph.add(Node("input", "input", (), shape))
    e = Emitter(graph, Context(spec.num_classes, spec.width_mult, spec.bn_eps, spec.bn_momentum))
    x = Port("input", shape)
    try:
        for i, bs in enumerate(spec.body):
            x = e.block(bs, x, f"body[{i}]", f"body.{i}")
    except _Stop as stop:
        graph.problems.append(stop.problem)
    return graph


def expand_spec(spec: Spec, input_shape: Shape | None = None) -> Graph:
    """The graph of a spec, or SpecError naming the block whose shape fails."""
    graph = build_graph(spec, input_shape)
    if graph.problems:
        raise SpecError(graph.problems)
    return graph
