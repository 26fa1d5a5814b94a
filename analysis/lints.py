"""Lints: likely design mistakes, each on the block it concerns, with a fix where one exists.

A fix is a list of (spec field path, value) edits for ``arch.paths.with_value``. It is offered only
after it was applied to a copy of the spec, the copy expanded without problems at the analysed input
size, and (where it can be checked) the lint's condition went away. The GUI re-analyses on every edit,
so the check is incremental: ``with_value`` runs on a one-block copy of the edited top-level block (a
field's checks only read its own block), and the expansion re-expands only the edited blocks and those
whose input they change (``Expansion.variant``). Edits that cannot change any shape (a bias turned off,
an identity shortcut where the shapes already match) are checked against their field's declaration only.

Rules: ``rf-small`` (field at the last spatial layer below the input or the stated object size),
``stride-gt-kernel`` (a value whose every reader skips pixels), ``stride-drops-pixels`` (the last rows a
stride leaves unread: analysis/lint_stride.py), ``early-collapse`` (a 1x1 map while larger kernels follow),
``channels-not-multiple-of-8`` (conv and hidden linear widths; convs on 1x1 maps such as squeeze-excitation
and the classifier are exempt), ``residual-projection`` (a shortcut that needs a 1x1 conv), ``bn-after-bias``
(a conv bias the following batch norm cancels), ``paths-misaligned`` (analysis/lint_paths.py: a merge of
fields with different centres or jumps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from analysis import parts
from analysis.lint_paths import paths_misaligned
from analysis.lint_scan import WINDOWED, Scan, effective_kernel, scan, segment_scan, skips
from analysis.lint_stride import stride_drops_pixels
from analysis.receptive import UnitRF, fields, last_spatial, whole_field
from analysis.records import Fix, Lint
from arch import paths
from arch.dims import dims
from arch.errors import Problem, SpecError
from arch.expand import Expansion, build_graph
from arch.fields import Field as FieldDecl
from arch.graph import Graph, Node, fmt_shape
from arch.op_table import Op
from arch.paths import get_block, split, with_value
from arch.registry import family, scale_channels

if TYPE_CHECKING:
    from analysis.records import Report
    from arch.spec import Spec

T = TypeVar("T")

# ------------------------------------------------------------------------------------------ helpers
def field_path(spec: Spec, block: str, name: str) -> tuple[str, Any] | None:
    """The spec path that sets field ``name`` of graph block ``block`` (``body[4][1]``) and its value.

    Inside a stage that is the unit's field (``body[4].unit.out``), or the ``first`` override when the
    block is the first repeat and the override sets that field (``body[4].first.stride``).
    """
    try:
        steps = split(block)[1:]
    except SpecError:
        return None
    idx = [i for i in steps if isinstance(i, int)]
    if len(idx) != len(steps) or idx[0] >= len(spec.body):
        return None
    bs = spec.body[idx[0]]
    path, params = paths.body(idx[0]), bs.params
    for depth, r in enumerate(idx[1:]):
        if bs.block != "stage":
            return None
        first, unit = bs.params.get("first") or {}, bs.params["unit"]
        if depth == len(idx) - 2 and r == 0 and name in first:
            return paths.first_override(path, name), first[name]
        path, bs, params = paths.field(path, "unit"), unit, unit.params
    fam = family(bs.block)
    if name not in fam.field_map:
        return None
    return paths.field(path, name), params.get(name, fam.field_map[name].default)


def _field(spec: Spec, path: str) -> FieldDecl:
    """The declaration of the field a spec path (from ``field_path``) names."""
    head, name = path.rsplit(".", 1)
    if head.endswith(".first"):  # a stage's first-repeat override of its unit's field
        head = head[: -len(".first")] + ".unit"
    return family(get_block(spec, head).block).field_map[name]


def _pair_value(h: int, w: int) -> int | tuple[int, int]:
    return h if h == w else (h, w)


class _Context:
    """What every rule reads: the report, the spec (None for an fx graph) and lookups on the graph."""

    def __init__(self, report: Report, spec: Spec | None, target: tuple[int, int] | None,
                 expansion: Expansion | None, fields: Mapping[str, UnitRF | None] | None = None) -> None:
        self.report, self.spec, self.target = report, spec, target
        self.expansion = expansion if spec is not None and expansion is not None and expansion.spec is spec else None
        self.graph: Graph = report.graph
        self.scans = _scans(self.graph, expansion)
        self.segments = expansion.segments if expansion is not None and len(self.scans) > 1 else []  # scan k + 1
        self.fields = fields
        self._validated: dict[tuple[Any, ...], bool] = {}

    @cached_property
    def index(self) -> dict[str, Node]:
        """Every node by name (for the rare rule that fires: the others look nodes up in their scans)."""
        if len(self.scans) == 1:
            return self.scans[0].by_name
        out: dict[str, Node] = {}
        for s in self.scans:
            out.update(s.by_name)
        return out

    def owner(self, k: int, name: str) -> int:
        """The scan that makes value ``name``, which scan ``k`` makes or enters through its port."""
        scans = self.scans
        while scans[k].port == name:  # an empty block passes its port on: look further back
            k -= 1
        return k

    def where(self, k: int, name: str) -> tuple[int, int]:
        """The graph position of value ``name`` of scan ``k``, as (scan, position in it)."""
        k = self.owner(k, name)
        return k, self.scans[k].position[name]

    def node(self, k: int, name: str) -> Node:
        """The node of value ``name`` of scan ``k``."""
        return self.scans[self.owner(k, name)].by_name[name]

    @cached_property
    def _whole_key(self) -> tuple[Any, ...] | None:
        return parts.exact(whole_field(self.graph))

    def by_field(self, k: int, rule: str, make: Callable[[], T]) -> T:
        """What ``rule`` finds in scan ``k`` from its nodes and the receptive fields in it: kept with the
        block's segment, per field entering it, when the analysis gave every node's field (``find``)."""
        if k == 0 or self.fields is None:
            return make()
        seg = self.segments[k - 1]
        return parts._cached(seg, (rule, parts.exact(self.fields[seg.port.node]), self._whole_key), make)

    def in_order(self, values: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
        """Values (scan, name), each once, in graph order, each with the scan that makes it."""
        found = {name: self.where(k, name) for k, name in values}
        return [(k, name) for name, (k, _) in sorted(found.items(), key=lambda item: item[1])]

    def readers(self, k: int, name: str) -> list[Node]:
        """The nodes that read value ``name`` of scan ``k``, in graph order: in the scan that makes it and in
        the scans it enters as their port (the next block, and those after empty ones)."""
        scans = self.scans
        k = self.owner(k, name)
        s = scans[k]
        out = [s.by_name[u] for u in s.readers.get(name, ())]
        for s in scans[k + 1:]:
            if s.port != name:
                break
            out += [s.by_name[u] for u in s.readers.get(name, ())]
        return out

    def fix(self, description: str, edits: list[tuple[str, Any]],
            check: Callable[[Graph], bool] | None = None) -> Fix | None:
        """The fix if it applies, validates at the analysed input and (with ``check``) cures the lint.

        Stage repeats share their unit's fields, so identical edits are validated once.
        """
        if self.spec is None or not edits:
            return None
        key = (tuple((p, repr(v)) for p, v in edits), check)
        if key not in self._validated:
            self._validated[key] = self._valid(edits, check)
        return Fix(description, edits) if self._validated[key] else None

    def neutral_fix(self, description: str, path: str, value: Any) -> Fix | None:
        """A fix that changes no shape (a bias off, an identity shortcut where the shapes match): the value
        is checked against the field's declaration only, without re-expanding the spec."""
        if self.spec is None:
            return None
        _, reason = _field(self.spec, path).check(value)
        return Fix(description, [(path, value)]) if reason is None else None

    def _valid(self, edits: list[tuple[str, Any]], check: Callable[[Graph], bool] | None) -> bool:
        if self.spec is None:  # an imported graph: nothing to edit
            return False
        try:
            new, changed = edited(self.spec, edits)
        except SpecError:
            return False
        if self.expansion is not None and check is None:  # only the edited blocks: linear in the lints
            return not self.expansion.variant_problems(new, changed)
        if self.expansion is not None:
            graph = self.expansion.variant(new, changed)
        else:
            graph = build_graph(new, self.report.input_shape)
        return not graph.problems and (check is None or check(graph))

    def path(self, block: str, name: str) -> tuple[str, Any] | None:
        return field_path(self.spec, block, name) if self.spec is not None else None


