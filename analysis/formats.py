"""Text renderings of a Report: a terminal table, JSON, CSV and Markdown. All read the same records."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from analysis import columns
from analysis.records import CONVENTION, Report
from analysis.units import count, hw, nbytes, shape_text


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
        f"Params {t.params:,} (trainable {t.trainable_params:,}, frozen {t.frozen_params:,}"
        f"{f' by freeze {r.freeze}' if r.freeze else ''}; buffers {t.buffers:,})",
        f"MACs {ge}{t.macs:,} ({count(t.macs)}), FLOPs {ge}{t.flops:,} ({count(t.flops)})",
        f"Activations kept for backward (training) {ge}{nbytes(t.activation_bytes_train)}; peak live in inference "
        f"{ge}{nbytes(t.peak_activation_bytes_inference)}",
        f"Receptive field at {rf.layer}: size {ge}{hw(rf.size)}, jump {hw(rf.jump)}, offset {hw(rf.offset)}",
    ]
    if t.unknown_ops:
        lines.append(f"LOWER BOUNDS (≥): {len(t.unknown_ops)} op(s) could not be counted, so MACs, FLOPs, memory "
                     f"and the receptive field may be larger: {', '.join(t.unknown_ops)}")
    return lines


def grid(head: Sequence[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(head).rstrip(), line(["-" * w for w in widths])] + [line(row).rstrip() for row in rows]


def table(r: Report) -> str:
    cols = columns.shown(columns.LAYER_COLUMNS, "text")
    out = header_lines(r) + [""] + grid([c.title for c in cols], columns.rows(r.layers, cols, "compact"),
                                        columns.numeric(cols))
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
    cols = columns.shown(columns.LAYER_COLUMNS, "csv")
    writer.writerow([c.key for c in cols])
    writer.writerows(columns.rows(r.layers, cols, "raw"))
    return buf.getvalue()


def md_cell(text: object) -> str:
    """A value safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def md_table(head: Sequence[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]


def markdown(r: Report) -> str:
    lines = [f"# {md_cell(r.name)}", ""] + [f"- {md_cell(x)}" for x in header_lines(r)[1:]] + [""]
    for title, records, declared in (("Blocks", r.blocks, columns.BLOCK_COLUMNS),
                                     ("Layers", r.layers, columns.LAYER_COLUMNS)):
        cols = columns.shown(declared, "md")
        lines += [f"## {title}", ""] + md_table([c.title for c in cols], columns.rows(records, cols, "compact"))
        lines += [""]
    lines += ["## Lints", ""]
    lines += [f"- **{md_cell(lint.code)}** ({lint.severity}) `{md_cell(lint.block)}`: {md_cell(lint.message)}"
              + (f" Fix: {md_cell(lint.fix.description)}." if lint.fix else "") for lint in r.lints] or ["None."]
    lines += ["", "## Notes", ""] + [f"- {md_cell(n)}" for n in r.notes]
    return "\n".join(lines) + "\n"
