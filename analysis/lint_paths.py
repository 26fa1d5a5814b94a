"""Lint ``paths-misaligned``: a merge (add, mul, max, concat) whose inputs' receptive fields differ in jump
or centre, so one output unit combines input regions that do not line up (a 2x2 conv beside a 3x3, a
stride-2 path without padding beside a padded one). Channel gates (Cx1x1) and whole-input fields are
exempt: they have no position. The message names each path's last layer with its centre and jump.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from analysis.receptive import num
from analysis.records import Lint
from arch.dims import dims
from arch.graph import Node

if TYPE_CHECKING:
    from analysis.lints import _Context

CODE = "paths-misaligned"


def paths_misaligned(c: _Context) -> list[Lint]:
    out = []
    for k, s in enumerate(c.scans):
        if s.merges:
            found = c.by_field(k, CODE, partial(_misaligned, c, s.merges))
            out += [Lint(block, CODE, message) for block, message in found]
    return out


def _misaligned(c: _Context, merges: Sequence[Node]) -> tuple[tuple[str, str], ...]:
    """(block, message) of each merge whose inputs' fields do not line up."""
    out = []
    for n in merges:
        fields: list[tuple[str, tuple[float, ...], tuple[float, ...]]] = []
        for i in n.inputs:
            try:
                r = c.report.layer(i)
            except KeyError:  # the network input: a unit field at offset 0
                fields.append((i, (1, 1), (0, 0)))
                continue
            if len(r.out_shape) == 3 and r.out_shape[1:] != (1, 1) and not r.rf_whole_input:
                fields.append((i, tuple(r.rf_jump), tuple(r.rf_offset)))
        if len({(j, o) for _, j, o in fields}) <= 1:
            continue
        parts = ", ".join(f"{name} centre {dims(map(num, o))} jump {dims(map(num, j))}" for name, j, o in fields)
        out.append((n.block, f"{n.op} at {n.name} merges fields that do not line up ({parts}): each output unit "
                    "mixes input regions with different centres; use the same stride and symmetric padding (odd "
                    "kernels with 'auto' padding) on every path"))
    return tuple(out)
