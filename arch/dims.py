"""Sizes as text, ``AxB``: the one formatter of shapes (3x32x32), kernels (3x3), strides and
receptive-field pairs (2.5x2.5) for every message, summary, report and view."""

from __future__ import annotations

from collections.abc import Iterable


def dims(values: Iterable[float], square: bool = False) -> str:
    """``(3, 32, 32)`` -> ``3x32x32``; floats without trailing zeros (``5.0`` -> ``5``). ``square``: a pair
    whose two sizes agree is written once (a stride ``2``; ``1x2`` when they differ)."""
    items = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]  # inline: shapes are formatted a lot
    if square and len(items) == 2 and items[0] == items[1]:
        return items[0]
    return "x".join(items)
