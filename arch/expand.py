"""Expansion of a spec into the graph IR. Walking the spec this way *is* shape inference.

An edit changes one block, and every other top-level block expands exactly as before when it sits at the
same position, gets the same input (node and shape) and the spec-wide settings are the same. So each
top-level block's expansion is cached under that key (its JSON-like params by ``repr``), and a graph is
assembled from cached pieces: the GUI re-analyses a 100-block network on every edit. The cached nodes
and block infos are shared by every graph built from them, so they are read-only (``SharedNode``,
``SharedBlockInfo``, with ``Attrs`` and tuples inside): no caller can change what another graph (or the
cache) holds, and building a graph allocates almost nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from arch import paths
from arch.dims import dims
from arch.errors import Problem, SpecError
from arch.fields import as_pair
from arch.graph import BlockInfo, Graph, Node, Port, Shape, fmt_shape
from arch.limits import expanded_blocks, too_many_blocks
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
    depth_mult: float = 1.0

    @classmethod
    def of(cls, spec: Spec) -> Context:
        return cls(spec.num_classes, spec.width_mult, spec.bn_eps, spec.bn_momentum, spec.depth_mult)

    @property
    def key(self) -> tuple[Any, ...]:
        """The settings as a plain tuple: part of every cache key, so hashed often."""
        return (self.num_classes, self.width_mult, self.bn_eps, self.bn_momentum, self.depth_mult)


class Attrs(dict):
    """A node's attrs, shared by every graph built from the same cached block: read-only."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("node attrs are shared between graphs and read-only; derive new ones with dict(attrs)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:  # copy, deepcopy and pickle
        return (Attrs, (dict(self),))


class _ReadOnly:
    """Refuses attribute changes: for objects the expansion cache shares between graphs."""

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is shared between graphs and read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is shared between graphs and read-only")


