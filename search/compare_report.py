"""Gathering a comparative report: analyse each network, find every run folder and study trial that
trained exactly it (matched by what its spec builds), read the learned filters and the effective RF of
the trained weights, and optionally measure latency and memory. The result is an
``analysis.report_model.Comparison``, rendered by ``analysis.report_render``.

Both the ``compare`` command and the GUI's Compare page call ``gather``; it reports progress through a
callback and stops between steps when ``cancel`` is set.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from analysis.records import Report
from analysis.report_charts import diagram
from analysis.report_model import Comparison, Entry, RunResult
from arch.errors import ConvSmithError
from arch.spec import Spec
from search.config import SearchError

DEFAULT_TRAIN_BATCH = 64  # the training-size batch timed when no run says which batch it trained with
Progress = Callable[[int, int, str], None]


class Cancelled(ConvSmithError):
    """The user stopped the gathering."""


@dataclass
class Source:
    """One network to compare: its analysis, its spec when it has one, and a way to build it."""

    report: Report
    spec: Spec | None
    origin: str
    make: Callable[[], Any]                 # -> a fresh nn.Module (eval mode is set by the measurements)
    runs: list[Path] = field(default_factory=list)  # run folders attached by hand (the GUI's "Training run")


def source_of(ref: str, input_shape: tuple[int, int, int] | None = None) -> Source:
    """``ref`` as the CLI names it: a spec file, template:NAME, torchvision:NAME or file.py:Class."""
    from analysis.sources import analyze_module, analyze_ref, is_module_ref

    if ref.startswith("torchvision:") or is_module_ref(ref):
        from arch.fx_import import torchvision_model, user_module

        maker = (lambda: torchvision_model(ref.split(":", 1)[1])) if ref.startswith("torchvision:") \
            else (lambda: user_module(ref))
        module = maker()
        label = ref.split(":", 1)[1] if ref.startswith("torchvision:") else ref.rsplit(":", 1)[1]
        return Source(analyze_module(module, label, input_shape), None, ref, maker)
    from arch.spec import resolve

    spec = resolve(ref)
    if input_shape is not None:
        spec = replace(spec, input=tuple(input_shape))
    return spec_source(spec, ref, analyze_ref(ref, input_shape))


def spec_source(spec: Spec, origin: str, report: Report | None = None, runs: Sequence[Path] = ()) -> Source:
    from analysis import analyze

    def make() -> Any:
        from arch.builder import build

        return build(spec)

    return Source(report or analyze(spec), spec, origin, make, list(runs))


def study_names(root: Path) -> list[str]:
    """Studies kept in journal files under ``root`` (one folder per study)."""
    from search.storage import JOURNAL_NAME

    return sorted(p.parent.name for p in root.glob(f"*/{JOURNAL_NAME}")) if root.is_dir() else []


def trial_results(spec: Spec, root: Path, notes: list[str]) -> list[tuple[Path | None, RunResult]]:
    """Every trial of every study under ``root`` whose architecture builds exactly ``spec``."""
    from search.records import open_study
    from training.matching import fingerprint
    from training.report_runs import run_result

    target = fingerprint(spec)
    out: list[tuple[Path | None, RunResult]] = []
    for name in study_names(root):
        try:
            view = open_study(name, None, root)
        except (SearchError, ConvSmithError, OSError) as e:
            notes.append(f"study {name} not read: {e}")
            continue
        for r in view.records:
            try:
                if not r.spec_text or fingerprint(r.spec(), spec.num_classes) != target:
                    continue
            except ConvSmithError:
                continue
            folder = Path(r.folder) if r.folder and (Path(r.folder) / "run.json").is_file() else None
            seed = run_result(folder).seed if folder else None
            accs = [row.get("val_acc") for row in r.curve if row.get("val_acc") is not None]
            curve = tuple((float(row["epoch"]), float(row["val_acc"])) for row in r.curve
                          if row.get("val_acc") is not None)
            train = view.identity.get("train") or {}
            final = r.values["accuracy"] if r.values else (accs[-1] if accs else None)
            out.append((folder, RunResult("trial", f"{name} #{r.number}", r.state, seed, len(curve),
                                          train.get("batch_size"), final, max(accs) if accs else None, curve)))
    return out


def _runs(src: Source, runs_root: Path | None, studies_root: Path | None,
          notes: list[str]) -> list[tuple[Path | None, RunResult]]:
    from training.report_runs import matching_runs, run_folders, run_result

    found: dict[Path | str, tuple[Path | None, RunResult]] = {}
    for path in src.runs:
        try:
            found[path.resolve()] = (path, run_result(path))
        except ConvSmithError as e:
            notes.append(f"run {path} not read: {e}")
    if src.spec is None:
        return list(found.values())
    roots = [r for r in (runs_root, studies_root) if r is not None]
    for path, result in matching_runs(src.spec, run_folders(roots)):
        found.setdefault(path.resolve(), (path, result))
    if studies_root is not None:
        for folder, result in trial_results(src.spec, studies_root, notes):
            found[folder.resolve() if folder else result.where] = (folder, result)  # the trial replaces its folder
    return sorted(found.values(), key=lambda x: (x[1].kind, x[1].where))


def _trained(entry: Entry, runs: list[tuple[Path | None, RunResult]]) -> None:
    """Filters and effective RF from the best finished run that kept weights."""
    from training.report_runs import effective_rf, first_filters, has_weights

    kept = [(p, r) for p, r in runs if p is not None and has_weights(p)]
    if not kept:
        if runs:
            entry.notes.append("no run of this network kept its weights: no filters, no effective RF")
        return
    path, run = max(kept, key=lambda x: (x[1].finished, x[1].final_acc or 0.0))
    try:
        png, grid = first_filters(path)
        entry.filters_png = png
        (n, c) = grid.total
        entry.filters_caption = (f"{grid.layer}: {n} filters × {c} channels, {grid.kernel[0]}×{grid.kernel[1]} "
                                 f"(from {run.where})")
    except ConvSmithError as e:
        entry.notes.append(f"no filters: {e}")
    try:
        entry.erf = effective_rf(path, entry.report)
    except ConvSmithError as e:
        entry.notes.append(f"no effective RF: {e}")


def _measure(entry: Entry, src: Source, devices: Sequence[str], batches: Sequence[int],
             step: Callable[[str], None]) -> None:
    """Time and measure one network; its figures are replaced only when every step finished (a stop keeps
    the previous ones)."""
    import torch

    from analysis import analyze
    from training import report_speed as speed

    shape = tuple(entry.report.input_shape)
    step(f"{entry.name}: ONNX export")
    model = src.make().eval()
    onnx_bytes = None
    notes: list[str] = []
    try:
        from arch.export.onnx import module_bytes

        onnx_bytes = module_bytes(model, torch.randn(2, *shape))
    except ConvSmithError as e:
        notes.append(f"no ONNX Runtime timing: {e}")
    timings, memory = [], []
    for name in devices:
        device = speed.check_device(name)
        session = None
        if onnx_bytes is not None:
            try:
                session = speed.ort_session(onnx_bytes, device)
            except ConvSmithError as e:
                notes.append(f"no ONNX Runtime timing on {name}: {e}")
        for b in batches:
            step(f"{entry.name}: PyTorch, {name}, batch {b}")
            timings.append(speed.torch_timing(model, shape, b, device))
            if session is not None:
                step(f"{entry.name}: ONNX Runtime, {name}, batch {b}")
                timings.append(speed.ort_timing(session, shape, b, device))
            predicted = entry.report.totals.peak_activation_bytes_inference if b == entry.report.batch else \
                analyze(src.spec, batch=b).totals.peak_activation_bytes_inference if src.spec is not None else \
                entry.report.totals.peak_activation_bytes_inference * b // entry.report.batch
            memory.append(speed.memory_peak(model, shape, b, device, predicted))
        model.to("cpu")
    entry.timings[:], entry.memory[:] = timings, memory
    entry.notes += [n for n in notes if n not in entry.notes]


def default_devices() -> list[str]:
    """The CPU, and CUDA where torch sees a GPU (the CUDA path is guarded: without a GPU it is skipped)."""
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


class _Steps:
    """Counts steps for the progress callback and stops between steps when ``cancel`` is set."""

    def __init__(self, total: int, progress: Progress | None, cancel: threading.Event | None) -> None:
        self.done, self.total, self.progress, self.cancel = 0, total, progress, cancel

    def __call__(self, label: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")
        if self.progress is not None:
            self.progress(self.done, self.total, label)
        self.done += 1

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, "done")


def measure(entries: Sequence[Entry], sources: Sequence[Source], devices: Sequence[str] | None = None,
            train_batch: int | None = None, progress: Progress | None = None,
            cancel: threading.Event | None = None, threads: int | None = None) -> list[str]:
    """Latency (PyTorch and ONNX Runtime) and memory peaks of each entry at batch 1 and a training-size batch,
    added to the entries; returns the notes that say on what (threads, load) and which training-size batch."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    plan = list(devices or default_devices())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = [f"CPU timings with {torch.get_num_threads()} thread(s) on {os.cpu_count()} core(s); load average "
               f"{load:.1f} when measuring started (a busy machine slows and spreads the timings)"]
    sizes = [r.batch_size for e in entries for r in e.runs if r.batch_size]
    big = train_batch or (max(set(sizes), key=sizes.count) if sizes else DEFAULT_TRAIN_BATCH)
    notes = machine + ([] if train_batch else [f"training-size batch {big}: " + (
        "the batch the found runs trained with" if sizes else f"the default ({DEFAULT_TRAIN_BATCH}); no run says")])
    batches = sorted({1, big})
    step = _Steps(len(entries) * (1 + len(plan) * 2 * len(batches)), progress, cancel)
    for entry, src in zip(entries, sources):
        _measure(entry, src, plan, batches, step)
    step.finish()
    return notes


