"""optuna-dashboard's study views as inline SVG for the report: parallel coordinates, slices, a contour
over the two most important parameters, intermediate values. The ``selected`` trial (the best, in the
report) is drawn in orange in every chart; duplicates are hollow circles / dashed lines, named as such."""

from __future__ import annotations

from html import escape

from analysis.svg import FONT, PALETTE, coord, document
from search import explore
from search.records import State, StudyView, TrialRecord

SELECTED = PALETTE[1]
GREY = "#b8b8b8"


def _shade(t: float) -> str:
    """Accuracy colour: pale (worst shown) to dark blue (best shown)."""
    t = max(0.0, min(1.0, t))
    lo, hi = (222, 235, 247), (8, 48, 107)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(lo, hi))


def _scale(records: list[TrialRecord]) -> tuple[float, float]:
    accs = [r.accuracy for r in records]
    return (min(accs), max(accs)) if accs else (0.0, 1.0)


def _norm(v: float, lo: float, hi: float) -> float:
    return 0.5 if hi <= lo else (v - lo) / (hi - lo)


def _tip(r: TrialRecord) -> str:
    extra = f", duplicate of #{r.duplicate_of}" if r.duplicate_of is not None else ""
    return f"trial {r.number} ({r.state}{extra}): {100 * r.accuracy:.2f} %"


def _dot(x: float, y: float, r: TrialRecord, colour: str, selected: int | None) -> str:
    if r.number == selected:
        return (f'<circle cx="{coord(x)}" cy="{coord(y)}" r="6" fill="{SELECTED}" stroke="#000" stroke-width="1">'
                f"<title>{escape(_tip(r))} (selected)</title></circle>")
    if r.state == State.DUPLICATE:
        return (f'<circle cx="{coord(x)}" cy="{coord(y)}" r="4" fill="none" stroke="{colour}" stroke-width="1.5">'
                f"<title>{escape(_tip(r))}</title></circle>")
    fill = GREY if r.state == State.PRUNED else colour
    return f'<circle cx="{coord(x)}" cy="{coord(y)}" r="4" fill="{fill}"><title>{escape(_tip(r))}</title></circle>'


def _legend(x: float, y: float) -> list[str]:
    items = [("selected", SELECTED, "dot"), ("pruned", GREY, "dot"), ("duplicate", PALETTE[0], "ring")]
    out = []
    for i, (text, colour, kind) in enumerate(items):
        cx = x + 90 * i
        fill = "none" if kind == "ring" else colour
        out.append(f'<circle cx="{coord(cx)}" cy="{coord(y)}" r="4" fill="{fill}" stroke="{colour}"/>'
                   f'<text x="{coord(cx + 8)}" y="{coord(y + 4)}" {FONT}>{text}</text>')
    return out


def parallel(view: StudyView, selected: int | None, width: int = 860, height: int = 340) -> str:
    """One vertical axis per parameter plus accuracy; a polyline per trained trial, coloured by accuracy."""
    axes = explore.axes(view)
    recs = explore.points(view.records)
    lo, hi = _scale(recs)
    n = len(axes) + 1
    left, right, top, bottom = 40, width - 60, 40, height - 50
    xs = [left + (right - left) * i / max(1, n - 1) for i in range(n)]
    body: list[str] = []

    def y(p: float) -> float:
        return bottom - p * (bottom - top)

    for r in sorted(recs, key=lambda r: (r.number == selected, r.accuracy)):
        pts = []
        for ax, x in zip(axes, xs):
            p = ax.position(r.params.get(ax.name)) if ax.name in r.params else None
            if p is not None:
                pts.append(f"{coord(x)},{coord(y(p))}")
        pts.append(f"{coord(xs[-1])},{coord(y(_norm(r.accuracy, lo, hi)))}")
        on = r.number == selected
        colour = SELECTED if on else GREY if r.state == State.PRUNED else _shade(_norm(r.accuracy, lo, hi))
        dash = ' stroke-dasharray="4 3"' if r.state == State.DUPLICATE else ""
        body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" '
                    f'stroke-width="{3 if on else 1.2}"{dash}><title>{escape(_tip(r))}</title></polyline>')
    for ax, x in zip(axes, xs):
        body.append(f'<line x1="{coord(x)}" y1="{top}" x2="{coord(x)}" y2="{bottom}" stroke="#444"/>')
        body.append(f'<text x="{coord(x)}" y="{bottom + 16}" text-anchor="middle" {FONT}>{escape(ax.name)}</text>')
        ticks = ax.categories if ax.categories is not None else [ax.low, ax.high]
        for v in ticks:
            p = ax.position(v)
            if p is not None:
                body.append(f'<text x="{coord(x + 4)}" y="{coord(y(p) + 4)}" {FONT} fill="#555">'
                            f"{escape(ax.label(v))}</text>")
    body.append(f'<line x1="{coord(xs[-1])}" y1="{top}" x2="{coord(xs[-1])}" y2="{bottom}" stroke="#444"/>')
    body.append(f'<text x="{coord(xs[-1])}" y="{bottom + 16}" text-anchor="middle" {FONT}>accuracy</text>')
    for v in (lo, hi):
        body.append(f'<text x="{coord(xs[-1] + 4)}" y="{coord(y(_norm(v, lo, hi)) + 4)}" {FONT}>{100 * v:.2f} %</text>')
    body += _legend(left, height - 14)
    return document(width, height, body, "Parallel coordinates (one line per trained trial)")