class SharedNode(_ReadOnly, Node):
    """A cached node (attrs an ``Attrs``): read-only. Made like a ``Node``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        vars(self).update(vars(Node(*args, **kwargs)))  # the instance dict, past __setattr__


class SharedBlockInfo(_ReadOnly, BlockInfo):
    """A cached block info (``nodes`` a tuple): read-only. Made like a ``BlockInfo``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        vars(self).update(vars(BlockInfo(*args, **kwargs)))


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


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
        if self.ctx.width_mult != 1:  # the spec checked its own widths; the multiplier makes new ones
            for name, msg in fam.check(cfg):
                raise _Stop(Problem(path, f"{name}: {msg} with width_mult {self.ctx.width_mult:g}"))
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
        info = self._scope[-1]
        name = f"{info.module}.{local}"
        shape = tuple(shape)
        self.graph.add(Node(name, op, tuple([p.node for p in inputs]), shape, Attrs(attrs), info.path, info.family))
        info.nodes.append(name)
        return Port(name, shape)

    # ------------------------------------------------------------- primitives
    @staticmethod
    def need_spatial(x: Port, what: str) -> None:
        if not x.spatial:
            raise ShapeIssue(f"{what} needs a CxHxW input but gets a flat vector of {x.shape[0]} "
                             "(move it before flatten)")

    def conv(self, x: Port, name: str, out: int, kernel: Any = 1, stride: Any = 1, padding: Any = "auto",
             dilation: Any = 1, groups: int = 1, bias: bool = False, padding_mode: str = "zeros") -> Port:
        self.need_spatial(x, "a convolution")
        if out < 1:
            raise ShapeIssue(f"{name} would have {out} output channels (computed width; width_mult "
                             f"{self.ctx.width_mult:g})")
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
                                 f"for input {dims((h, w))}")
        oh = conv_out(h, kh, sh, dh, top, bottom)
        ow = conv_out(w, kw, sw, dw, left, right)
        if oh < 1 or ow < 1:
            raise ShapeIssue(f"input {dims((h, w))} would become {dims((max(oh, 0), max(ow, 0)))}")
        return self._emit(name, "conv", [x], (out, oh, ow), in_channels=cin, out_channels=out,
                          kernel=(kh, kw), stride=(sh, sw), dilation=(dh, dw), groups=groups, bias=bias,
                          padding_mode=padding_mode, pads=pads, padding=torch_padding)

    def bn(self, x: Port, name: str) -> Port:
        return self._emit(name, "bn", [x], x.shape, channels=x.shape[0], eps=self.ctx.bn_eps,
                          momentum=self.ctx.bn_momentum)

    def cbam(self, x: Port, prefix: str, hidden: int, kernel: int) -> Port:
        """CBAM: x times its channel gate, then times the spatial gate of that (Woo et al. 2018)."""
        self.need_spatial(x, "CBAM")
        p = f"{prefix}." if prefix else ""
        c, h, w = x.shape
        gate = self._emit(p + "channel", "channel_gate", [x], (c, 1, 1), channels=c, hidden=hidden)
        y = self.mul(x, gate, p + "channel_scale")
        gate = self._emit(p + "spatial", "spatial_gate", [y], (1, h, w), kernel=kernel)
        return self.mul(y, gate, p + "spatial_scale")

    def lrn(self, x: Port, name: str, size: int, alpha: float, beta: float, k: float) -> Port:
        self.need_spatial(x, "local response normalisation")
        return self._emit(name, "lrn", [x], x.shape, size=size, alpha=alpha, beta=beta, k=k)

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
            raise ShapeIssue(f"input {dims((h, w))} would become {dims((max(oh, 0), max(ow, 0)))}")
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

    def merge(self, op: str, a: Port, b: Port, name: str) -> Port:
        """Two paths combined element-wise (add, mul, max); shapes checked by the caller (mul: b may be a gate)."""
        return self._emit(name, op, [a, b], a.shape)

    def concat(self, xs: list[Port], name: str = "concat") -> Port:
        if all(len(p.shape) == 1 for p in xs):  # feature vectors: joined end to end
            return self._emit(name, "concat", xs, (sum(p.shape[0] for p in xs),))
        hws = {p.hw for p in xs}
        if len(hws) != 1:
            raise ShapeIssue("branches disagree on size: " + ", ".join(fmt_shape(p.shape) for p in xs))
        (h, w), = hws
        return self._emit(name, "concat", xs, (sum(p.channels for p in xs), h, w))

    def attention(self, x: Port, kind: str, ratio: float, activation: str) -> Port:
        """A block's optional attention (``none`` / ``se`` / ``cbam``), hidden width channels * ratio."""
        hidden = max(1, int(x.channels * ratio))
        if kind == "se":
            return self.se(x, "se", hidden, activation, "sigmoid")
        if kind == "cbam":
            return self.cbam(x, "cbam", hidden, 7)
        return x

    def se(self, x: Port, prefix: str, squeeze: int, activation: str, gate: str) -> Port:
        """Squeeze-excitation: global pool -> 1x1 -> act -> 1x1 -> gate, times the input."""
        p = f"{prefix}." if prefix else ""
        s = self.adaptive_pool(x, p + "pool", "avg", 1)
        s = self.conv(s, p + "fc1", squeeze, 1, bias=True, padding=0)
        s = self.act(s, p + "act", activation)
        s = self.conv(s, p + "fc2", x.channels, 1, bias=True, padding=0)
        s = self.act(s, p + "gate", gate)
        return self.mul(x, s, p + "scale")


@dataclass(frozen=True, eq=False)
class Segment:
    """One top-level block as expanded (stage repeats included): the cache's unit, shared by every graph
    that has this block at this position with this input, so never to be changed. It reads nothing but
    ``port`` (the value entering it); ``out`` leaves it. ``memo`` is for what callers derive from it
    (analysis keeps per-block figures there): it lives as long as the segment stays cached."""

    port: Port
    nodes: tuple[Node, ...]
    blocks: tuple[BlockInfo, ...]
    out: Port
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)


CACHE_SIZE = 1024  # top-level block expansions kept: ten states of a 100-block network, or a few hundred edits
_segments: OrderedDict[tuple[Any, ...], Segment] = OrderedDict()
_lock = threading.Lock()  # analyses may run in worker threads (search)