def _scans(graph: Graph, expansion: Expansion | None) -> list[Scan]:
    """The graph's scans: one per top-level block of a spec (cached with its segment) after the input
    node's, or one for a whole graph."""
    if expansion is None or expansion.graph is not graph or expansion.ports[-1] is None:
        return [scan(graph.nodes, None)]
    return [scan(graph.nodes[:1], None)] + [segment_scan(seg) for seg in expansion.segments]


def edited(spec: Spec, edits: list[tuple[str, Any]]) -> tuple[Spec, set[int]]:
    """``spec`` with the edits applied as ``arch.paths.with_value`` applies them, and the top-level blocks
    they changed. Each edited block goes through ``with_value`` inside a one-block copy of the spec (a
    field's checks read only its own block), so the other blocks are neither copied nor re-checked."""
    body = list(spec.body)
    changed: set[int] = set()
    for path, value in edits:
        top = paths.top_split(path)
        if top is None or top[0] >= len(body):
            raise SpecError(Problem(path, "not a field of a block of the body"))
        i, rest = top
        alone = dataclasses.replace(spec, body=[body[i]], search={})
        body[i] = with_value(alone, paths.body(0) + rest, value).body[0]
        changed.add(i)
    return dataclasses.replace(spec, body=body), changed


# -------------------------------------------------------------------------------------------- rules
def _small_field(c: _Context) -> list[Lint]:
    rf = c.report.receptive_field
    shape = c.graph.input_shape
    if len(shape) != 3 or rf.layer == "input":
        return []
    need, what = (c.target, "object size") if c.target else ((shape[1], shape[2]), "input")
    if rf.size[0] >= need[0] and rf.size[1] >= need[1]:
        return []
    block = c.index[rf.layer].block
    message = (f"receptive field {dims(rf.size)} at {rf.layer} is smaller than the {what} {dims(need)}: "
               "no unit of the last spatial layer sees a whole object; add down-sampling, larger kernels "
               "or dilation")

    def grown(graph: Graph) -> bool:
        rf = fields(graph)
        f = rf[last_spatial(graph, rf)]
        return f is not None and f.size[0] >= need[0] and f.size[1] >= need[1]

    fix = None
    target = _dilation_target(c, rf.jump)
    if target is None:
        message += ("; no convolution block sits after the last down-sampling, where dilating would help: "
                    "down-sample more (a stride 2 in a later block) or enlarge the kernels of the last blocks")
    found = c.path(target, "dilation") if target is not None else None
    for d in range(2, 9) if found is not None else ():
        fix = c.fix(f"dilate {target} by {d}", [(found[0], d)], grown) if found is not None else None
        if fix:
            fix = Fix(_dilation_effect(c, fix, rf), fix.edits)
            break
    return [Lint(block, "rf-small", message, "warning", fix)]


