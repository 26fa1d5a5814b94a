"""Charts of the comparative report as inline SVG, computed from the records once and drawn here.

Public building blocks (the study report and the GUI use them too): ``stage_table`` / ``stage_bars``
(cost per resolution, networks aligned), ``rf_points`` / ``rf_chart`` (receptive field against depth
and cumulative MACs), ``pareto_chart``, ``curves_chart`` and ``diagram``. Legends sit in a column right
of the plot area, so they never cover data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from analysis.formats import count, nbytes, shape_text
from analysis.records import Report
from analysis.svg import FONT, PALETTE, Axis, coord, document, frame
from arch.dims import dims

LEGEND_W = 230  # the legend column right of every plot area
METRICS: dict[str, tuple[str, Callable[[float], str]]] = {
    "macs": ("MACs", count), "params": ("parameters", count), "activation_bytes": ("activation memory", nbytes)}


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _legend(x: float, items: Sequence[tuple[str, str, str]]) -> list[str]:
    """(label, colour, style) rows from the top; style: "line", "dash", "dot" or "box"."""
    out = []
    for i, (label, c, style) in enumerate(items):
        y = 40 + 16 * i
        if style == "dot":
            mark = f'<circle cx="{coord(x + 8)}" cy="{y - 4}" r="4" fill="{c}"/>'
        elif style == "box":
            mark = f'<rect x="{coord(x)}" y="{y - 9}" width="14" height="10" fill="{c}"/>'
        else:
            dash = ' stroke-dasharray="5 3"' if style == "dash" else ""
            mark = (f'<line x1="{coord(x)}" x2="{coord(x + 16)}" y1="{y - 4}" y2="{y - 4}" stroke="{c}" '
                    f'stroke-width="2"{dash}/>')
        short = label if len(label) <= 32 else label[:31] + "…"
        out.append(f'{mark}<text x="{coord(x + 22)}" y="{y}" {FONT}><title>{escape(label)}</title>'
                   f"{escape(short)}</text>")
    return out


# --------------------------------------------------------------------------------------- stages
@dataclass(frozen=True)
class StageCost:
    """The top-level blocks of one network whose output has one resolution (or the flat head)."""

    resolution: str          # "56x56" or "flat"
    pixels: int              # H*W (0 for flat), for ordering
    blocks: tuple[str, ...]
    params: int
    macs: int
    activation_bytes: int


def stage_costs(r: Report) -> list[StageCost]:
    """Top-level blocks grouped by output resolution (the input's own block included), largest first."""
    groups: dict[str, list] = {}
    for b in (b for b in r.blocks if b.parent is None):
        key = dims(b.out_shape[1:]) if len(b.out_shape) == 3 else "flat"
        groups.setdefault(key, []).append(b)
    out = [StageCost(k, bs[0].out_shape[1] * bs[0].out_shape[2] if k != "flat" else 0, tuple(b.path for b in bs),
                     sum(b.params for b in bs), sum(b.macs for b in bs), sum(b.activation_bytes for b in bs))
           for k, bs in groups.items()]
    return sorted(out, key=lambda s: -s.pixels)


def resolutions(reports: Sequence[Report]) -> list[str]:
    """Every resolution any network reaches, largest first, "flat" last: the shared axis of the stage bars."""
    seen: dict[str, int] = {}
    for r in reports:
        for s in stage_costs(r):
            seen[s.resolution] = s.pixels
    return sorted(seen, key=lambda k: -seen[k])


def stage_table(reports: Sequence[Report], metric: str) -> list[list[int | None]]:
    """Rows per resolution, one value per network (None where a network has no block at that size)."""
    costs = [{s.resolution: getattr(s, metric) for s in stage_costs(r)} for r in reports]
    return [[c.get(res) for c in costs] for res in resolutions(reports)]


def stage_bars(reports: Sequence[Report], metric: str, width: int = 900, height: int = 300) -> str:
    """Grouped vertical bars: per resolution, one bar per network."""
    title, fmt = METRICS[metric]
    cats = resolutions(reports)
    table = stage_table(reports, metric)
    left, right, top, bottom = 70, width - LEGEND_W, 30, height - 46
    y = Axis([float(v or 0) for row in table for v in row] or [1.0], bottom, top, log=False)
    body = [f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#999"/>']
    for t in y.ticks():
        body.append(f'<line x1="{left}" x2="{right}" y1="{coord(y(t))}" y2="{coord(y(t))}" stroke="#eee"/>'
                    f'<text x="{left - 4}" y="{coord(y(t) + 4)}" text-anchor="end" {FONT}>{escape(fmt(t))}</text>')
    slot = (right - left) / max(len(cats), 1)
    bar = slot * 0.8 / max(len(reports), 1)
    for c, (res, row) in enumerate(zip(cats, table)):
        x0 = left + c * slot + slot * 0.1
        for i, v in enumerate(row):
            if v is None:
                continue
            h = y(0) - y(v)
            body.append(f'<rect x="{coord(x0 + i * bar)}" y="{coord(y(v))}" width="{coord(bar - 1)}" '
                        f'height="{coord(h)}" '
                        f'fill="{colour(i)}"><title>{escape(reports[i].name)}, {res}: {escape(fmt(v))}</title></rect>')
        body.append(f'<text x="{coord(left + (c + 0.5) * slot)}" y="{bottom + 14}" text-anchor="middle" {FONT}>'
                    f"{escape(res)}</text>")
    body.append(f'<text x="{(left + right) / 2}" y="{height - 6}" text-anchor="middle" {FONT}>'
                "output resolution of the stage (pixels, largest first)</text>")
    unit = " (bytes, batch 1)" if metric == "activation_bytes" else ""
    body.append(f'<text x="12" y="{(top + bottom) / 2}" text-anchor="middle" {FONT} '
                f'transform="rotate(-90 12 {(top + bottom) / 2})">{escape(title + unit)}</text>')
    body += _legend(right + 12, [(r.name, colour(i), "box") for i, r in enumerate(reports)])
    return document(width, height, body, f"{title[0].upper()}{title[1:]} per stage, aligned by resolution")


def top_layers(r: Report, k: int = 10) -> list:
    """The ``k`` layers with the most MACs (ties: more parameters first), most expensive first."""
    return sorted(r.layers, key=lambda x: (-x.macs, -x.params, x.name))[:k]


# ------------------------------------------------------------------------------- receptive field
@dataclass(frozen=True)
class RFPoint:
    """The field at the output of one innermost block: after ``depth`` layers and ``cum_macs`` MACs."""

    block: str
    depth: int
    cum_macs: int
    size: tuple[float, float]
    jump: tuple[float, float]


def rf_points(r: Report) -> list[RFPoint]:
    """One point per innermost block with a spatial output whose field does not yet cover the whole input.
    Blocks rather than layers: inside a multi-path block the layers of a short branch would make dips."""
    parents = {b.parent for b in r.blocks}
    last_layer: dict[str, int] = {}
    cum: list[int] = []
    total = 0
    for i, x in enumerate(r.layers):
        total += x.macs
        cum.append(total)
        if x.block:
            last_layer[x.block] = i
    out = []
    for b in r.blocks:
        if b.path in parents or b.path not in last_layer or len(b.out_shape) != 3 or b.rf_whole_input:
            continue
        i = last_layer[b.path]
        out.append(RFPoint(b.path, i + 1, cum[i], b.rf_size, b.rf_jump))
    return out


def _series_chart(series: Sequence[tuple[str, str, str, Sequence[tuple[float, float]]]], title: str, xlabel: str,
                  ylabel: str, xfmt: Callable[[float], str], hlines: Sequence[tuple[str, float, str]] = (),
                  marks: Sequence[tuple[str, float, float, str]] = (), width: int = 900, height: int = 340,
                  xlog: bool = False, yfmt: Callable[[float], str] | None = None, tight: Sequence[float] = (),
                  dots: bool = False, ylog: bool = False) -> str:
    """Lines (label, colour, style, points) with labelled horizontal reference lines and marked points;
    ``tight``: fit the y axis to these values; ``dots``: a dot on every point (a one-epoch run shows)."""
    xs = [p[0] for *_, pts in series for p in pts] + [m[1] for m in marks] or [1.0]
    ys = [p[1] for *_, pts in series for p in pts] + [h[1] for h in hlines] + [m[2] for m in marks] or [1.0]
    x = Axis(xs, 70, width - LEGEND_W, log=xlog if all(v > 0 for v in xs) else False)
    y = Axis(ys, height - 40, 30, log=ylog if all(v > 0 for v in ys) else False)
    if tight:
        _tight(y, tight, 0.1)
    body = frame(x, y, width, height, xlabel + (" (log)" if x.log else ""), ylabel + (" (log)" if y.log else ""),
                  xfmt, yfmt)
    legend = []
    for label, value, c in hlines:
        body.append(f'<line x1="{coord(x.lo_px)}" x2="{coord(x.hi_px)}" y1="{coord(y(value))}" y2="{coord(y(value))}" '
                    f'stroke="{c}" stroke-width="1.5" stroke-dasharray="2 3"/>')
        legend.append((label, c, "dash"))
    for label, c, style, pts in series:
        dash = ' stroke-dasharray="5 3"' if style == "dash" else ""
        path = " ".join(f"{coord(x(a))},{coord(y(b))}" for a, b in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        if dots:
            body += [f'<circle cx="{coord(x(a))}" cy="{coord(y(b))}" r="3" fill="{c}"><title>{escape(label)}: '
                     f"{escape(xfmt(a))}, {escape((yfmt or xfmt)(b))}</title></circle>" for a, b in pts]
        legend.append((label, c, style))
    for label, a, b, c in marks:
        body.append(f'<circle cx="{coord(x(a))}" cy="{coord(y(b))}" r="6" fill="none" stroke="{c}" stroke-width="2.5">'
                    f"<title>{escape(label)}</title></circle>")
        legend.append((label, c, "dot"))
    body += _legend(width - LEGEND_W + 16, legend)
    return document(width, height, body, title)


def rf_chart(reports: Sequence[Report], against: str, input_size: float | None = None,
             object_size: float | None = None, erf: Sequence[tuple[str, float, float, int]] = ()) -> str:
    """Receptive-field size (solid) and jump (dashed), height axis, against ``against`` ("depth" or "macs")
    for every network; the input and object sizes as reference lines; ``erf``: (network, depth or MACs,
    effective size, network index) circles."""
    series = []
    for i, r in enumerate(reports):
        pts = rf_points(r)
        key = (lambda p: float(p.depth)) if against == "depth" else (lambda p: float(p.cum_macs))
        series.append((f"{r.name}: size", colour(i), "line", [(key(p), float(p.size[0])) for p in pts]))
        series.append((f"{r.name}: jump", colour(i), "dash", [(key(p), float(p.jump[0])) for p in pts]))
    hlines = []
    if input_size:
        hlines.append((f"input size ({input_size:g} px)", "#444", float(input_size)))
    if object_size:
        hlines.append((f"object size ({object_size:g} px)", "#b8474b", float(object_size)))
    hl = [(label, v, c) for label, c, v in hlines]
    marks = [(f"{name}: effective RF (90 % mass)", a, b, colour(i)) for name, a, b, i in erf]
    if against == "depth":
        return _series_chart(series, "Receptive field and jump vs depth", "depth (layers)", "pixels (height axis)",
                             lambda v: f"{v:g}", hl, marks, ylog=True)
    return _series_chart(series, "Receptive field and jump vs cumulative MACs", "cumulative MACs",
                         "pixels (height axis)", count, hl, marks, xlog=True, yfmt=lambda v: f"{v:g}", ylog=True)


# ------------------------------------------------------------------------------ accuracy charts
def pareto_front(points: Sequence[tuple[str, float, float]]) -> list[str]:
    """Names of the points (name, cost, accuracy) no other point beats on both (lower cost, higher accuracy)."""
    return [n for n, c, a in points
            if not any((c2 <= c and a2 >= a) and (c2 < c or a2 > a) for _, c2, a2 in points)]


def pct_tick(v: float) -> str:
    return f"{100 * v:.3g} %"


def _tight(axis: Axis, values: Sequence[float], share: float = 0.15) -> Axis:
    """Fit a linear axis to the data (accuracies would crowd the top of an axis from zero)."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * share or 0.01
    axis.lo, axis.hi = lo - pad, hi + pad
    return axis


def pareto_chart(points: Sequence[tuple[str, float, float, int]], cost: str, fmt: Callable[[float], str],
                 width: int = 440, height: int = 300) -> str:
    """Accuracy (mean over seeds) against one cost; the front joined; the legend under the plot area.
    Points: (name, cost, accuracy, network index)."""
    front = set(pareto_front([(n, c, a) for n, c, a, _ in points]))
    bottom = height - 40
    full = height + 12 + 16 * len(points)
    x = Axis([p[1] for p in points] or [1.0], 70, width - 20)
    y = _tight(Axis([p[2] for p in points] or [0.0], bottom, 30, log=False), [p[2] for p in points] or [0.0])
    body = frame(x, y, width, height, cost + (" (log)" if x.log else ""), "validation accuracy", fmt, pct_tick)
    line = sorted((p for p in points if p[0] in front), key=lambda p: p[1])
    if len(line) > 1:
        pts = " ".join(f"{coord(x(c))},{coord(y(a))}" for _, c, a, _ in line)
        body.append(f'<polyline points="{pts}" fill="none" stroke="#888" stroke-width="1.5" stroke-dasharray="4 3"/>')
    for k, (name, c, a, i) in enumerate(points):
        on = "on the front" if name in front else "dominated"
        body.append(f'<circle cx="{coord(x(c))}" cy="{coord(y(a))}" r="6" fill="{colour(i)}">'
                    f"<title>{escape(name)}: {escape(fmt(c))}, {100 * a:.2f} % ({on})</title></circle>")
        body.append(f'<circle cx="78" cy="{height + 14 + 16 * k}" r="5" fill="{colour(i)}"/>'
                    f'<text x="90" y="{height + 18 + 16 * k}" {FONT}>{escape(name)} ({on})</text>')
    return document(width, full, body, f"Accuracy vs {cost}")


def curves_chart(series: Sequence[tuple[str, int, Sequence[tuple[float, float]]]], width: int = 900,
                 height: int = 320) -> str:
    """Validation accuracy per epoch: (run label, network index, points); a network's runs share a colour,
    its first run solid, the others dashed; every epoch a dot."""
    seen: set[int] = set()
    styled = []
    for label, i, pts in series:
        styled.append((label, colour(i), "dash" if i in seen else "line", pts))
        seen.add(i)
    accs = [p[1] for *_, pts in series for p in pts]
    return _series_chart(styled, "Validation accuracy per epoch", "epoch", "validation accuracy",
                         lambda v: f"{v:g}", width=width, height=height, yfmt=pct_tick, tight=accs, dots=True)


# ------------------------------------------------------------------------------------ diagram
def diagram(r: Report, width: int = 250) -> str:
    """The network as a column of its top-level blocks (stage repeats listed inside), each with its
    output shape, parameters and MACs: the designer's boxes, drawn without Qt."""
    fill = {"conv": "#e8f0fe", "pool": "#e6f4ea", "global_pool": "#e6f4ea", "stage": "#f4f5f7",
            "linear": "#fce8e6", "classifier": "#fce8e6", "flatten": "#fce8e6"}
    body, y = [], 30
    children: dict[str, int] = {}
    for b in r.blocks:
        if b.parent is not None:
            children[b.parent] = children.get(b.parent, 0) + 1
    body.append(f'<text x="{width / 2}" y="{y + 10}" text-anchor="middle" {FONT}>input {shape_text(r.input_shape)}'
                "</text>")
    y += 18
    for b in (b for b in r.blocks if b.parent is None):
        name = b.label or b.summary or b.family
        extra = f" ×{children[b.path]}" if b.path in children else ""
        h = 38
        body.append(f'<line x1="{width / 2}" x2="{width / 2}" y1="{y}" y2="{y + 8}" stroke="#9aa0a6"/>')
        y += 8
        body.append(f'<rect x="10" y="{y}" width="{width - 20}" height="{h}" rx="4" '
                    f'fill="{fill.get(b.family, "#fef7e0")}" '
                    f'stroke="#9aa0a6"><title>{escape(b.path)}: {escape(b.summary)}</title></rect>')
        short = (name + extra) if len(name + extra) <= 34 else (name + extra)[:33] + "…"
        body.append(f'<text x="18" y="{y + 15}" {FONT} font-weight="bold">{escape(short)}</text>')
        body.append(f'<text x="18" y="{y + 30}" {FONT} fill="#555">{escape(shape_text(b.out_shape))} · '
                    f"{escape(count(b.params))} params · {escape(count(b.macs))} MACs</text>")
        y += h
    return document(width, y + 10, body, r.name)


def overview_charts(reports: Sequence[Report]) -> list[tuple[str, str]]:
    """(title, SVG) of where the cost is and how the receptive field grows: what the study report shows for its
    best trials, built by the same functions as the comparative report."""
    size = max((r.input_shape[1] for r in reports if len(r.input_shape) == 3), default=None)
    return [("MACs per stage", stage_bars(reports, "macs")),
            ("Receptive field and jump vs depth", rf_chart(reports, "depth", size))]
