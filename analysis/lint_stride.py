"""Lint ``stride-drops-pixels``: (H + p_top + p_bottom - d(k - 1) - 1) is not a multiple of the stride, so
the windows stop before the end and the last input rows / columns are never read (AlexNet's conv1 11x11/4
at 224 without padding ignores one row and one column). Only real pixels count: left-over rows that are
padding lose nothing. A value is flagged when every op that reads it is a window op that drops pixels on
that axis. The fix pads so that no pixel is dropped (a conv), or rounds up with ceil_mode (a pool).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.lint_scan import WINDOWED
from analysis.records import Lint
from arch.graph import Graph, Node, fmt_shape
from arch.op_table import Op
from arch.shapes import pixels_dropped, rows_left_over

if TYPE_CHECKING:
    from analysis.lints import _Context

CODE = "stride-drops-pixels"


def _geometry(node: Node) -> list[tuple[int, int, int, int, int]]:
    """Per axis (k, s, d, pad before, pad after) of a window op."""
    a = node.attrs
    if node.op == Op.CONV:
        t, b, left, right = a["pads"]
        pads = ((t, b), (left, right))
        dil = a["dilation"]
    else:
        pads = ((a["padding"][0],) * 2, (a["padding"][1],) * 2)
        dil = (1, 1)
    return [(a["kernel"][ax], a["stride"][ax], dil[ax], *pads[ax]) for ax in (0, 1)]


def dropped(node: Node, shape: tuple[int, ...]) -> tuple[int, int]:
    """Input rows and columns a window op never reads at the far end (0 with ceil_mode)."""
    if node.op != Op.CONV and node.attrs["ceil_mode"]:
        return (0, 0)
    return tuple(pixels_dropped(shape[1 + ax], *g) for ax, g in enumerate(_geometry(node)))  # type: ignore


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def stride_drops_pixels(c: _Context) -> list[Lint]:
    out = []
    for k, name in c.in_order((k, name) for k, s in enumerate(c.scans) for name in s.strided):
        shape = c.node(k, name).shape
        readers = c.readers(k, name)
        if any(r.op not in WINDOWED for r in readers):
            continue
        lost = [dropped(r, shape) for r in readers]
        rows, cols = min(x[0] for x in lost), min(x[1] for x in lost)
        if not rows and not cols:
            continue
        node = readers[0]
        parts = []
        for ax, n in ((0, rows), (1, cols)):
            if n:
                k, s, d, before, after = _geometry(node)[ax]
                span = shape[1 + ax] + before + after - d * (k - 1) - 1
                parts.append(f"{'H' if ax == 0 else 'W'}: {shape[1 + ax]} + {before} + {after} - {d}·({k} - 1) - 1 = "
                             f"{span} leaves {rows_left_over(shape[1 + ax], k, s, d, before, after)} over stride {s}")
        what = " and ".join(p for p in (_plural(rows, "row") if rows else "", _plural(cols, "column") if cols else "")
                            if p)
        message = (f"{node.name}: the stride drops pixels: the last {what} of {fmt_shape(shape)} are never read "
                   f"({'; '.join(parts)})")
        out.append(Lint(node.block, CODE, message, "warning", _fix(c, node, shape)))
    return out


def _fix(c: _Context, node: Node, shape: tuple[int, ...]):
    def cured(graph: Graph) -> bool:
        new = graph.node(node.name)
        return dropped(new, graph.node(new.inputs[0]).shape) == (0, 0)

    if node.op != Op.CONV:
        found = c.path(node.block, "ceil_mode")
        if found is not None:
            return c.fix(f"ceil_mode in {node.block} (a last, partial window reads the rest)",
                         [(found[0], True)], cured)
        return None
    found = c.path(node.block, "padding")
    if found is None:
        return None
    geo = _geometry(node)
    pads = []
    for ax in (0, 1):
        k, s, d, before, after = geo[ax]
        p = max(before, after)
        while pixels_dropped(shape[1 + ax], k, s, d, p, p) and p < 64:
            p += 1
        pads.append(p)
    value = pads[0] if pads[0] == pads[1] else (pads[0], pads[1])
    return c.fix(f"padding {value if isinstance(value, int) else f'{pads[0]}x{pads[1]}'} in {node.block} "
                 "(every pixel read)", [(found[0], value)], cured)
