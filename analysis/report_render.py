"""Comparative reports: self-contained HTML (inline SVG, images as data URIs), Markdown for pull requests
(tables with right-aligned numbers; the charts are in the HTML) and JSON for tools (the raw numbers of
the records, no formatting)."""

from __future__ import annotations

import json
from dataclasses import asdict
from html import escape
from typing import Any

from analysis import report_charts as charts
from analysis.formats import md_cell
from analysis.html import page, table
from analysis.records import CONVENTION
from analysis.report_model import Comparison
from analysis.report_sections import Chart, Images, Section, Table, Text, diffs, sections
from analysis.report_summary import summary

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h2{border-bottom:1px solid #ddd;padding-bottom:2px;margin-top:28px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f0f0f0}
caption{caption-side:top;text-align:left;font-size:12px;color:#555;padding:2px 0}
.convention{font-size:12px;color:#555}
.summary{font-size:15px;line-height:1.45;max-width:1000px;background:#f7f9fc;padding:10px 14px;
 border-left:4px solid #3b6ea8}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:8px 0}
figcaption{font-size:12px;color:#555;max-width:420px}
"""


def _image(title: str, data: str, caption: str) -> str:
    if data.startswith("png:"):
        pic = (f'<img alt="{escape(title)}" src="data:image/png;base64,{data[4:]}" '
               'style="image-rendering:pixelated;width:200px">')
    elif not caption:
        return f"<figure>{data}</figure>"  # an inline SVG of analysis.report_charts, titled and escaped there
    else:
        pic = data
    cap = f"<figcaption><b>{escape(title)}</b>{': ' + escape(caption) if caption else ''}</figcaption>"
    return f"<figure>{pic}{cap}</figure>"


def _html_part(p: Table | Chart | Text | Images) -> str:
    if isinstance(p, Table):
        return table(p.head, p.rows, p.numeric, p.caption, numeric_head=True)
    if isinstance(p, Chart):
        return f"<figure>{p.svg}</figure>"
    if isinstance(p, Text):
        return f"<p>{escape(p.text)}</p>"
    return '<div class="row">' + "".join(_image(*x) for x in p.items) + "</div>"


def html(c: Comparison, built: list[Section] | None = None) -> str:
    """One self-contained page; ``built``: the sections when the caller has them already."""
    parts = built or sections(c)
    names = " vs ".join(e.name for e in c.entries)
    body = [f"<h1>{escape(names)}</h1>", f'<p class="convention">{escape(CONVENTION)}</p>']
    for s in parts:
        body.append(f'<h2 id="{s.key}">{escape(s.title)}</h2>')
        row: list[str] = []  # consecutive small charts and tables, side by side
        for p in s.parts:
            if isinstance(p, (Chart, Table)) and p.small:
                row.append(_html_part(p))
                continue
            if row:
                body.append('<div class="row">' + "".join(row) + "</div>")
                row = []
            body.append(f'<p class="summary">{escape(p.text)}</p>' if s.key == "summary" and isinstance(p, Text)
                        else _html_part(p))
        if row:
            body.append('<div class="row">' + "".join(row) + "</div>")
    return page(f"{names}: ConvSmith comparison", body, STYLE)


def _md_table(t: Table) -> list[str]:
    out = [f"*{md_cell(t.caption)}*", ""] if t.caption else []
    out.append("| " + " | ".join(md_cell(h) or " " for h in t.head) + " |")
    out.append("|" + "".join("---:|" if i in t.numeric else "---|" for i in range(len(t.head))))
    return out + ["| " + " | ".join(md_cell(x) for x in row) + " |" for row in t.rows]


def markdown(c: Comparison, built: list[Section] | None = None) -> str:
    lines = [f"# {md_cell(' vs '.join(e.name for e in c.entries))}", "", f"_{md_cell(CONVENTION)}_", ""]
    for s in built or sections(c):
        lines += [f"## {s.title}", ""]
        charts_skipped = 0
        for p in s.parts:
            if isinstance(p, Table):
                lines += _md_table(p) + [""]
            elif isinstance(p, Text):
                lines += [md_cell(p.text), ""]
            elif isinstance(p, Chart):
                charts_skipped += 1
            elif p.items:
                lines += [f"{'Diagrams' if not p.items[0][1].startswith('png:') else 'Filters'}: "
                          + ", ".join(md_cell(x[0]) for x in p.items) + " (images in the HTML report)", ""]
        if charts_skipped:
            lines += [f"({charts_skipped} chart{'s' if charts_skipped > 1 else ''} in the HTML report)", ""]
    return "\n".join(lines) + "\n"


def _pair(p: Any) -> list[float]:
    return [float(v) for v in p]


def to_dict(c: Comparison) -> dict[str, Any]:
    """The numbers of the report, straight from the records (no rounding)."""
    networks = []
    for e in c.entries:
        r = e.report
        full = r.to_json()
        stats = e.accuracy
        networks.append({
            "name": e.name, "origin": e.origin, "input_shape": list(r.input_shape), "totals": full["totals"],
            "receptive_field": full["receptive_field"],
            "stages": [asdict(s) for s in charts.stage_costs(r)],
            "top_layers": [{"name": x.name, "type": x.type, "out_shape": list(x.out_shape), "macs": x.macs,
                            "params": x.params, "activation_bytes": x.activation_bytes}
                           for x in charts.top_layers(r)],
            "rf_curve": [{"block": p.block, "depth": p.depth, "cum_macs": p.cum_macs, "size": _pair(p.size),
                          "jump": _pair(p.jump)} for p in charts.rf_points(r)],
            "effective_rf": None if e.erf is None else asdict(e.erf),
            "runs": [{**asdict(x), "curve": [list(p) for p in x.curve], "finished": x.finished} for x in e.runs],
            "accuracy": None if stats is None else asdict(stats),
            "timings": [{**asdict(t), "throughput": t.throughput} for t in e.timings],
            "memory": [{**asdict(m), "ratio": m.ratio} for m in e.memory],
            "lints": full["lints"], "notes": list(r.notes) + list(e.notes),
        })
    out_diffs = [{"base": d.base, "other": d.other, "network": [asdict(x) for x in d.network],
                  "blocks": [asdict(b) for b in d.blocks], "d_params": d.d_params, "d_macs": d.d_macs,
                  "rf_before": _pair(d.rf_before), "rf_after": _pair(d.rf_after), "fields": d.field_paths}
                 for d in diffs(c)]
    fronts = {}
    trained = [e for e in c.entries if e.accuracy is not None]
    for key, get in (("macs", lambda e: e.report.totals.macs), ("params", lambda e: e.report.totals.params),
                     ("latency", lambda e: t.median_ms if (t := e.latency()) else None)):
        pts = [(e.name, cost, a.mean) for e in trained
               if (cost := get(e)) is not None and (a := e.accuracy) is not None]
        fronts[key] = charts.pareto_front(pts) if pts else []
    return {"convention": CONVENTION, "object_size": list(c.object_size) if c.object_size else None,
            "summary": summary(c), "networks": networks, "diffs": out_diffs, "pareto": fronts,
            "notes": list(c.notes)}


def to_json(c: Comparison) -> str:
    return json.dumps(to_dict(c), indent=1) + "\n"