def _dilation_target(c: _Context, last_jump: tuple[Any, Any]) -> str | None:
    """The deepest convolution block, when it works at the last layer's jump (after every down-sampling):
    dilating an earlier one (the stem) needs a huge dilation for the same field."""
    for b in reversed(c.graph.blocks):
        if b.family not in ("conv", "separable") or len(b.out_shape) != 3:
            continue
        layer = next((c.report.layer(n) for n in b.nodes if c.index[n].op == Op.CONV), None)
        return b.path if layer is not None and tuple(layer.rf_jump) == tuple(last_jump) else None
    return None


def _dilation_effect(c: _Context, fix: Fix, rf: Any) -> str:
    """The fix in numbers, said before it is applied: the field it gives at the last spatial layer. Dilation
    with the same shapes keeps every kernel and output size, hence params and MACs (said only when so)."""
    assert c.spec is not None  # a fix is only offered for a spec
    new, changed = edited(c.spec, fix.edits)
    graph = c.expansion.variant(new, changed) if c.expansion is not None else build_graph(new, c.report.input_shape)
    after = fields(graph)
    layer = last_spatial(graph, after)
    size = unit.size if (unit := after.get(layer)) is not None else rf.size
    same = [n.shape for n in graph.nodes] == [n.shape for n in c.graph.nodes]
    cost = "; params and MACs unchanged (same kernels, same shapes)" if same else "; shapes change"
    return f"{fix.description}: receptive field {dims(rf.size)} -> {dims(size)} at {layer}{cost}"


def _skipped_pixels(c: _Context) -> list[Lint]:
    """A value whose every reader is a window op with stride > effective kernel: pixels never read."""
    read = c.in_order((k, i) for k, s in enumerate(c.scans) for n in s.skipping for i in n.inputs)  # rarely any
    out = []
    for k, name in read:
        readers = c.readers(k, name)
        if any(r.op not in WINDOWED or not skips(r) for r in readers):
            continue
        node = readers[0]
        (kh, kw), (sh, sw) = effective_kernel(node), node.attrs["stride"]
        message = (f"{node.name}: stride {dims((sh, sw))} is larger than the kernel {dims((kh, kw))}, "
                   f"so some pixels of {fmt_shape(c.node(k, name).shape)} are never seen")
        fix = None
        found = c.path(node.block, "kernel")
        if found is not None:
            fix = c.fix("grow the kernel to the stride", [(found[0], _pair_value(max(kh, sh), max(kw, sw)))])
        if fix is None and (found := c.path(node.block, "stride")) is not None:
            fix = c.fix("shrink the stride to the kernel", [(found[0], _pair_value(min(sh, kh), min(sw, kw)))])
        out.append(Lint(node.block, "stride-gt-kernel", message, "warning", fix))
    return out


