"""Figures as text: counts (1.23M), bytes (4.5 MiB), shapes and per-axis pairs (3x32x32, 7x7).

The one place numbers become words, below the renderers (``formats``, ``columns``, ``html``) that all use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from arch.dims import dims


def _scaled(n: float, units: tuple[tuple[float, str], ...], sep: str) -> str | None:
    """``n`` in the largest unit it reaches, three significant digits; a value that rounds up to 1000
    of a unit is written in the next one (999,999 is 1M, not 1e+03k). None below the smallest unit."""
    for i, (scale, unit) in enumerate(units):
        if abs(n) >= scale:
            text = f"{n / scale:.3g}"
            if abs(float(text)) >= 1000 and i > 0:
                scale, unit = units[i - 1]
                text = f"{n / scale:.3g}"
            return f"{text}{sep}{unit}"
    return None


def count(n: float) -> str:
    """1234567 -> '1.23M' (params, MACs): three significant digits, like the papers' tables."""
    return _scaled(n, ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")), "") or f"{n:g}"


def nbytes(n: float) -> str:
    return _scaled(n, ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")), " ") or f"{n:g} B"


hw = dims  # a per-axis pair (receptive field, jump): 7x7, 2.5x2.5


def shape_text(shape: Sequence[int]) -> str:
    return dims(shape) if shape else "-"


def rf_text(size: Sequence[float], whole: bool) -> str:
    return "global" if whole else hw(size)
