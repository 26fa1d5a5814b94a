"""What the lint rules look for, found in one pass over a run of nodes: a whole graph (fx import), or one
top-level block of a spec (``arch.expand.Segment``), cached with the segment. An edit then scans only the
blocks it re-expanded: a rule reads the few candidates of every block (most blocks have none) instead of
walking the whole graph, and asks for readers and positions only when it has a candidate.

A segment reads nothing but its port, so whatever a rule checks inside one node, its inputs and the nodes
between them (a projection shortcut) lies in the segment; readers of a value may be in later segments too
(a block's output is read by the next block), so ``readers`` is per run and a rule merges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from arch.expand import Segment
from arch.graph import Node, Port, Shape
from arch.op_table import Op

WINDOWED = frozenset(("conv", "maxpool", "avgpool", "nmaxpool"))
MERGES = frozenset(("add", "mul", "max", "concat"))


class Scan(NamedTuple):
    """The candidates of each rule in a run of nodes, in graph order."""

    nodes: Sequence[Node]
    port: str | None  # the value entering the run (None: a whole graph)
    by_name: dict[str, Node]  # the run's nodes by name
    position: dict[str, int]  # the run's nodes' positions in it (its port's is -1)
    readers: dict[str, list[str]]  # value -> the run's nodes that read it (its port included)
    strided: tuple[str, ...]  # values a window op with a stride reads (stride-drops-pixels)
    skipping: tuple[Node, ...]  # window ops with a stride larger than their kernel (stride-gt-kernel)
    collapses: tuple[int, ...]  # positions of window ops that make a map 1x1 (early-collapse)
    wide: tuple[int, ...]  # positions of window ops with a kernel larger than 1x1
    odd: tuple[tuple[Node, int], ...]  # convs (not on 1x1 maps) and non-classifier linears of odd width
    shortcuts: tuple[tuple[Node, Node], ...]  # adds with a 1x1 projection shortcut, and that conv
    biased: tuple[Node, ...]  # convs with a bias (bn-after-bias)
    merges: tuple[Node, ...]  # merges of spatial maps (paths-misaligned)


def effective_kernel(node: Node) -> tuple[int, int]:
    kh, kw = node.attrs["kernel"]
    dh, dw = node.attrs.get("dilation", (1, 1))
    return dh * (kh - 1) + 1, dw * (kw - 1) + 1


def skips(node: Node) -> bool:
    """A window op whose stride is larger than its effective kernel on some axis."""
    (kh, kw), (sh, sw) = effective_kernel(node), node.attrs["stride"]
    return sh > kh or sw > kw


def scan(nodes: Sequence[Node], port: Port | None) -> Scan:
    """The candidates in ``nodes``, which read nothing from outside but ``port`` (None: a whole graph)."""
    shapes: dict[str, Shape] = {port.node: port.shape} if port is not None else {}
    position: dict[str, int] = {port.node: -1} if port is not None else {}
    index: dict[str, Node] = {}
    readers: dict[str, list[str]] = {}
    strided: dict[str, None] = {}  # each once
    skipping: list[Node] = []
    collapses: list[int] = []
    wide: list[int] = []
    odd: list[tuple[Node, int]] = []
    adds: list[Node] = []
    biased: list[Node] = []
    merges: list[Node] = []
    for pos, n in enumerate(nodes):
        name, op, inputs = n.name, n.op, n.inputs
        index[name], shapes[name], position[name] = n, n.shape, pos
        for i in inputs:
            readers.setdefault(i, []).append(name)
        if op in WINDOWED:
            attrs = n.attrs
            if attrs["stride"] != (1, 1):
                strided.update(dict.fromkeys(inputs))
                if skips(n):
                    skipping.append(n)
            if len(n.shape) == 3 and n.shape[1:] == (1, 1) and shapes[inputs[0]][1:] != (1, 1):
                collapses.append(pos)
            if tuple(attrs["kernel"]) != (1, 1):
                wide.append(pos)
        if op == Op.CONV:
            if shapes[inputs[0]][1:] != (1, 1) and n.attrs["out_channels"] % 8:
                odd.append((n, n.attrs["out_channels"]))
            if n.attrs["bias"]:
                biased.append(n)
        elif op == Op.LINEAR and n.family != "classifier" and n.attrs["out_features"] % 8:
            odd.append((n, n.attrs["out_features"]))  # the rule spares the graph's output (the logits)
        elif op == Op.ADD:
            adds.append(n)
        if op in MERGES and len(n.shape) == 3:
            merges.append(n)
    shortcuts = []
    for n in adds:
        a, b = n.inputs
        conv = _projection_of(index, position, a, b) or _projection_of(index, position, b, a)
        if conv is not None:
            shortcuts.append((n, conv))
    return Scan(nodes, port.node if port is not None else None, index, position, readers, tuple(strided),
                tuple(skipping), tuple(collapses), tuple(wide), tuple(odd), tuple(shortcuts), tuple(biased),
                tuple(merges))


def _projection_of(index: dict[str, Node], position: dict[str, int], side: str, other: str) -> Node | None:
    """The 1x1 conv of a projection shortcut: ``side`` is conv (-> bn) from a value ``other`` also reads."""
    node = index.get(side)
    if node is not None and node.op == Op.BN:
        node = index.get(node.inputs[0])
    if node is None or node.op != Op.CONV or tuple(node.attrs["kernel"]) != (1, 1):
        return None
    source, seen, todo = node.inputs[0], set(), [other]
    found = False
    while todo:
        name = todo.pop()
        if name in (side, node.name):  # the conv feeds the other path too: not a shortcut
            return None
        if name == source:
            found = True
        elif name not in seen and position[name] > position[source]:  # earlier values cannot lead to source
            seen.add(name)
            todo.extend(index[name].inputs)
    return node if found else None


def segment_scan(seg: Segment) -> Scan:
    """A top-level block's scan, kept in its segment's memo (it depends on the expansion alone)."""
    found = seg.memo.get("lint-scan")
    if found is None:
        found = seg.memo["lint-scan"] = scan(seg.nodes, seg.port)
    return found