def _early_collapse(c: _Context) -> list[Lint]:
    """The first window op that makes a map 1x1 (from a larger one), when window ops with larger kernels
    follow it."""
    for k, s in enumerate(c.scans):
        if not s.collapses:
            continue
        i = s.collapses[0]
        n = s.nodes[i]
        src = c.node(k, n.inputs[0]).shape
        wasted = [s.nodes[j] for j in s.wide if j > i] + [t.nodes[j] for t in c.scans[k + 1:] for j in t.wide]
        if not wasted:
            return []
        message = (f"the map collapses to 1x1 at {n.name} ({dims(src[1:])} -> 1x1) while {len(wasted)} later "
                   f"layer(s) with larger kernels, from {wasted[0].name}, only see their centre tap")
        found = c.path(n.block, "stride")
        fix = None
        if found is not None and found[1] not in (1, (1, 1), None):
            def collapses_no_more(g: Graph, name: str = n.name) -> bool:
                return g.node(name).shape[1:] != (1, 1)

            fix = c.fix(f"stride 1 in {n.block}", [(found[0], 1)], collapses_no_more)
        return [Lint(n.block, "early-collapse", message, "warning", fix)]
    return []


def _channel_fix(c: _Context, block: str, counts: list[int]) -> Fix | None:
    """Round up the channel fields whose value produced the odd counts."""
    if c.spec is None:
        return None
    width = c.spec.width_mult
    edits = []
    bs_family = c.graph.block(block).family
    for f in family(bs_family).fields:
        if not f.channels or f.kind != "int":
            continue
        found = c.path(block, f.name)
        if found is None or not isinstance(found[1], int) or scale_channels(found[1], width) not in counts:
            continue
        value = found[1] + 1
        while scale_channels(value, width) % 8:
            value += 1
        edits.append((found[0], value))
    names = ", ".join(f"{p.rsplit('.', 1)[-1]} {v}" for p, v in edits)
    return c.fix(f"round up to multiples of 8: {names}", edits)


def _channels(c: _Context) -> list[Lint]:
    odd: dict[str, list[tuple[str, int]]] = {}
    output = c.graph.output
    for s in c.scans:
        for n, count in s.odd:
            if n is not output:  # the logits' width is the task's
                odd.setdefault(n.block, []).append((n.name, count))
    out = []
    for block, items in odd.items():
        listed = ", ".join(f"{name} {count}" for name, count in items)
        message = f"channel counts not multiples of 8 (slow on tensor cores): {listed}"
        out.append(Lint(block, "channels-not-multiple-of-8", message, "info",
                        _channel_fix(c, block, [count for _, count in items])))
    return out


def _projections(c: _Context) -> list[Lint]:
    out = []
    for k, n, conv in [(k, n, conv) for k, s in enumerate(c.scans) for n, conv in s.shortcuts]:
        names = {conv.name} | {u.name for u in c.readers(k, conv.name) if u.op == Op.BN}
        params = sum(c.report.layer(x).params for x in names)
        macs = sum(c.report.layer(x).macs for x in names)
        src = c.node(k, conv.inputs[0]).shape
        message = (f"the shortcut needs a 1x1 projection ({src[0]} -> {conv.attrs['out_channels']} channels, "
                   f"stride {dims(conv.attrs['stride'])}): {params:,} params, {macs:,} MACs")
        fix = None
        info = c.graph.block(n.block) if c.spec is not None else None
        found = c.path(n.block, "shortcut")
        if info is not None and found is not None and found[1] == "projection" and info.in_shape == info.out_shape:
            fix = c.neutral_fix("use the identity shortcut (the shapes already match)", found[0], "auto")
        out.append(Lint(n.block, "residual-projection", message, "info", fix))
    return out


def _wasted_bias(c: _Context) -> list[Lint]:
    out = []
    for k, n in [(k, n) for k, s in enumerate(c.scans) for n in s.biased]:
        users = c.readers(k, n.name)
        if len(users) != 1 or users[0].op != Op.BN:
            continue
        found = c.path(n.block, "bias")
        fix = c.neutral_fix(f"bias off in {n.block}", found[0], False) if found is not None else None
        out.append(Lint(n.block, "bn-after-bias", f"{n.name} has a bias that the batch norm after it cancels "
                        f"({n.attrs['out_channels']} wasted parameters)", "warning", fix))
    return out


CHECKS = (_small_field, _skipped_pixels, stride_drops_pixels, _early_collapse, _channels, _projections, _wasted_bias,
         paths_misaligned)


def find(report: Report, spec: Spec | None, target: tuple[int, int] | None,
         expansion: Expansion | None = None, fields: Mapping[str, UnitRF | None] | None = None) -> list[Lint]:
    """Every lint of an analysed network; fixes are checked against ``spec``, incrementally when
    ``expansion`` (how the report's graph was expanded from ``spec``) is given. ``fields``: the analysis's
    field of every node, so that with ``expansion`` what rules find from fields is kept per block too."""
    c = _Context(report, spec, target, expansion, fields)
    return [lint for rule in CHECKS for lint in rule(c)]
