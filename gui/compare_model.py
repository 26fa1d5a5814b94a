"""What the compare tab compares, Qt-free: networks from anywhere (open documents, files, templates, runs,
search trials), each loaded off the UI thread into its analysis report, its training curve and its
first-layer filters when a run exists; and the comparison as one self-contained HTML report (the analysis
engine's comparison plus accuracy, overlaid curves and filters as inline images)."""

from __future__ import annotations

import base64
import dataclasses
import io as _io
import itertools
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from analysis import Report, analyze
from analysis import html as analysis_html
from analysis.svg import lines
from arch.errors import ConvSmithError
from arch.spec import Spec, dumps, load

_keys = itertools.count(1)


@dataclass
class Network:
    """One network to compare: its spec, where it came from, and the run whose curves and weights go with it."""

    label: str
    spec: Spec
    origin: str                    # "document", "template:resnet18", "file:PATH", "run:PATH", "trial:STUDY#N"
    run_dir: Path | None = None    # a run directory (or a trial folder): history and maybe checkpoints
    accuracy: float | None = None  # known already (a trial's); else read from the run
    key: int = field(default_factory=lambda: next(_keys))


@dataclass
class Loaded:
    network: Network
    report: Report                 # named after the network's label
    run_dir: Path | None
    accuracy: float | None
    curve: list[dict[str, Any]]    # the run's epoch rows (epoch, val_acc, val_loss, ...)
    filters: Any = None            # training.visualize.FilterGrid of the first conv layer of the trained weights
    notes: list[str] = field(default_factory=list)


def matching_run(spec: Spec, root: Path) -> Path | None:
    """The newest run under ``root`` that trained exactly this network (classes adapted to the data aside)."""
    from training.runs import list_runs

    target = dumps(spec)
    for info in reversed(list_runs(root)):
        try:
            trained = load(info.path / "spec.json")
        except ConvSmithError:
            continue
        if dumps(dataclasses.replace(trained, num_classes=spec.num_classes)) == target:
            return info.path
    return None


def load_network(net: Network, runs_root: Path) -> Loaded:
    """Analysis, curve, accuracy and first-layer filters of one network (torch only for the filters)."""
    from training.runs import load_history

    report = dataclasses.replace(analyze(net.spec), name=net.label)
    notes: list[str] = []
    run = net.run_dir or matching_run(net.spec, runs_root)
    curve: list[dict[str, Any]] = []
    accuracy = net.accuracy
    if run is not None:
        try:
            history = load_history(run)
            curve = history.epochs
            if accuracy is None:
                accuracy = history.run.get("best_val_acc")
        except ConvSmithError as e:
            notes.append(f"no curves: {e}")
    else:
        notes.append("no training run of this network (train it, or add a run)")
    filters = None
    if run is not None and any((run / name).exists() for name in ("best.pt", "final.pt")):
        filters = _first_filters(run, notes)
    elif run is not None:
        notes.append("no checkpoint kept for this run: no learned filters")
    return Loaded(net, report, run, accuracy, curve, filters, notes)


def _first_filters(run: Path, notes: list[str]) -> Any:
    from training.checkpoint import load_checkpoint
    from training.visualize import conv_layers, filter_grid

    try:
        ckpt = load_checkpoint(run, "best" if (run / "best.pt").exists() else "final")
        model = ckpt.build()
        ckpt.load_into(model)
    except ConvSmithError as e:
        notes.append(f"no filters: {e}")
        return None
    if not conv_layers(model):
        notes.append("no convolution: no filters")
        return None
    return filter_grid(model)


def png_data(image: Any) -> str:
    """A [0, 1] float image as a base64 PNG (for an <img> in the report)."""
    from training.images import to_image

    buf = _io.BytesIO()
    to_image(image, min_side=192).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def html_report(items: list[Loaded]) -> str:
    """One self-contained page: the analysis engine's comparison, then accuracy, curves and filters."""
    page = analysis_html.comparison([x.report for x in items])
    extra = ["<h2>Accuracy and training runs</h2>", "<table><thead><tr><th>network</th><th>validation accuracy</th>"
             "<th>run</th><th>origin</th></tr></thead><tbody>"]
    for x in items:
        acc = "-" if x.accuracy is None else f"{100 * x.accuracy:.2f} %"
        extra.append(f"<tr><td>{escape(x.report.name)}</td><td class=\"n\">{acc}</td>"
                     f"<td>{escape(str(x.run_dir or '-'))}</td><td>{escape(x.network.origin)}</td></tr>")
    extra.append("</tbody></table>")
    series = [(x.report.name, [(float(r["epoch"]), float(r["val_acc"])) for r in x.curve
                               if r.get("val_acc") is not None]) for x in items if x.curve]
    if series:
        chart = lines(series, "Validation accuracy per epoch", "epoch", "validation accuracy", lambda v: f"{v:g}")
        extra.append(f"<h2>Training curves</h2><figure>{chart}</figure>")
    shown = [x for x in items if x.filters is not None]
    if shown:
        extra.append("<h2>First-layer filters (trained weights)</h2>")
        for x in shown:
            f = x.filters
            extra.append(f'<figure><img alt="filters of {escape(x.report.name)}" '
                         f'src="data:image/png;base64,{png_data(f.image)}" style="image-rendering:pixelated">'
                         f"<figcaption>{escape(x.report.name)}: {escape(f.layer)}, {f.total[0]} filters x "
                         f"{f.total[1]} channels, {f.kernel[0]}x{f.kernel[1]}</figcaption></figure>")
    return page.replace("</body>", "\n".join(extra) + "\n</body>", 1)
