"""Graph IR -> nn.Module. Submodule names are the graph's node names (``body.3.branch2.conv``)."""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from arch import ops
from arch.errors import ConvSmithError
from arch.graph import BlockInfo, Graph, Node
from arch.op_table import OPS, module_call
from arch.paths import path_of
from arch.registry import family


def make_module(node: Node) -> nn.Module:
    cls, args, kwargs = module_call(node)
    ctor = getattr(ops, cls, None) or getattr(nn, cls)  # ConvSmith's own modules (arch.ops) first
    return ctor(*args, **kwargs)


def place(root: nn.Module, path: str, module: nn.Module) -> None:
    """Register ``module`` at a dotted path below ``root``, creating plain containers on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = root._modules.get(part)
        if child is None:
            child = nn.Module()
            root.add_module(part, child)
        root = child
    root.add_module(leaf, module)


class _Chain:
    """The blocks of one path of a branch, called in order (they are registered on the branch)."""

    def __init__(self, modules: list[nn.Module]) -> None:
        self.modules = modules

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for m in self.modules:
            x = m(x)
        return x


class Block(nn.Module):
    """One spec block: its ops run in graph order; values are dropped after their last use.

    A branch's paths come first as ``lanes``: (the node a path's last block outputs, its blocks by
    module path below the branch, ``paths.1.0``); each is a real module, so hooks see every block."""

    def __init__(self, info: BlockInfo, nodes: list[Node],
                 lanes: list[tuple[str, list[tuple[str, nn.Module]]]] = ()) -> None:  # type: ignore[assignment]
        super().__init__()
        self.title = family(info.family).title
        self.summary = info.summary
        own = {n.name for n in nodes} | {out for out, _ in lanes}
        slots: dict[str, int] = {}
        steps: list[tuple[Any, list[int]]] = []
        for out, blocks in lanes:
            for name, module in blocks:
                place(self, name, module)
            steps.append((_Chain([m for _, m in blocks]), [0]))
            slots[out] = len(steps)
        for i, n in enumerate(nodes, start=len(steps) + 1):
            merge = OPS[n.op].merge
            if merge is not None:
                fn: Any = merge
            else:
                fn = make_module(n)
                place(self, n.name[len(info.module) + 1:], fn)
            steps.append((fn, [slots[x] if x in own else 0 for x in n.inputs]))
            slots[n.name] = i
        self._out = slots.get(info.output, 0)
        last_use: dict[int, int] = {}
        for i, (_, ins) in enumerate(steps):
            for s in ins:
                last_use[s] = i
        self._plan = [(fn, ins, [s for s in set(ins) if last_use[s] == i and s != self._out])
                      for i, (fn, ins) in enumerate(steps)]

    def _get_name(self) -> str:
        words = re.split(r"[^A-Za-z0-9]+", self.title.split(" (")[0])
        return "".join(w[:1].upper() + w[1:] for w in words)

    def extra_repr(self) -> str:
        return self.summary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[Any] = [x] + [None] * len(self._plan)
        for i, (fn, ins, free) in enumerate(self._plan, start=1):
            values[i] = fn(*[values[s] for s in ins])
            for s in free:
                values[s] = None
        return values[self._out]


class ConvNet(nn.Module):
    """A network built from a spec: ``body`` holds one module per spec block, in order."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        if graph.problems:
            raise ValueError("cannot build a graph with problems: " + "; ".join(map(str, graph.problems)))
        if graph.unknown_ops:
            raise ValueError("cannot build a graph with unknown ops: " + ", ".join(graph.unknown_ops))
        self.name = graph.name
        self.input_shape = tuple(graph.input_shape)
        by_parent: dict[str | None, list[BlockInfo]] = {}
        for b in graph.blocks:
            by_parent.setdefault(b.parent, []).append(b)
        nodes = {n.name: n for n in graph.nodes}

        def make(info: BlockInfo) -> nn.Module:
            children = by_parent.get(info.path)
            if family(info.family).composite:  # a branch: its paths' blocks, then the merge
                lanes: dict[int, list[tuple[str, nn.Module]]] = {}
                outs: dict[int, str] = {}
                for c in children or []:
                    where = path_of(c.path)
                    assert where is not None, c.path
                    lanes.setdefault(where[1], []).append((c.module[len(info.module) + 1:], make(c)))
                    outs[where[1]] = c.output
                return Block(info, [nodes[name] for name in info.nodes], [(outs[p], lanes[p]) for p in sorted(lanes)])
            if children:
                return nn.Sequential(*[make(c) for c in children])
            return Block(info, [nodes[name] for name in info.nodes])

        self.body = nn.Sequential(*[make(b) for b in by_parent.get(None, [])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def build(spec: Any, input_shape: tuple[int, ...] | None = None) -> ConvNet:
    """A valid spec -> its nn.Module (SpecError when the spec's shapes do not work)."""
    from arch.expand import expand_spec
    from arch.limits import MAX_BUILD_PARAMS

    graph = expand_spec(spec, input_shape)
    if torch.empty(0).device.type == "meta":  # built on meta tensors already: nothing is allocated
        return ConvNet(graph)
    with torch.device("meta"):  # counted on meta tensors first: nothing allocated for a model too big to build
        params = sum(p.numel() for p in ConvNet(graph).parameters())
    if params > MAX_BUILD_PARAMS:
        raise ConvSmithError(f"building needs {params:,} parameters ({params * 4 / 2**30:.1f} GiB as float32); a "
                             f"built model may have at most {MAX_BUILD_PARAMS:,} (arch/limits.py; analysis has no "
                             "such limit)")
    return ConvNet(graph)
