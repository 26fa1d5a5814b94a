"""The charts of every report, as inline SVG (no plotting library); every label is escaped.

Public building blocks: ``Axis`` / ``fitted`` (data to pixels, ticks), ``frame`` (plot box, ticks, labels),
``document`` (the <svg> element), ``coord`` (a pixel coordinate as text), and ready charts (``bars``,
``lines``, ``scatter``). The comparison (analysis.report_charts), study (search.plots, search.explore_svg)
reports draw on them, and training's PNG curves (training.images) use the same axes and ticks."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#3b6ea8", "#d9822b", "#3d9a5b", "#b8474b", "#7d5ba6", "#8c6d46", "#c65ca0", "#6b6b6b")
FONT = 'font-family="sans-serif" font-size="11"'


def coord(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def document(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f'<text x="8" y="16" {FONT} font-weight="bold">{escape(title)}</text>' + "".join(body) + "</svg>")


def bars(items: Sequence[tuple[str, float]], title: str, fmt: Callable[[float], str], width: int = 640) -> str:
    """Horizontal bars, one per (label, value)."""
    row, left, top = 18, 170, 26
    top_value = max((v for _, v in items), default=0) or 1
    span = width - left - 90
    body = []
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = span * value / top_value
        short = label if len(label) <= 26 else label[:25] + "…"
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" {FONT}>{escape(short)}</text>'
                    f'<rect x="{left}" y="{y + 2}" width="{coord(w)}" height="{row - 5}" fill="{PALETTE[0]}">'
                    f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
                    f'<text x="{coord(left + w + 4)}" y="{y + 12}" {FONT}>{escape(fmt(value))}</text>')
    return document(width, top + row * len(items) + 8, body, title)


class Axis:
    """Maps data to pixels, logarithmically when the data spans more than two decades."""

    def __init__(self, values: Sequence[float], lo_px: float, hi_px: float, log: bool | None = None) -> None:
        positive = [v for v in values if v > 0]
        lo, hi = (min(values, default=0), max(values, default=1))
        self.log = bool(positive) and len(positive) == len(values) and (
            log if log is not None else max(positive) / min(positive) > 100)
        if self.log:
            lo, hi = math.log10(min(positive)), math.log10(max(positive))
        else:
            lo = min(lo, 0)
        if hi <= lo:
            hi = lo + 1
        pad = (hi - lo) * 0.08
        self.lo, self.hi, self.lo_px, self.hi_px = lo - pad if self.log else lo, hi + pad, lo_px, hi_px

    def __call__(self, v: float) -> float:
        x = math.log10(v) if self.log else v
        return self.lo_px + (x - self.lo) / (self.hi - self.lo) * (self.hi_px - self.lo_px)

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0 ** e for e in range(math.ceil(self.lo), math.floor(self.hi) + 1)]
        step = 10 ** math.floor(math.log10((self.hi - self.lo) / 4 or 1))
        while (self.hi - self.lo) / step > 6:
            step *= 2
        start = math.ceil(self.lo / step) * step
        return [start + i * step for i in range(int((self.hi - start) / step) + 1)]


def fitted(values: Sequence[float], lo_px: float, hi_px: float, pad: float = 0.08) -> Axis:
    """A linear axis fitted to the data, ``pad`` of its span added each side (``Axis`` starts a linear axis
    at zero: accuracies would crowd the top)."""
    axis = Axis(values, lo_px, hi_px, log=False)
    lo, hi = min(values), max(values)
    margin = (hi - lo) * pad or 0.01
    axis.lo, axis.hi = lo - margin, hi + margin
    return axis


def frame(x: Axis, y: Axis, width: int, height: int, xlabel: str, ylabel: str,
           fmt: Callable[[float], str], yfmt: Callable[[float], str] | None = None) -> list[str]:
    """Plot-area box, ticks and axis labels; ``yfmt`` formats the y ticks when they differ from x's."""
    yfmt = yfmt or fmt
    out = [f'<rect x="{coord(x.lo_px)}" y="{coord(y.hi_px)}" width="{coord(x.hi_px - x.lo_px)}" '
           f'height="{coord(y.lo_px - y.hi_px)}" fill="none" stroke="#999"/>']
    for t in x.ticks():
        px = x(t)
        out.append(f'<text x="{coord(px)}" y="{coord(y.lo_px + 14)}" text-anchor="middle" {FONT}>'
                   f"{escape(fmt(t))}</text>")
    for t in y.ticks():
        py = y(t)
        out.append(f'<line x1="{coord(x.lo_px)}" x2="{coord(x.hi_px)}" y1="{coord(py)}" y2="{coord(py)}" '
                   'stroke="#eee"/>'
                   f'<text x="{coord(x.lo_px - 4)}" y="{coord(py + 4)}" text-anchor="end" {FONT}>'
                   f"{escape(yfmt(t))}</text>")
    out.append(f'<text x="{coord((x.lo_px + x.hi_px) / 2)}" y="{height - 4}" text-anchor="middle" {FONT}>'
               f"{escape(xlabel)}</text>")
    out.append(f'<text x="12" y="{coord((y.lo_px + y.hi_px) / 2)}" text-anchor="middle" {FONT} '
               f'transform="rotate(-90 12 {coord((y.lo_px + y.hi_px) / 2)})">{escape(ylabel)}</text>')
    return out


def lines(series: Sequence[tuple[str, Sequence[tuple[float, float]]]], title: str, xlabel: str, ylabel: str,
          fmt: Callable[[float], str], width: int = 640, height: int = 300) -> str:
    """Line chart of named (x, y) series on linear axes."""
    xs = [p[0] for _, pts in series for p in pts] or [0.0]
    ys = [p[1] for _, pts in series for p in pts] or [0.0]
    x = Axis(xs, 60, width - 20, log=False)
    y = Axis(ys, height - 40, 30, log=False)
    body = frame(x, y, width, height, xlabel, ylabel, fmt)
    for i, (name, pts) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{coord(x(a))},{coord(y(b))}" for a, b in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body.append(f'<text x="{width - 24}" y="{44 + 14 * i}" text-anchor="end" fill="{colour}" {FONT}>'
                    f"{escape(name)}</text>")
    return document(width, height, body, title)


def scatter(points: Sequence[tuple[str, float, float]], title: str, xlabel: str, ylabel: str,
            fmt: Callable[[float], str], width: int = 640, height: int = 360) -> str:
    """Labelled points; an axis turns logarithmic when its values span more than two decades."""
    x = Axis([p[1] for p in points], 70, width - 30)
    y = Axis([p[2] for p in points], height - 40, 30)
    body = frame(x, y, width, height, xlabel + (" (log)" if x.log else ""), ylabel + (" (log)" if y.log else ""),
                  fmt)
    for i, (label, a, b) in enumerate(points):
        colour = PALETTE[i % len(PALETTE)]
        body.append(f'<circle cx="{coord(x(a))}" cy="{coord(y(b))}" r="5" fill="{colour}">'
                    f"<title>{escape(label)}: {escape(fmt(a))}, {escape(fmt(b))}</title></circle>"
                    f'<text x="{coord(x(a) + 7)}" y="{coord(y(b) - 6)}" {FONT}>{escape(label)}</text>')
    return document(width, height, body, title)
