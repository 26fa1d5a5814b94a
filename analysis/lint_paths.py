"""Lint ``paths-misaligned``: a merge (add, mul, max, concat) whose inputs' receptive fields differ in jump
or centre, so one output unit combines input regions that do not line up (a 2x2 conv beside a 3x3, a
stride-2 path without padding beside a padded one). Channel gates (Cx1x1) and whole-input fields are
exempt: they have no position. The message names each path's last layer with its centre and jump.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.receptive import num
from analysis.records import Lint
from arch.dims import dims

if TYPE_CHECKING:
    from analysis.lints import _Context

CODE = "paths-misaligned"
MERGES = frozenset(("add", "mul", "max", "concat"))


def paths_misaligned(c: _Context) -> list[Lint]:
    records = {r.name: r for r in c.report.layers}
    out = []
    for n in c.graph.nodes:
        if n.op not in MERGES or len(n.shape) != 3:
            continue
        fields: list[tuple[str, tuple[float, ...], tuple[float, ...]]] = []
        for i in n.inputs:
            r = records.get(i)
            if r is None:  # the network input: a unit field at offset 0
                fields.append((i, (1, 1), (0, 0)))
            elif len(r.out_shape) == 3 and r.out_shape[1:] != (1, 1) and not r.rf_whole_input:
                fields.append((i, tuple(r.rf_jump), tuple(r.rf_offset)))
        if len({(j, o) for _, j, o in fields}) <= 1:
            continue
        parts = ", ".join(f"{name} centre {dims(map(num, o))} jump {dims(map(num, j))}" for name, j, o in fields)
        out.append(Lint(n.block, CODE, f"{n.op} at {n.name} merges fields that do not line up ({parts}): "
                        "each output unit mixes input regions with different centres; use the same stride and "
                        "symmetric padding (odd kernels with 'auto' padding) on every path"))
    return out
