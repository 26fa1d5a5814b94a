"""The comparative report as a list of sections of tables, charts, text and images, built once from a
``Comparison``; the HTML and Markdown renderers (``analysis.report_render``) and the GUI's Compare page
each draw these same sections, so they cannot disagree. Figures come from the records only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from analysis import columns, svg
from analysis import report_charts as charts
from analysis.formats import count, hw, nbytes
from analysis.report_diff import Diff, diff
from analysis.report_model import Comparison, Entry, Timing
from analysis.report_summary import summary


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    caption: str = ""
    small: bool = False  # set side by side with the small parts next to it


@dataclass
class Chart:
    svg: str
    small: bool = False  # drawn side by side with the small charts next to it


@dataclass
class Text:
    text: str


@dataclass
class Images:
    items: list[tuple[str, str, str]]  # (title, base64 PNG or SVG markup, caption); PNGs start with "png:"


Part = Table | Chart | Text | Images  # what a section holds


@dataclass
class Section:
    key: str
    title: str
    parts: list[Part]


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def ms(v: float) -> str:
    return f"{v:,.3f} ms" if v < 10 else f"{v:,.1f} ms"


def signed(n: int, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    return ("+" if n > 0 else "−" if n < 0 else "±") + fmt(abs(n))


def diffs(c: Comparison) -> list[Diff]:
    """Each network against the first one, where both have a spec."""
    first = c.entries[0]
    if first.spec is None:
        return []
    return [diff(first.spec, e.spec, first.report, e.report) for e in c.entries[1:] if e.spec is not None]


def _totals(c: Comparison) -> Table:
    es = c.entries
    rows = [
        ["input (C×H×W)"] + ["×".join(map(str, e.report.input_shape)) for e in es],
        ["parameters"] + [f"{e.report.totals.params:,}" for e in es],
        ["MACs"] + [f"{e.report.totals.macs:,}" for e in es],
        ["FLOPs"] + [f"{e.report.totals.flops:,}" for e in es],
        ["activations kept for training (batch 1)"] + [nbytes(e.report.totals.activation_bytes_train) for e in es],
        ["peak activations, inference (batch 1)"] + [nbytes(e.report.totals.peak_activation_bytes_inference)
                                                      for e in es],
        ["receptive field (px)"] + [hw(e.report.receptive_field.size) for e in es],
        ["jump at that layer (px)"] + [hw(e.report.receptive_field.jump) for e in es],
        ["lints"] + [str(len(e.report.lints)) for e in es],
        ["validation accuracy (mean over finished runs)"] + [
            "-" if e.accuracy is None else f"{pct(e.accuracy.mean)} (n={e.accuracy.n})" for e in es],
    ]
    for device in ("cpu", "cuda"):
        if any(e.latency(device) for e in es):
            rows.append([f"latency, PyTorch, {device}, batch 1 (median)"] + [
                "-" if (t := e.latency(device)) is None else ms(t.median_ms) for e in es])
    return Table(["", *(e.name for e in es)], rows, set(range(1, len(es) + 1)))


def _stages(c: Comparison) -> list[Part]:
    reports = [e.report for e in c.entries]
    parts: list[Part] = [Chart(charts.stage_bars(reports, m)) for m in charts.METRICS]
    cats = charts.resolutions(reports)
    tables = {m: charts.stage_table(reports, m) for m in charts.METRICS}
    rows = []
    for k, res in enumerate(cats):
        cells = []
        for i in range(len(reports)):
            macs, params, memory = (tables[m][k][i] for m in charts.METRICS)  # all None or none: same blocks
            cells.append("-" if macs is None or params is None or memory is None else
                         f"{count(macs)} MACs · {count(params)} params · {nbytes(memory)}")
        rows.append([res, *cells])
    parts.append(Table(["resolution", *(r.name for r in reports)], rows, set(range(1, len(reports) + 1)),
                       "Top-level blocks grouped by output resolution; activation memory is the sum of the "
                       "layers' outputs at batch 1."))
    parts += [Chart(svg.bars([(x.name, float(x.macs)) for x in charts.top_layers(e.report)],
                             f"{e.name}: MACs of the 10 most expensive layers", count, width=440), small=True)
              for e in c.entries]
    cols = columns.shown(columns.LAYER_COLUMNS, "compare")
    at = 1 + next(i for i, col in enumerate(cols) if col.key == "macs")  # the share follows the MACs
    head = [col.title for col in cols]
    numeric = {i + (i >= at) for i in columns.numeric(cols)} | {at}
    for e in c.entries:
        total = e.report.totals.macs or 1
        top = charts.top_layers(e.report)
        rows = [cells[:at] + [f"{100 * x.macs / total:.1f} %"] + cells[at:]
                for x, cells in zip(top, columns.rows(top, cols, "exact"))]
        parts.append(Table(head[:at] + ["share of MACs"] + head[at:], rows, numeric,
                           f"{e.name}: the 10 most expensive layers (by MACs)", small=True))
    return parts


def erf_marks(c: Comparison, against: str) -> list[tuple[str, float, float, int]]:
    out = []
    for i, e in enumerate(c.entries):
        if e.erf is None:
            continue
        if against == "depth":
            x = float(e.erf.depth)
        else:
            x = float(sum(layer.macs for layer in e.report.layers[:e.erf.depth]))
        out.append((e.name, x, float(e.erf.mass90[0]), i))
    return out


def _rf(c: Comparison) -> list[Part]:
    reports = [e.report for e in c.entries]
    size = max(e.report.input_shape[1] for e in c.entries if len(e.report.input_shape) == 3)
    obj = c.object_size[0] if c.object_size else None
    parts: list[Part] = [Chart(charts.rf_chart(reports, a, size, obj, erf_marks(c, a))) for a in ("depth", "macs")]
    rows = []
    for e in c.entries:
        rf = e.report.receptive_field
        erf = e.erf
        rows.append([e.name, rf.layer, hw(rf.size), hw(rf.jump), hw(rf.offset),
                     "-" if erf is None else hw(erf.support), "-" if erf is None else hw(erf.mass90),
                     "-" if erf is None else f"{erf.images} ({erf.source})"])
    parts.append(Table(["network", "last spatial layer", "RF (px)", "jump (px)", "offset (px)",
                        "effective RF, non-zero (px)", "effective RF, 90 % mass (px)", "images"],
                       rows, {2, 3, 4, 5, 6},
                       "Theoretical field at the last layer that still sees part of the input; the effective field "
                       "(Luo et al. 2016) of its centre unit from the trained weights of an attached run."))
    return parts


def _value(v: object) -> str:
    return "-" if v is None else str(v)


def _diff_parts(c: Comparison) -> list[Part]:
    found = diffs(c)
    if not found:
        return [Text("No structural diff: it needs specs (the first network and at least one other), and "
                     "fx-imported modules have none.")]
    parts: list[Part] = []
    for d in found:
        rows = [["network", "", c.path, _value(c.before), _value(c.after), "", "", ""] for c in d.network]
        for b in d.blocks:
            where = b.after if b.kind == "added" else b.before if b.kind == "removed" else f"{b.before} → {b.after}"
            rf = f"{hw(b.rf_before) if b.rf_before else '-'} → {hw(b.rf_after) if b.rf_after else '-'}"
            changes = [[f.path, _value(f.before), _value(f.after)] for f in b.fields] or [["", "", ""]]
            rows.append([f"{b.kind} {b.family}", where, *changes[0], signed(b.d_params), signed(b.d_macs), rf])
            rows += [["", "", *c, "", "", ""] for c in changes[1:]]
        rows.append(["total", "", "", "", "", signed(d.d_params), signed(d.d_macs),
                     f"{hw(d.rf_before)} → {hw(d.rf_after)}"])
        parts.append(Table(["change", "block", "field", d.base, d.other, "Δ parameters", "Δ MACs", "RF (px)"],
                           rows, {5, 6}, f"{d.other} compared with {d.base}: {len(d.blocks)} block(s) differ, "
                                         f"{len(d.field_paths)} field(s)"))
    return parts


def timing_row(e: Entry, t: Timing) -> list[str]:
    return [e.name, t.engine, t.device, f"{t.batch:,}", ms(t.median_ms), f"{ms(t.q1_ms)} – {ms(t.q3_ms)}",
            f"{ms(t.min_ms)} – {ms(t.max_ms)}", f"{t.samples:,}", f"{t.throughput:,.0f}"]


def _speed(c: Comparison) -> list[Part]:
    rows = [timing_row(e, t) for e in c.entries for t in e.timings]
    if not rows:
        return [Text("Not measured (run with --latency).")]
    parts: list[Part] = [Table(["network", "engine", "device", "batch", "median", "IQR (q1 – q3)", "min – max",
                                "timed blocks", "images/s"], rows, {3, 4, 5, 6, 7, 8},
                               "Forward pass in eval mode, torch.utils.benchmark, warm-up runs excluded; ONNX Runtime "
                               "runs the ONNX export of the same network.")]
    mem = [[e.name, m.device, f"{m.batch:,}", f"{m.measured_bytes:,}", f"{m.predicted_bytes:,}", f"{m.ratio:.2f}"]
           for e in c.entries for m in e.memory]
    if mem:
        how = next(m.how for e in c.entries for m in e.memory)
        parts.append(Table(["network", "device", "batch", "measured peak (bytes)", "analysis prediction (bytes)",
                            "measured / predicted"], mem, {2, 3, 4, 5}, how))
    return parts


def _reached(c: Comparison) -> list[Part]:
    rows = []
    for e in c.entries:
        for r in e.runs:
            rows.append([e.name, r.kind, r.where, _value(r.seed), r.status, f"{r.epochs:,}", pct(r.final_acc),
                         pct(r.best_acc), "yes" if r.finished else "no"])
    if not rows:
        return [Text("No training run or search trial trained any of these networks.")]
    parts: list[Part] = [Table(["network", "kind", "run / trial", "seed", "status", "epochs", "final accuracy",
                                "best accuracy", "counted"], rows, {3, 5, 6, 7},
                               "Every run folder and study trial whose spec builds exactly this network.")]
    stats = [[e.name, f"{e.accuracy.n:,}", ", ".join(map(str, e.accuracy.seeds)) or "-", pct(e.accuracy.mean),
              f"{100 * e.accuracy.std:.2f} pt", f"{pct(e.accuracy.low)} – {pct(e.accuracy.high)}"]
             for e in c.entries if e.accuracy is not None]
    parts.append(Table(["network", "finished runs", "seeds", "mean accuracy", "std", "range"], stats,
                       {1, 3, 4, 5}, "Final validation accuracy over the finished runs."))
    series = [(f"{e.name}: {r.where.split('/')[-1]}", i, list(r.curve))
              for i, e in enumerate(c.entries) for r in e.runs if r.curve]
    if series:
        parts.append(Chart(charts.curves_chart(series)))
    pts = [(i, e) for i, e in enumerate(c.entries) if e.accuracy is not None]
    if pts:
        costs: list[tuple[str, Callable[[Entry], float | None], Callable[[float], str]]] = [
            ("MACs", lambda e: float(e.report.totals.macs), count),
            ("parameters", lambda e: float(e.report.totals.params), count),
            ("latency (ms, CPU, batch 1)", lambda e: t.median_ms if (t := e.latency()) else None,
             lambda v: f"{v:.3g}")]
        for name, get, fmt in costs:
            p = [(e.name, cost, a.mean, i) for i, e in pts
                 if (cost := get(e)) is not None and (a := e.accuracy) is not None]
            if p:
                parts.append(Chart(charts.pareto_chart(p, name, fmt), small=True))
    return parts


def _pictures(c: Comparison) -> list[Part]:
    parts: list[Part] = [Images([(e.name, e.diagram_svg, "") for e in c.entries if e.diagram_svg])]
    filters = [(e.name, "png:" + e.filters_png, e.filters_caption) for e in c.entries if e.filters_png]
    parts.append(Images(filters) if filters else Text("No trained weights of these networks: no learned filters."))
    return parts


def _lints(c: Comparison) -> list[Part]:
    rows = [[e.name, x.severity, x.code, x.block, x.message] for e in c.entries for x in e.report.lints]
    notes = [[e.name, n] for e in c.entries for n in e.report.notes + e.notes] + [["all", n] for n in c.notes]
    return [Table(["network", "severity", "code", "block", "message"], rows) if rows else Text("No lints."),
            Table(["network", "note"], notes)]


def sections(c: Comparison) -> list[Section]:
    return [Section("summary", "In one paragraph", [Text(summary(c))]),
            Section("totals", "Totals", [_totals(c)]),
            Section("cost", "Where the cost is", _stages(c)),
            Section("rf", "How the receptive field grows", _rf(c)),
            Section("diff", "What differs", _diff_parts(c)),
            Section("speed", "How fast it really runs", _speed(c)),
            Section("reached", "What it reached", _reached(c)),
            Section("pictures", "Diagrams and first-layer filters", _pictures(c)),
            Section("lints", "Lints and notes", _lints(c))]