def slices(view: StudyView, selected: int | None, width: int = 860, cell: int = 200) -> str:
    """Accuracy against each parameter, one small panel per parameter."""
    axes = explore.axes(view)
    recs = explore.points(view.records)
    lo, hi = _scale(recs)
    cols = max(1, min(4, len(axes)))
    rows = (len(axes) + cols - 1) // cols
    pw = width / cols
    height = rows * cell + 40
    body: list[str] = []
    for k, ax in enumerate(axes):
        ox, oy = (k % cols) * pw, 30 + (k // cols) * cell
        x0, x1, t, b = ox + 40, ox + pw - 12, oy + 10, oy + cell - 40
        body.append(f'<rect x="{coord(x0)}" y="{coord(t)}" width="{coord(x1 - x0)}" height="{coord(b - t)}" '
                    'fill="none" stroke="#ccc"/>')
        body.append(f'<text x="{coord((x0 + x1) / 2)}" y="{coord(b + 28)}" text-anchor="middle" {FONT}>'
                    f"{escape(ax.name)}</text>")
        for v in ax.categories if ax.categories is not None else [ax.low, ax.high]:
            p = ax.position(v)
            if p is not None:
                body.append(f'<text x="{coord(x0 + p * (x1 - x0))}" y="{coord(b + 13)}" text-anchor="middle" {FONT} '
                            f'fill="#555">{escape(ax.label(v))}</text>')
        for v in (lo, hi):
            body.append(f'<text x="{coord(x0 - 3)}" y="{coord(b - _norm(v, lo, hi) * (b - t) + 4)}" text-anchor="end" '
                        f'{FONT} fill="#555">{100 * v:.1f}</text>')
        for rec in sorted(recs, key=lambda r: r.number == selected):
            if ax.name not in rec.params:
                continue
            p = ax.position(rec.params[ax.name])
            if p is None:
                continue
            body.append(_dot(x0 + p * (x1 - x0), b - _norm(rec.accuracy, lo, hi) * (b - t), rec,
                             _shade(_norm(rec.accuracy, lo, hi)), selected))
    return document(width, height, body, "Slices: accuracy against each parameter")


def contour(view: StudyView, selected: int | None, names: tuple[str, str], width: int = 520,
            height: int = 440) -> str:
    """Interpolated accuracy over two parameters, trained trials on top."""
    by_name = {a.name: a for a in explore.axes(view)}
    c = explore.contour(view, by_name[names[0]], by_name[names[1]])
    title = f"Contour: accuracy over {names[0]} and {names[1]}"
    body: list[str] = []
    if c is None:
        return document(width, height, [f'<text x="20" y="60" {FONT}>too few trials sampled both</text>'], title)
    x0, x1, t, b = 60, width - 20, 30, height - 60
    n = len(c.grid)
    flat = [v for row in c.grid for v in row]
    lo, hi = min(flat), max(flat)
    cw, ch = (x1 - x0) / n, (b - t) / n
    for j, row in enumerate(c.grid):
        for i, v in enumerate(row):
            body.append(f'<rect x="{coord(x0 + i * cw)}" y="{coord(b - (j + 1) * ch)}" width="{coord(cw + 0.5)}" '
                        f'height="{coord(ch + 0.5)}" fill="{_shade(_norm(v, lo, hi))}"/>')
    for px, py, rec in sorted(c.dots, key=lambda d: d[2].number == selected):
        x, y = x0 + cw / 2 + px * (x1 - x0 - cw), b - ch / 2 - py * (b - t - ch)
        body.append(_dot(x, y, rec, "#ffffff", selected) if rec.number == selected else
                    f'<circle cx="{coord(x)}" cy="{coord(y)}" r="3.5" fill="#fff" stroke="#000">'
                    f"<title>{escape(_tip(rec))}</title></circle>")
    for ax, horizontal in ((c.x, True), (c.y, False)):
        for v in ax.categories if ax.categories is not None else [ax.low, ax.high]:
            p = ax.position(v)
            if p is None:
                continue
            if horizontal:
                body.append(f'<text x="{coord(x0 + cw / 2 + p * (x1 - x0 - cw))}" y="{b + 14}" text-anchor="middle" '
                            f'{FONT}>{escape(ax.label(v))}</text>')
            else:
                body.append(f'<text x="{x0 - 4}" y="{coord(b - ch / 2 - p * (b - t - ch) + 4)}" text-anchor="end" '
                            f'{FONT}>{escape(ax.label(v))}</text>')
    body.append(f'<text x="{(x0 + x1) / 2}" y="{b + 32}" text-anchor="middle" {FONT}>{escape(c.x.name)}</text>')
    body.append(f'<text x="14" y="{(t + b) / 2}" text-anchor="middle" {FONT} transform="rotate(-90 14 '
                f'{(t + b) / 2})">{escape(c.y.name)}</text>')
    body.append(f'<text x="{x0}" y="{height - 8}" {FONT}>colour: interpolated accuracy {100 * lo:.2f} % (pale) to '
                f"{100 * hi:.2f} % (dark); dots: trials</text>")
    return document(width, height, body, title)


def intermediate(view: StudyView, selected: int | None, width: int = 640, height: int = 300) -> str:
    """Validation accuracy per epoch of every trained trial (what the pruner saw); pruned ones grey."""
    series = explore.intermediate(view.records)
    pts = [p for _, s in series for p in s]
    if not pts:
        return document(width, height, [f'<text x="20" y="40" {FONT}>no epoch finished yet</text>'],
                        "Intermediate values")
    epochs = [p[0] for p in pts]
    accs = [p[1] for p in pts]
    e_lo, e_hi = min(epochs), max(max(epochs), min(epochs) + 1)
    a_lo, a_hi = min(accs), max(accs)
    x0, x1, t, b = 60, width - 20, 30, height - 40

    def xy(e: float, a: float) -> str:
        return f"{coord(x0 + (e - e_lo) / (e_hi - e_lo) * (x1 - x0))},{coord(b - _norm(a, a_lo, a_hi) * (b - t))}"

    body = [f'<rect x="{x0}" y="{t}" width="{x1 - x0}" height="{b - t}" fill="none" stroke="#ccc"/>']
    for e in range(e_lo, e_hi + 1):
        body.append(f'<text x="{coord(x0 + (e - e_lo) / (e_hi - e_lo) * (x1 - x0))}" y="{b + 14}" text-anchor="middle" '
                    f"{FONT}>{e}</text>")
    for v in (a_lo, a_hi):
        body.append(f'<text x="{x0 - 4}" y="{coord(b - _norm(v, a_lo, a_hi) * (b - t) + 4)}" text-anchor="end" '
                    f"{FONT}>{100 * v:.2f}</text>")
    body.append(f'<text x="{(x0 + x1) / 2}" y="{b + 30}" text-anchor="middle" {FONT}>epoch</text>')
    for rec, s in sorted(series, key=lambda x: x[0].number == selected):
        on = rec.number == selected
        colour = SELECTED if on else GREY if rec.state == State.PRUNED else PALETTE[0]
        body.append(f'<polyline points="{" ".join(xy(e, a) for e, a in s)}" fill="none" stroke="{colour}" '
                    f'stroke-width="{3 if on else 1}"><title>trial {rec.number} ({rec.state})</title></polyline>')
    return document(width, height, body, "Intermediate values (validation accuracy per epoch)")


def charts(view: StudyView, imp: dict[str, float]) -> list[tuple[str, str]]:
    """The dashboard charts of a report, the best trial selected."""
    if not explore.points(view.records):
        return []
    selected = explore.best_number(view)
    out = [("Parallel coordinates", parallel(view, selected)), ("Slices", slices(view, selected))]
    ranked = [k for k in imp if k in {a.name for a in explore.axes(view)}]
    if len(ranked) >= 2:
        out.append(("Contour of the two most important parameters", contour(view, selected, (ranked[0], ranked[1]))))
    out.append(("Intermediate values", intermediate(view, selected)))
    return out
