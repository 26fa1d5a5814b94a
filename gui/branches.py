"""The paths inside a block, read from the graph IR (not from the family): what the diagram and the
editor draw for inception, residual, inverted-residual and squeeze-excitation blocks alike.

A block's ops form a series-parallel graph from the block's input to its output. ``structure`` walks
it backwards: a run of single-input ops is a ``Run``; an op with several inputs (add, mul, concat) is a
``Merge`` whose branches each go back to the nearest op that all of them share (the fork).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from arch.graph import BlockInfo, Graph, Node
from arch.op_table import Op
from arch.op_table import label as op_label


@dataclass
class Run:
    """Consecutive single-input ops."""

    nodes: list[Node]

    def lines(self) -> list[str]:
        return op_lines(self.nodes)


@dataclass
class Merge:
    """An op joining branches; an empty branch is the identity (a skip connection)."""

    node: Node
    branches: list[list[Run | Merge]] = field(default_factory=list)


Column = list[Run | Merge]


def op_lines(nodes: list[Node]) -> list[str]:
    """Labels of a run, with each conv / linear and its following norm and activation on one line."""
    lines: list[list[str]] = []
    head = ""  # op of the node that started the current line
    for node in nodes:
        joins = head in (Op.CONV, Op.LINEAR) and node.op in (Op.BN, Op.ACT)
        if joins:
            lines[-1].append(op_label(node))
            if node.op == Op.ACT:
                head = ""  # an activation closes the line
        else:
            lines.append([op_label(node)])
            head = node.op
    return [" · ".join(parts) for parts in lines]


class Walker:
    """Decomposes blocks of one graph; keeps the node order index shared by every block."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @cached_property
    def order(self) -> dict[str, int]:
        """Each node's position (made when a block is first decomposed: most edits decompose none or one)."""
        return {n.name: i for i, n in enumerate(self.graph.nodes)}

    @cached_property
    def _nested(self) -> dict[str, list[BlockInfo]]:
        """For every block with blocks nested in it (a branch's paths, a stage's repeats): those blocks."""
        parent = {b.path: b.parent for b in self.graph.blocks}
        inner: dict[str, list[BlockInfo]] = {}
        for b in self.graph.blocks:
            p = b.parent
            while p:
                inner.setdefault(p, []).append(b)
                p = parent.get(p)
        return inner

    def subtree(self, info: BlockInfo) -> tuple[list[str], list[BlockInfo]]:
        """The ops of a block and of every block nested in it, and the nested blocks (a branch's paths).
        Expansion emits a block's ops depth first, so they are one run of the graph: from the first op any
        of them made to the block's output."""
        inner = self._nested.get(info.path, [])
        made = [self.order[n] for b in (info, *inner) for n in b.nodes]
        if not made:
            return [], inner
        end = self.order[info.output] if info.output in self.order else max(made)
        return [n.name for n in self.graph.nodes[min(made):end + 1]], inner

    def block_input(self, info: BlockInfo) -> str | None:
        """The node whose value enters the block (None when the block made no ops)."""
        own = set(info.nodes)
        outside = [i for name in info.nodes for i in self.graph.node(name).inputs if i not in own]
        return min(outside, key=self.order.__getitem__) if outside else None

    def structure(self, info: BlockInfo) -> Column:
        """The block's ops from its input to its output, as runs and merges."""
        start = self.block_input(info)
        if start is None:
            return []
        return self._column(info.output, start)

    def _ancestors(self, name: str, stop: str) -> set[str]:
        seen, todo = {name}, [name]
        while todo:
            cur = todo.pop()
            if cur == stop:
                continue
            for i in self.graph.node(cur).inputs:
                if i not in seen:
                    seen.add(i)
                    todo.append(i)
        return seen

    def _column(self, end: str, start: str) -> Column:
        items: Column = []
        cur = end
        while cur != start:
            node = self.graph.node(cur)
            if not node.inputs:  # reached the graph input without meeting start: not in this block
                break
            if len(node.inputs) > 1:
                shared = set.intersection(*(self._ancestors(i, start) for i in node.inputs))
                fork = max(shared, key=self.order.__getitem__)
                items.append(Merge(node, [self._column(i, fork) for i in node.inputs]))
                cur = fork
            else:
                if items and isinstance(items[-1], Run):
                    items[-1].nodes.insert(0, node)
                else:
                    items.append(Run([node]))
                cur = node.inputs[0]
        items.reverse()
        return items

    def branch_lines(self, info: BlockInfo) -> list[str]:
        """One text line per branch of a multi-path block (its top-level merges), for the editor."""
        out: list[str] = []
        for item in self.structure(info):
            if isinstance(item, Merge):
                for branch in item.branches:
                    text = " → ".join(line for part in branch for line in flat_lines(part))
                    out.append(text or "identity")
        return out


def flat_lines(item: Run | Merge) -> list[str]:
    """A run's lines, or a nested merge summarised as one line."""
    if isinstance(item, Run):
        return item.lines()
    inner = " | ".join(" → ".join(ln for part in b for ln in flat_lines(part)) or "identity" for b in item.branches)
    return [f"[{inner}] {op_label(item.node)}"]
