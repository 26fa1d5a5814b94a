"""What the compare tab compares, Qt-free: networks from anywhere (open documents, files, templates, runs,
search trials), each loaded off the UI thread into its analysis report, its training curve and its
first-layer filters when a run exists; and the comparative report of them (``analysis.report_render``:
HTML, Markdown or JSON), built from the same records as the ``compare`` command."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import Report, analyze, report_render
from analysis.report_model import Comparison, Entry
from arch.errors import ConvSmithError
from arch.spec import Spec

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
    entry: Entry | None = None     # this network in the comparative report (runs and trials found automatically)


def matching_run(spec: Spec, root: Path) -> Path | None:
    """The newest run under ``root`` that trained this network: the same built graph, whatever its name,
    description or search section (classes adapted to the data aside; ``training.matching``)."""
    from training.matching import runs_of
    from training.runs import list_runs

    found = runs_of(spec, list_runs(root))
    return found[-1].path if found else None


def load_network(net: Network, runs_root: Path, studies_root: Path = Path("studies")) -> Loaded:
    """Analysis, curve, accuracy and first-layer filters of one network (torch only for the filters), and its
    entry of the comparative report: every run and study trial of it, found by what it builds."""
    from search.compare_report import gather, spec_source
    from training.runs import load_history

    report = dataclasses.replace(analyze(net.spec), name=net.label)
    notes: list[str] = []
    run = net.run_dir or matching_run(net.spec, runs_root)
    entry = gather([spec_source(net.spec, net.origin, report, [net.run_dir] if net.run_dir else [])], runs_root,
                   studies_root).entries[0]
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
    elif not entry.runs:
        notes.append("no training run of this network (train it, or add a run)")
    filters = None
    if run is not None and any((run / name).exists() for name in ("best.pt", "final.pt")):
        filters = _first_filters(run, notes)
    elif run is not None:
        notes.append("no checkpoint kept for this run: no learned filters")
    return Loaded(net, report, run, accuracy, curve, filters, notes, entry)


def _first_filters(run: Path, notes: list[str]) -> Any:
    from training.report_runs import first_filters

    try:
        return first_filters(run)[1]
    except ConvSmithError as e:
        notes.append(f"no filters: {e}")
        return None


def comparison(items: list[Loaded]) -> Comparison:
    """The comparative report of the loaded networks (the same records the ``compare`` command renders)."""
    from search.compare_report import default_object_size

    entries = [x.entry for x in items]
    size, note = default_object_size(entries)
    return Comparison(entries, size, [note])


def render_report(items: list[Loaded], path: str | Path) -> str:
    """The report in the format the file name asks for: .md Markdown, .json JSON, anything else HTML."""
    suffix = Path(path).suffix.lower()
    c = comparison(items)
    if suffix in (".md", ".markdown"):
        return report_render.markdown(c)
    return report_render.to_json(c) if suffix == ".json" else report_render.html(c)
