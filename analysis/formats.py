"""Text renderings of a Report: a terminal table, JSON, CSV and Markdown. All read the same records."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from analysis.records import CONVENTION, Report
from arch.graph import fmt_shape


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


def hw(pair: Sequence[float]) -> str:
    return "x".join(f"{v:g}" for v in pair)


def shape_text(shape: Sequence[int]) -> str:
    return fmt_shape(tuple(shape)) if shape else "-"


def rf_text(size: Sequence[float], whole: bool) -> str:
    return "global" if whole else hw(size)


def at_least(r: Report) -> str:
    """'≥ ' before a figure an uncounted op may make too small (records.LOWER_BOUND_FIGURES), else ''."""
    return "≥ " if r.totals.lower_bound else ""


def header_lines(r: Report) -> list[str]:
    """The facts every format opens with: what was analysed, how it was counted, the totals."""
    t = r.totals
    rf = r.receptive_field
    ge = at_least(r)
    lines = [
        f"{r.name}: input {shape_text(r.input_shape)}, batch {r.batch}, {r.dtype}",
        f"Convention: {CONVENTION}",
        f"Params {t.params:,} (trainable {t.trainable_params:,}, frozen {t.frozen_params:,}; buffers "
        f"{t.buffers:,})",
        f"MACs {ge}{t.macs:,} ({count(t.macs)}), FLOPs {ge}{t.flops:,} ({count(t.flops)})",
        f"Activations kept for backward (training) {ge}{nbytes(t.activation_bytes_train)}; peak live in inference "
        f"{ge}{nbytes(t.peak_activation_bytes_inference)}",
        f"Receptive field at {rf.layer}: size {ge}{hw(rf.size)}, jump {hw(rf.jump)}, offset {hw(rf.offset)}",
    ]
    if t.unknown_ops:
        lines.append(f"LOWER BOUNDS (≥): {len(t.unknown_ops)} op(s) could not be counted, so MACs, FLOPs, memory "
                     f"and the receptive field may be larger: {', '.join(t.unknown_ops)}")
    return lines


LAYER_COLUMNS = ("name", "block", "type", "in_shape", "out_shape", "params", "macs", "flops", "activation_bytes",
                 "rf_size", "rf_jump", "rf_offset", "counted")
NOT_COUNTED = "no: unknown op, totals are lower bounds"


def layer_rows(r: Report) -> list[list[str]]:
    return [[x.name, x.block, x.type, shape_text(x.in_shape), shape_text(x.out_shape), str(x.params), str(x.macs),
             str(x.flops), str(x.activation_bytes), rf_text(x.rf_size, x.rf_whole_input), hw(x.rf_jump),
             hw(x.rf_offset), NOT_COUNTED if x.type == "unknown" else "yes"] for x in r.layers]


def grid(head: Sequence[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(head).rstrip(), line(["-" * w for w in widths])] + [line(row).rstrip() for row in rows]


def table(r: Report) -> str:
    head = ["layer", "type", "output", "params", "MACs", "FLOPs", "memory", "RF", "jump"]
    rows = [[x.name, x.type, shape_text(x.out_shape), f"{x.params:,}", count(x.macs), count(x.flops),
             nbytes(x.activation_bytes), rf_text(x.rf_size, x.rf_whole_input), hw(x.rf_jump)] for x in r.layers]
    out = header_lines(r) + [""] + grid(head, rows, {3, 4, 5, 6})
    out += [""] + lint_lines(r) + [f"Note: {n}" for n in r.notes]
    return "\n".join(out) + "\n"


def lint_lines(r: Report) -> list[str]:
    if not r.lints:
        return ["No lints."]
    lines = [f"Lints ({len(r.lints)}):"]
    for lint in r.lints:
        fix = f"  [fix: {lint.fix.description}]" if lint.fix else ""
        lines.append(f"  {lint.severity:<7} {lint.block or '-'} {lint.code}: {lint.message}{fix}")
    return lines


def to_json(r: Report) -> str:
    return json.dumps(r.to_json(), indent=1) + "\n"


def to_csv(r: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LAYER_COLUMNS)
    writer.writerows(layer_rows(r))
    return buf.getvalue()


def md_cell(text: object) -> str:
    """A value safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def md_table(head: Sequence[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]


def markdown(r: Report) -> str:
    lines = [f"# {md_cell(r.name)}", ""] + [f"- {md_cell(x)}" for x in header_lines(r)[1:]] + [""]
    lines += ["## Blocks", ""]
    lines += md_table(["block", "summary", "output", "params", "MACs", "RF", "aligned"],
                      [[b.path, b.summary, shape_text(b.out_shape), f"{b.params:,}", count(b.macs),
                        rf_text(b.rf_size, b.rf_whole_input), "yes" if b.aligned else "no"] for b in r.blocks])
    lines += ["", "## Layers", ""]
    lines += md_table(["layer", "type", "input", "output", "params", "MACs", "FLOPs", "memory", "RF", "jump",
                       "offset"],
                      [[x.name, x.type, shape_text(x.in_shape), shape_text(x.out_shape), f"{x.params:,}",
                        count(x.macs), count(x.flops), nbytes(x.activation_bytes),
                        rf_text(x.rf_size, x.rf_whole_input), hw(x.rf_jump), hw(x.rf_offset)] for x in r.layers])
    lines += ["", "## Lints", ""]
    lines += [f"- **{md_cell(lint.code)}** ({lint.severity}) `{md_cell(lint.block)}`: {md_cell(lint.message)}"
              + (f" Fix: {md_cell(lint.fix.description)}." if lint.fix else "") for lint in r.lints] or ["None."]
    lines += ["", "## Notes", ""] + [f"- {md_cell(n)}" for n in r.notes]
    return "\n".join(lines) + "\n"
