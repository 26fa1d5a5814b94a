"""Study charts as inline SVG (no plotting library), drawn on the analysis engine's axes and frames:
optimisation history, Pareto front and learning curves."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from analysis.formats import count
from analysis.svg import FONT, PALETTE, Axis, coord, document, fitted, frame
from search.config import OBJECTIVES
from search.records import State, TrialRecord, best_so_far, pareto_front

GREY = "#b8b8b8"


def _pct(v: float) -> str:
    return f"{100 * v:.4g} %"


def _dot(x: float, y: float, colour: str, tip: str, r: int = 4) -> str:
    return f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{r}" fill="{colour}"><title>{escape(tip)}</title></circle>'


def _legend(width: int, items: Sequence[tuple[str, str]]) -> list[str]:
    return [f'<text x="{width - 24}" y="{44 + 14 * i}" text-anchor="end" fill="{c}" {FONT}>{escape(t)}</text>'
            for i, (t, c) in enumerate(items)]


def history(records: Sequence[TrialRecord], width: int = 640, height: int = 300) -> str:
    """Accuracy of each trained trial by trial number, with the best so far as a step line."""
    done = sorted((r for r in records if r.accuracy is not None and r.state in (State.COMPLETE, State.PRUNED)),
                  key=lambda r: r.number)
    x = Axis([float(r.number) for r in done] or [0.0], 60, width - 20, log=False)
    y = fitted([r.accuracy for r in done] or [0.0], height - 40, 30)
    body = frame(x, y, width, height, "trial", "validation accuracy", lambda v: f"{v:g}")
    for r in done:
        colour = PALETTE[0] if r.state == State.COMPLETE else GREY
        body.append(_dot(x(r.number), y(r.accuracy), colour, f"trial {r.number} ({r.state}): {_pct(r.accuracy)}"))
    steps = best_so_far(list(records))
    if steps:
        pts = " ".join(f"{coord(x(a))},{coord(y(b))}" for a, b in steps)
        body.append(f'<polyline points="{pts}" fill="none" stroke="{PALETTE[1]}" stroke-width="2"/>')
    body += _legend(width, [("complete", PALETTE[0]), ("pruned (last epoch)", GREY), ("best so far", PALETTE[1])])
    return document(width, height, body, "Optimisation history")


def pareto(records: Sequence[TrialRecord], objectives: list[str], cost: str, width: int = 640,
           height: int = 360) -> str:
    """Accuracy against one cost objective: every complete trial, the front highlighted and joined."""
    done = [r for r in records if r.state == State.COMPLETE]
    front = {r.number for r in pareto_front(done, objectives)}
    x = Axis([float(r.values[cost]) for r in done] or [1.0], 70, width - 30)
    y = fitted([r.values["accuracy"] for r in done] or [0.0], height - 40, 30)
    unit = " (ms)" if cost == "latency" else ""
    body = frame(x, y, width, height, cost + unit + (" (log)" if x.log else ""), "validation accuracy",
                  lambda v: count(v) if v >= 1000 else f"{v:.3g}")
    line = sorted((r for r in done if r.number in front), key=lambda r: r.values[cost])
    if line:
        pts = " ".join(f"{coord(x(r.values[cost]))},{coord(y(r.values['accuracy']))}" for r in line)
        body.append(f'<polyline points="{pts}" fill="none" stroke="{PALETTE[3]}" stroke-width="1.5"/>')
    for r in done:
        on = r.number in front
        tip = f"trial {r.number}: {_pct(r.values['accuracy'])}, {cost} {r.values[cost]:,.4g}"
        body.append(_dot(x(r.values[cost]), y(r.values["accuracy"]), PALETTE[3] if on else GREY, tip, 5 if on else 4))
        if on:
            body.append(f'<text x="{coord(x(r.values[cost]) + 7)}" y="{coord(y(r.values["accuracy"]) - 6)}" {FONT}>'
                        f"#{r.number}</text>")
    body += _legend(width, [("Pareto front", PALETTE[3]), ("other trials", GREY)])
    return document(width, height, body, f"Pareto front: accuracy vs {cost} ({OBJECTIVES[cost][1]})")


def curves(records: Sequence[TrialRecord], highlight: Sequence[int], width: int = 640, height: int = 300) -> str:
    """Validation accuracy per epoch of every trained trial; the highlighted ones coloured and named."""
    trained = [r for r in records if r.curve]
    pts = [(float(row["epoch"]), float(row["val_acc"])) for r in trained for row in r.curve]
    x = fitted([p[0] for p in pts] or [1.0], 60, width - 20)
    y = fitted([p[1] for p in pts] or [0.0], height - 40, 30)
    body = frame(x, y, width, height, "epoch", "validation accuracy", lambda v: f"{v:g}")
    colours = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(highlight)}
    for r in sorted(trained, key=lambda r: r.number in colours):
        colour = colours.get(r.number, GREY)
        line = " ".join(f"{coord(x(row['epoch']))},{coord(y(row['val_acc']))}" for row in r.curve)
        body.append(f'<polyline points="{line}" fill="none" stroke="{colour}" '
                    f'stroke-width="{2 if r.number in colours else 1}"><title>trial {r.number} ({r.state})</title>'
                    "</polyline>")
    body += _legend(width, [(f"trial {n}", c) for n, c in colours.items()])
    return document(width, height, body, "Learning curves (validation accuracy per epoch)")
