"""The graph IR: primitive ops with shapes and the spec block that made each one.

The ops are declared in ``arch.op_table`` (``Op``: one entry per op says how to build, count, draw and
import it); their attrs are listed here.

Everything downstream (builder, analysis, export, diagram, search constraints) reads this, never
the spec directly, so a torch.fx import of any model lands in the same structure.

Primitive ops and their attrs (shapes exclude the batch dimension):
  input                                       shape (C, H, W)
  conv      in_channels out_channels kernel stride dilation groups bias padding_mode
            pads (top, bottom, left, right); padding: the torch argument ((ph, pw) or "same")
  bn        channels eps momentum              (2d on (C, H, W), 1d on (F,))
  act       fn: a name of ``arch.activations``
  maxpool / avgpool / nmaxpool  kernel stride padding (ph, pw) ceil_mode [n for nmaxpool]
  adaptive_avgpool / adaptive_maxpool  output (oh, ow)
  flatten, dropout (p), linear (in_features out_features bias)
  lrn       size alpha beta k: local response normalisation across channels (AlexNet, ZFNet)
  channel_gate  channels hidden: CBAM channel attention, (C, H, W) -> a (C, 1, 1) sigmoid gate
  spatial_gate  kernel: CBAM spatial attention, (C, H, W) -> a (1, H, W) sigmoid gate
  add (2 inputs), mul (2 inputs: x and a (C, 1, 1) gate or a second x), max (2 inputs, element-wise
            maximum), concat (n inputs, channel axis)
  unknown   (fx import only) target: what could not be mapped
fx import only (``arch.fx_import``; shapes of any rank; ``mixes``: the op mixes image positions):
  constant  a parameter / buffer / created tensor (params buffers; ``once``: no batch axis)
  reshape (views, layout), copy (concatenation on other axes, roll, pad, gather)
  linear    also on N-d values (over the last axis); conv / linear with ``external``: weights are inputs
  matmul (macs), attention (macs saved), mha (macs saved params), layer_norm / group_norm (rows affine),
  softmax, arith (fn), reduce (fn)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arch.dims import dims
from arch.errors import Problem

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Port:
    """A value flowing between ops: the node that produced it and its shape."""

    node: str
    shape: Shape

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 3

    @property
    def hw(self) -> tuple[int, int]:
        return (self.shape[1], self.shape[2])


@dataclass
class Node:
    """One primitive op. ``name`` is its module path in the built model (``body.3.branch2.conv``)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    shape: Shape
    attrs: dict[str, Any] = field(default_factory=dict)
    block: str = ""  # spec path of the innermost block that made it: "body[3]", "body[4][1]"
    family: str = ""


@dataclass
class BlockInfo:
    """A spec block as expanded: where its ops are and what it did to the shape."""

    path: str  # "body[4]" for a stage, "body[4][1]" for its second repeat
    family: str
    summary: str
    label: str
    module: str  # module path of the block's container: "body.4" / "body.4.1"
    in_shape: Shape
    out_shape: Shape
    parent: str | None = None  # path of the enclosing stage
    nodes: list[str] = field(default_factory=list)  # ops made directly by this block
    output: str = ""  # the node whose value leaves the block (its input's node when it made none)


@dataclass
class Graph:
    """The expanded network. ``problems`` is non-empty when expansion stopped at a bad block."""

    name: str
    input_shape: Shape
    nodes: list[Node] = field(default_factory=list)
    blocks: list[BlockInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unknown_ops: list[str] = field(default_factory=list)  # fx import: targets it could not map

    def __post_init__(self) -> None:
        # lookups by name, made on first use: a graph made only to be checked for problems (lint fixes
        # validate thousands) never pays for them
        self._built: dict[str, Node] | None = None
        self._block_index: dict[str, BlockInfo] = {}

    @property
    def _index(self) -> dict[str, Node]:
        if self._built is None:
            self._built = {n.name: n for n in self.nodes}
        return self._built

    def add(self, node: Node) -> None:
        if node.name in self._index:
            raise ValueError(f"duplicate node name {node.name}")
        self.nodes.append(node)
        self._index[node.name] = node

    def node(self, name: str) -> Node:
        return self._index[name]

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    @property
    def ok(self) -> bool:
        return not self.problems

    def top_blocks(self) -> list[BlockInfo]:
        return [b for b in self.blocks if b.parent is None]

    def subtree_nodes(self, info: BlockInfo) -> list[Node]:
        """The ops of ``info`` and of every block nested in it, in graph order."""
        return [n for n in self.nodes if n.block == info.path or within(n.block, info.path)]

    def block(self, path: str) -> BlockInfo:
        if len(self._block_index) != len(self.blocks):  # blocks were added since: index them again
            self._block_index = {b.path: b for b in self.blocks}
        found = self._block_index.get(path)
        if found is not None and found.path == path:
            return found
        for b in self.blocks:
            if b.path == path:
                return b
        raise KeyError(path)

    def consumers(self) -> dict[str, list[str]]:
        """For each node, the nodes that read its output (liveness, diagram edges)."""
        users: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                users[i].append(n.name)
        return users


def within(path: str, ancestor: str) -> bool:
    """Whether block ``path`` lies inside block ``ancestor`` (a stage repeat, a path of a branch)."""
    return len(path) > len(ancestor) and path.startswith(ancestor) and path[len(ancestor)] in ".["


def fmt_shape(shape: Shape) -> str:
    return dims(shape)
