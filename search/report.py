"""Study reports, one self-contained file: HTML (inline SVG) or Markdown (SVG as data-URI images).

Both hold the same sections: the study's settings and search space, the best trials (or the Pareto
front) with their analysis totals, the optimisation history and Pareto charts, parameter importances,
learning curves, optuna-dashboard's views (parallel coordinates, slices, contour, intermediate values;
search.explore_svg, the best trial highlighted in each), the analysis engine's comparison tables of the
best trials, and every trial (duplicates named as such).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path

from analysis import Report, analyze, compare, svg
from analysis.formats import count, md_table, nbytes
from analysis.html import page, table
from analysis.report_charts import overview_charts
from arch import io
from arch.search_space import parse_space
from arch.spec import loads
from search import explore_svg, plots
from search.config import OBJECTIVES, SearchError
from search.explore import importances
from search.records import StudyView, TrialRecord
from search.sampling import describe


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _analyses(best: Sequence[TrialRecord]) -> list[Report]:
    return [analyze(loads(r.spec_text, f"trial {r.number}")) for r in best if r.spec_text]


def _settings(view: StudyView) -> list[tuple[str, str]]:
    ident = view.identity
    states: dict[str, int] = {}
    for r in view.records:
        states[r.state] = states.get(r.state, 0) + 1
    spent = sum(r.train_seconds or 0.0 for r in view.records)
    limits = ", ".join(f"{k} {v:,g}" for k, v in (ident.get("limits") or {}).items()) or "none"
    return [("objectives", ", ".join(f"{o} ({OBJECTIVES[o][0]})" for o in view.objectives)),
            ("data", str(ident.get("data", "?"))), ("epochs per trial", str(ident.get("epochs", "?"))),
            ("limits", limits), ("trials", ", ".join(f"{n} {s}" for s, n in states.items()) or "none"),
            ("training time, all trials", f"{spent:,.0f} s")]


def _space_rows(view: StudyView) -> list[list[str]]:
    text = view.identity.get("spec")
    if not text:
        return []
    space = parse_space(loads(text, f"study {view.name}"))
    rows = [[d.name, d.kind, d.describe()] for d in space.dims]
    for s in space.slots:
        rows.append([s.choice.name, "block family", s.choice.describe()])
        rows += [[s.field_name(a, d), d.kind, d.describe()] for a in s.alternatives for d in a.dims]
    return rows


def _best_rows(view: StudyView, best: Sequence[TrialRecord]) -> tuple[list[str], list[list[str]]]:
    costs = [o for o in ("params", "macs", "memory", "latency") if o in view.objectives or o in ("params", "macs")]
    head = ["trial", "accuracy"] + costs + ["RF", "epochs", "train s", "sampled"]
    rows = []
    for r in best:
        f = r.figures
        cells = [f"{f[c]:.2f} ms" if c == "latency" and c in f else nbytes(f[c]) if c == "memory" and c in f
                 else count(f[c]) if c in f else "-" for c in costs]
        rows.append([str(r.number), _pct(r.accuracy), *cells, f"{f.get('rf', 0):g}", str(len(r.curve)),
                     f"{r.train_seconds or 0:.1f}", describe(r.params, 400)])
    return head, rows


def _trial_rows(view: StudyView) -> list[list[str]]:
    return [[str(r.number), r.state, _pct(r.accuracy), count(r.figures["params"]) if "params" in r.figures else "-",
             count(r.figures["macs"]) if "macs" in r.figures else "-", str(len(r.curve)),
             "-" if r.duration is None else f"{r.duration:.1f}", describe(r.params, 400), r.reason]
            for r in view.records]


TRIAL_HEAD = ["trial", "state", "accuracy", "params", "MACs", "epochs", "seconds", "sampled", "note"]


def _charts(view: StudyView, best: Sequence[TrialRecord], imp: dict[str, float]) -> list[tuple[str, str]]:
    charts = [("Optimisation history", plots.history(view.records))]
    for cost in view.objectives[1:]:
        charts.append((f"Pareto front: accuracy vs {cost}", plots.pareto(view.records, view.objectives, cost)))
    if imp:
        charts.append(("Parameter importances", svg.bars(list(imp.items()), "Parameter importances (accuracy)",
                                                         lambda v: f"{v:.2f}")))
    charts.append(("Learning curves", plots.curves(view.records, [r.number for r in best[:len(svg.PALETTE)]])))
    return charts + explore_svg.charts(view, imp)


def html(view: StudyView, top: int = 5) -> str:
    best = view.best()[:top] if not view.multi else view.best()
    reports = _analyses(best)
    imp = importances(view)
    title = f"Study {view.name}"
    head, rows = _best_rows(view, best)
    body = [f"<h1>{escape(title)}</h1>", table(["setting", "value"], [list(p) for p in _settings(view)]),
            "<h2>Search space</h2>", table(["parameter", "kind", "values"], _space_rows(view)),
            f"<h2>{'Pareto front' if view.multi else 'Best trials'}</h2>",
            table(head, rows, {1, 2, 3}) if rows else "<p>No trial has completed yet.</p>"]
    body += [f"<h2>{escape(name)}</h2><figure>{chart}</figure>" for name, chart in _charts(view, best, imp)]
    if reports:
        names = [""] + [f"trial {r.number}" for r in best if r.spec_text]
        body += ["<h2>Analysis of the best trials</h2>", table(names, compare.totals_rows(reports)),
                 "<h3>Stages</h3>", table(names, compare.stage_rows(reports))]
        body += [f"<figure>{chart}</figure>" for _, chart in overview_charts(reports)]
    body += ["<h2>All trials</h2>", table(TRIAL_HEAD, _trial_rows(view), {0, 2, 3, 4, 5, 6})]
    return page(title, body)


def _data_uri(svg_text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg_text.encode("utf-8")).decode("ascii")


def markdown(view: StudyView, top: int = 5) -> str:
    best = view.best()[:top] if not view.multi else view.best()
    reports = _analyses(best)
    imp = importances(view)
    lines = [f"# Study {view.name}", ""] + md_table(["setting", "value"], [list(p) for p in _settings(view)])
    lines += ["", "## Search space", ""] + md_table(["parameter", "kind", "values"], _space_rows(view))
    head, rows = _best_rows(view, best)
    lines += ["", f"## {'Pareto front' if view.multi else 'Best trials'}", ""]
    lines += md_table(head, rows) if rows else ["No trial has completed yet."]
    for name, chart in _charts(view, best, imp):
        lines += ["", f"## {name}", "", f"![{name}]({_data_uri(chart)})"]
    if imp:
        lines += [""] + md_table(["parameter", "importance"], [[k, f"{v:.3f}"] for k, v in imp.items()])
    if reports:
        names = [""] + [f"trial {r.number}" for r in best if r.spec_text]
        lines += ["", "## Analysis of the best trials", ""] + md_table(names, compare.totals_rows(reports))
        lines += ["", "### Stages", ""] + md_table(names, compare.stage_rows(reports))
        lines += [line for name, chart in overview_charts(reports) for line in ("", f"![{name}]({_data_uri(chart)})")]
    lines += ["", "## All trials", ""] + md_table(TRIAL_HEAD, _trial_rows(view))
    return "\n".join(lines) + "\n"


def write_report(view: StudyView, path: str | Path, top: int = 5) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        io.write_text(path, html(view, top))
    elif suffix in (".md", ".markdown"):
        io.write_text(path, markdown(view, top))
    else:
        raise SearchError(f"cannot tell the report format from {str(path)!r}: name it .html or .md")