def clear_cache() -> None:
    """Forget every cached block expansion (benchmarks measure cold builds with it)."""
    with _lock:
        _segments.clear()


def _expand_block(name: str, bs: BlockSpec, x: Port, i: int, ctx: Context) -> tuple[Graph, Port | None,
                                                                                     Problem | None]:
    """Expand top-level block ``i`` on its own: its graph (partial when it fails), output or problem."""
    part = Graph(name, x.shape)
    try:
        return part, Emitter(part, ctx).block(bs, x, paths.body(i), paths.body_module(i)), None
    except _Stop as stop:
        return part, None, stop.problem


def _segment(name: str, bs: BlockSpec, x: Port, i: int, ctx: Context) -> tuple[Segment | Graph, Problem | None]:
    """Top-level block ``i`` at input ``x``: the cached expansion, or the partial graph and its problem."""
    key = (i, x.node, x.shape, bs.block, bs.label, repr(bs.params), ctx.key)
    with _lock:
        seg = _segments.get(key)
        if seg is not None:
            _segments.move_to_end(key)
            return seg, None
    part, out, problem = _expand_block(name, bs, x, i, ctx)
    if out is None:  # failures are not cached: they end the expansion, and the editor shows them at once
        return part, problem
    for n in part.nodes:  # from now on shared: made read-only in place (same layout, no copy)
        n.__class__ = SharedNode
    for b in part.blocks:
        vars(b)["nodes"] = tuple(b.nodes)
        b.__class__ = SharedBlockInfo
    seg = Segment(x, tuple(part.nodes), tuple(part.blocks), out)
    with _lock:
        _segments[key] = seg
        if len(_segments) > CACHE_SIZE:
            _segments.popitem(last=False)
    return seg, None


@dataclass
class Expansion:
    """A spec's graph and where each top-level block lies in it: ``ports[i]`` enters block i (the last
    one leaves the body), its nodes start at ``node_starts[i]`` and its infos at ``block_starts[i]``;
    ``segments[i]`` is its cached expansion (when the spec expands without problems). A variant of the
    spec that changes a few blocks re-expands only those (see ``variant``)."""

    spec: Spec
    graph: Graph
    ports: list[Port | None]
    node_starts: list[int]
    block_starts: list[int]
    segments: list[Segment]
    sizes: list[int] = field(default_factory=list)  # blocks each top-level block expands to (arch/limits.py)

    def variant(self, spec: Spec, changed: set[int]) -> Graph:
        """The graph of ``spec``, which must equal this expansion's spec except for the top-level blocks
        ``changed`` (same settings, input and number of blocks). Blocks before the first change and after
        the point where the ports meet again are this graph's."""
        graph = self.graph
        if self.ports[-1] is None or len(spec.body) != len(self.spec.body) or not changed:
            return build_graph(spec, graph.input_shape)
        first = min(changed)
        nodes, blocks = graph.nodes[:self.node_starts[first]], graph.blocks[:self.block_starts[first]]
        problems: list[Problem] = []
        end = first
        for i, seg, problem in self._reexpanded(spec, changed):
            nodes += seg.nodes
            blocks += seg.blocks
            end = i + 1
            if problem is not None:
                problems.append(problem)
        if not problems and end < len(spec.body):
            nodes += graph.nodes[self.node_starts[end]:]
            blocks += graph.blocks[self.block_starts[end]:]
        return Graph(spec.name, graph.input_shape, nodes, blocks, problems)

    def variant_problems(self, spec: Spec, changed: set[int]) -> list[Problem]:
        """``variant(spec, changed).problems`` without assembling the graph: only the re-expanded blocks
        are touched, so validating one-block edits (lint fixes: thousands) costs each edit its own blocks."""
        if self.ports[-1] is None or len(spec.body) != len(self.spec.body) or not changed:
            return build_graph(spec, self.graph.input_shape).problems
        return [problem for _, _, problem in self._reexpanded(spec, changed) if problem is not None]

    def _reexpanded(self, spec: Spec, changed: set[int]) -> Iterator[tuple[int, Segment | Graph, Problem | None]]:
        """Each top-level block a variant expands again, from the first change until the ports meet again
        (or a block fails): its index, expansion and problem."""
        ctx = Context.of(spec)
        first = min(changed)
        x = self.ports[first]
        for i in range(first, len(spec.body)):
            if i not in changed and x == self.ports[i]:  # the rest expands as before
                return
            assert x is not None  # callers re-expand only a spec whose every port is set
            seg, problem = _segment(spec.name, spec.body[i], x, i, ctx)
            yield i, seg, problem
            if problem is not None:
                return
            assert isinstance(seg, Segment)  # without a problem, the expansion is a (cached) segment
            x = seg.out