def gather(sources: Sequence[Source], runs_root: Path | None = Path("runs"),
           studies_root: Path | None = Path("studies"), latency: bool = False, devices: Sequence[str] | None = None,
           train_batch: int | None = None, object_size: tuple[int, int] | None = None,
           progress: Progress | None = None, cancel: threading.Event | None = None,
           threads: int | None = None) -> Comparison:
    """The comparison of ``sources`` (see the module docstring)."""
    if not sources:
        raise ConvSmithError("nothing to compare: give at least one network")
    entries: list[Entry] = []
    step = _Steps(len(sources) * 2, progress, cancel)
    for src in sources:
        step(f"{src.report.name}: runs and trials")
        entry = Entry(src.report, src.spec, src.origin, diagram_svg=diagram(src.report))
        runs = _runs(src, runs_root, studies_root, entry.notes)
        entry.runs = [r for _, r in runs]
        step(f"{src.report.name}: trained weights")
        _trained(entry, runs)
        entries.append(entry)
    step.finish()
    notes = measure(entries, sources, devices, train_batch, progress, cancel, threads) if latency else []
    if object_size is None:
        object_size, note = default_object_size(entries)
        notes.append(note)
    return Comparison(entries, object_size, notes)


def default_object_size(entries: Sequence[Entry]) -> tuple[tuple[int, int], str]:
    """Half the largest input side, and the note that says so."""
    h = max((e.report.input_shape[1] for e in entries if len(e.report.input_shape) == 3), default=2)
    return (h // 2, h // 2), f"typical object size {h // 2} px: half the input (set it with --object-size)"


def terminal_progress(stream: Any) -> Progress:
    """A one-line progress display with an ETA for a terminal."""
    start = time.monotonic()

    def show(done: int, total: int, label: str) -> None:
        elapsed = time.monotonic() - start
        eta = f", about {elapsed / done * (total - done):.0f} s left" if done else ""
        end = "\n" if done >= total else ""
        stream.write(f"\r\033[K[{done}/{total}{eta}] {label}{end}")
        stream.flush()

    return show
