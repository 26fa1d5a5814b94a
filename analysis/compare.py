"""Side-by-side comparison of several analysed networks: totals, stages, receptive fields, lints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analysis.formats import grid
from analysis.records import CONVENTION, Report
from analysis.units import count, hw, nbytes, rf_text
from arch.dims import dims


@dataclass(frozen=True)
class Stage:
    """Consecutive top-level blocks that output the same spatial size (or the flat head)."""

    resolution: str
    blocks: str
    params: int
    macs: int
    rf: str


def stages(r: Report) -> list[Stage]:
    out: list[Stage] = []
    group: list = []

    def close() -> None:
        if group:
            first, last = group[0], group[-1]
            span = first.path if first is last else f"{first.path} .. {last.path}"
            res = hw(last.out_shape[1:]) if len(last.out_shape) == 3 else "flat"
            out.append(Stage(res, span, sum(b.params for b in group), sum(b.macs for b in group),
                             rf_text(last.rf_size, last.rf_whole_input)))
            group.clear()

    for b in (b for b in r.blocks if b.parent is None):
        key = b.out_shape[1:] if len(b.out_shape) == 3 else ()
        if group and (group[-1].out_shape[1:] if len(group[-1].out_shape) == 3 else ()) != key:
            close()
        group.append(b)
    close()
    return out


TOTALS: list[tuple[str, Callable[[Report], str]]] = [
    ("input", lambda r: dims(r.input_shape)),
    ("params", lambda r: f"{r.totals.params:,}"),
    ("trainable params", lambda r: f"{r.totals.trainable_params:,}"),
    ("MACs", lambda r: f"{count(r.totals.macs)} ({r.totals.macs:,})"),
    ("FLOPs", lambda r: count(r.totals.flops)),
    ("activations, training", lambda r: nbytes(r.totals.activation_bytes_train)),
    ("peak activations, inference", lambda r: nbytes(r.totals.peak_activation_bytes_inference)),
    ("receptive field", lambda r: f"{hw(r.receptive_field.size)} (jump {hw(r.receptive_field.jump)})"),
    ("RF layer", lambda r: r.receptive_field.layer),
    ("unknown ops", lambda r: str(len(r.totals.unknown_ops))),
    ("lints", lambda r: str(len(r.lints))),
]


def totals_rows(reports: Sequence[Report]) -> list[list[str]]:
    return [[label] + [get(r) for r in reports] for label, get in TOTALS]


def stage_rows(reports: Sequence[Report]) -> list[list[str]]:
    per = [stages(r) for r in reports]
    rows = []
    for i in range(max((len(s) for s in per), default=0)):
        cells = [f"{s[i].resolution}: {count(s[i].params)} params, {count(s[i].macs)} MACs, RF {s[i].rf}"
                 if i < len(s) else "" for s in per]
        rows.append([f"stage {i + 1}"] + cells)
    return rows


def _names(reports: Sequence[Report]) -> list[str]:
    return [r.name for r in reports]


def text(reports: Sequence[Report]) -> str:
    head = [""] + _names(reports)
    out = [f"Convention: {CONVENTION}", ""] + grid(head, totals_rows(reports), set())
    out += [""] + grid(head, stage_rows(reports), set())
    for r in reports:
        out += ["", f"{r.name}: {len(r.lints)} lint(s)"] + [f"  {x.block} {x.code}: {x.message}" for x in r.lints]
    return "\n".join(out) + "\n"