def expand(spec: Spec, input_shape: Shape | None = None, previous: Expansion | None = None) -> Expansion:
    """``build_graph`` with the position of every top-level block (``ports[-1]`` None when it fails).

    ``previous``: an expansion of an earlier state of the same document (the designer's last one). Its
    top-level blocks that are the very objects of ``spec`` at the same position and input are taken as they
    are, without recomputing their cache keys or sizes: an edit copies only the blocks it changes, and a spec
    is never changed in place once expanded. A one-block edit of a large network then costs about that block.
    """
    shape = tuple(input_shape or spec.input)
    ctx = Context.of(spec)
    if previous is not None and (tuple(previous.graph.input_shape) != shape
                                 or Context.of(previous.spec).key != ctx.key):
        previous = None
    before = previous.spec.body if previous is not None else []

    def same(i: int, bs: BlockSpec) -> bool:
        return i < len(before) and before[i] is bs

    sizes = [previous.sizes[i] if previous is not None and same(i, bs) and i < len(previous.sizes)
             else expanded_blocks([bs], spec.depth_mult) for i, bs in enumerate(spec.body)]
    refused = "is empty: the network computes nothing (add blocks)" if not spec.body else \
        too_many_blocks(sum(sizes))  # arch/limits.py: before anything is expanded
    if refused is not None:
        graph = Graph(spec.name, shape, [Node("input", "input", (), shape)], [], [Problem("body", refused)])
        return Expansion(spec, graph, [None], [1], [0], [], sizes)
    nodes = [Node("input", "input", (), shape)]
    blocks: list[BlockInfo] = []
    problems: list[Problem] = []
    x: Port | None = Port("input", shape)
    ports: list[Port | None] = []
    node_starts: list[int] = []
    block_starts: list[int] = []
    segments: list[Segment] = []
    for i, bs in enumerate(spec.body):
        ports.append(x)
        node_starts.append(len(nodes))
        block_starts.append(len(blocks))
        assert x is not None  # set to None only when the loop ends
        seg: Segment | Graph
        if previous is not None and same(i, bs) and i < len(previous.segments) and previous.ports[i] == x:
            seg, problem = previous.segments[i], None
        else:
            seg, problem = _segment(spec.name, bs, x, i, ctx)
        nodes += seg.nodes
        blocks += seg.blocks
        if problem is not None:
            problems.append(problem)
            x = None
            break
        assert isinstance(seg, Segment)  # without a problem, the expansion is a (cached) segment
        segments.append(seg)
        x = seg.out
    ports.append(x)
    node_starts.append(len(nodes))
    block_starts.append(len(blocks))
    graph = Graph(spec.name, shape, nodes, blocks, problems)
    return Expansion(spec, graph, ports, node_starts, block_starts, segments, sizes)


def build_graph(spec: Spec, input_shape: Shape | None = None) -> Graph:
    """Expand a (field-valid) spec; a shape problem stops expansion and is kept in ``problems``."""
    return expand(spec, input_shape).graph


def expand_spec(spec: Spec, input_shape: Shape | None = None) -> Graph:
    """The graph of a spec, or SpecError naming the block whose shape fails."""
    graph = build_graph(spec, input_shape)
    if graph.problems:
        raise SpecError(graph.problems)
    return graph
