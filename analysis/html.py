"""Self-contained HTML reports: one file, styles and SVG charts inline, every user string escaped."""

from __future__ import annotations

from collections.abc import Sequence, Set
from html import escape
from typing import Any

from analysis import columns, svg
from analysis.columns import Column, Style
from analysis.formats import count, header_lines
from analysis.records import CONVENTION, Report

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f0f0f0}
.warning{color:#9a4a00}.info{color:#2d5d8a}
.convention{font-size:12px;color:#555}
figure{margin:12px 0}
"""


def page(title: str, body: list[str], style: str = STYLE) -> str:
    """One self-contained HTML page (every report: analysis, comparison, study)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Set[int] = frozenset(), caption: str = "",
          numeric_head: bool = False) -> str:
    """A table, every cell escaped; ``numeric`` columns right-aligned (their headers too with ``numeric_head``)."""
    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ""

    th = "".join(f"<th{cls(i) if numeric_head else ''}>{escape(h)}</th>" for i, h in enumerate(head))
    trs = "".join("<tr>" + "".join(f"<td{cls(i)}>{escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                  for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _records(records: Sequence[Any], declared: Sequence[Column], style: Style) -> str:
    """A per-block or per-layer table, its columns as ``analysis.columns`` declares them for HTML."""
    cols = columns.shown(declared, "html")
    return table([c.title for c in cols], columns.rows(records, cols, style), columns.numeric(cols))


def _lints(r: Report) -> str:
    if not r.lints:
        return "<p>No lints.</p>"
    items = []
    for x in r.lints:
        fix = f" <em>Fix: {escape(x.fix.description)}</em>" if x.fix else ""
        items.append(f'<li class="{escape(x.severity)}"><b>{escape(x.code)}</b> <code>{escape(x.block)}</code>: '
                     f"{escape(x.message)}{fix}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def rf_curve(r: Report) -> str:
    """Receptive-field size at the output of each innermost block (height, and width when it differs).

    Blocks rather than layers: inside a multi-path block the layers of a short branch would make dips.
    """
    parents = {b.parent for b in r.blocks}
    steps = [(b.path, b.rf_size, b.out_shape, b.rf_whole_input) for b in r.blocks if b.path not in parents] or \
        [(x.name, x.rf_size, x.out_shape, x.rf_whole_input) for x in r.layers]
    spatial = [size for _, size, shape, whole in steps if len(shape) == 3 and not whole]
    h = [(i + 1, float(s[0])) for i, s in enumerate(spatial)]
    w = [(i + 1, float(s[1])) for i, s in enumerate(spatial)]
    series = [("height", h)] + ([("width", w)] if w != h else [])
    return svg.lines(series, "Receptive field growth", "block", "field size (pixels)", lambda v: f"{v:g}")


_BOUND = ' style="color:#c5221f;font-weight:bold"'  # the line saying the totals are lower bounds


def report(r: Report) -> str:
    top = [b for b in r.blocks if b.parent is None]
    head = header_lines(r)  # [what was analysed, the convention, totals...]
    body = [f"<h1>{escape(r.name)}</h1>", f"<p>{escape(head[0])}</p>",
            "<ul>" + "".join(f"<li{_BOUND if x.startswith('LOWER BOUNDS') else ''}>{escape(x)}</li>"
                             for x in head[2:]) + "</ul>",
            f'<p class="convention">{escape(CONVENTION)}</p>',
            "<h2>Lints</h2>", _lints(r),
            "<h2>Per block</h2>",
            f"<figure>{svg.bars([(b.path, b.params) for b in top], 'Parameters per block', count)}</figure>",
            f"<figure>{svg.bars([(b.path, b.macs) for b in top], 'MACs per block', count)}</figure>",
            f"<figure>{rf_curve(r)}</figure>",
            _records(r.blocks, columns.BLOCK_COLUMNS, "compact"),
            "<h2>Per layer</h2>",
            _records(r.layers, columns.LAYER_COLUMNS, "exact"),
            "<h2>Notes</h2>", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in r.notes) + "</ul>"]
    return page(f"{r.name}: ConvSmith analysis", body)
