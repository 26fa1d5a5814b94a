"""The records of a comparative report: each network's analysis plus what was measured or found for it
(training runs and trials, timings, memory peaks, the effective receptive field, learned filters).

Plain data, no torch: the gathering lives higher up (``training.report_*``, ``search.compare_report``),
the renderers (``analysis.report_render``) only read these records, so the HTML, Markdown and JSON
and the GUI's Compare page show the same figures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from analysis.records import Report
from arch.spec import Spec


@dataclass(frozen=True)
class RunResult:
    """One training run or search trial that trained exactly this network (matched by what is built)."""

    kind: str                 # "run" (a run folder) or "trial" (a study's trial)
    where: str                # the run folder, or "STUDY #N"
    status: str               # completed / cancelled / ... for runs; complete / pruned / ... for trials
    seed: int | None
    epochs: int
    batch_size: int | None
    final_acc: float | None   # validation accuracy after the last epoch (a trial's objective)
    best_acc: float | None
    curve: tuple[tuple[float, float], ...] = ()  # (epoch, validation accuracy)

    @property
    def finished(self) -> bool:
        """Trained to its planned end: only these count in the accuracy statistics."""
        return self.status in ("completed", "complete") and self.final_acc is not None


@dataclass(frozen=True)
class AccuracyStats:
    """Final validation accuracy over the finished runs: mean, sample standard deviation, range."""

    n: int
    mean: float
    std: float
    low: float
    high: float
    seeds: tuple[int, ...]


def accuracy_stats(runs: list[RunResult]) -> AccuracyStats | None:
    values = [r.final_acc for r in runs if r.finished and r.final_acc is not None]  # finished: it has one
    if not values:
        return None
    seeds = tuple(sorted({r.seed for r in runs if r.finished and r.seed is not None}))
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return AccuracyStats(len(values), statistics.fmean(values), std, min(values), max(values), seeds)


@dataclass(frozen=True)
class Timing:
    """Forward latency measured with torch.utils.benchmark (warm-up excluded): per-call times in ms."""

    engine: str               # "PyTorch" or "ONNX Runtime"
    device: str               # "cpu" or "cuda"
    batch: int
    median_ms: float
    q1_ms: float              # the spread: interquartile range
    q3_ms: float
    min_ms: float
    max_ms: float
    samples: int              # timed blocks

    @property
    def throughput(self) -> float:
        """Images per second at the median."""
        return self.batch * 1000.0 / self.median_ms


@dataclass(frozen=True)
class MemoryPeak:
    """Peak activation memory of one inference forward: measured next to the analysis's prediction."""

    device: str
    batch: int
    measured_bytes: int
    predicted_bytes: int
    how: str                  # how it was measured (a sentence)

    @property
    def ratio(self) -> float:
        return self.measured_bytes / self.predicted_bytes if self.predicted_bytes else float("nan")


@dataclass(frozen=True)
class EffectiveRF:
    """Luo et al.'s effective receptive field of a trained network's last spatial layer, next to the
    theoretical one: the extent where the gradient is non-zero and the central box holding 90 % of it."""

    layer: str
    depth: int                # position of the layer among the network's layers (1-based)
    theoretical: tuple[float, float]
    support: tuple[int, int]
    mass90: tuple[int, int]
    images: int
    source: str               # which images: the run's validation data, or noise
    run: str                  # the run folder whose weights were used


@dataclass
class Entry:
    """One network of the comparison."""

    report: Report
    spec: Spec | None         # None for an fx-imported module (no structural diff then)
    origin: str
    runs: list[RunResult] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    memory: list[MemoryPeak] = field(default_factory=list)
    erf: EffectiveRF | None = None
    filters_png: str | None = None  # base64 PNG of the first conv layer's trained filters
    filters_caption: str = ""
    diagram_svg: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.report.name

    @property
    def accuracy(self) -> AccuracyStats | None:
        return accuracy_stats(self.runs)

    def latency(self, device: str = "cpu", batch: int = 1, engine: str = "PyTorch") -> Timing | None:
        return next((t for t in self.timings if (t.device, t.batch, t.engine) == (device, batch, engine)), None)


@dataclass
class Comparison:
    """Everything a comparative report shows; ``object_size`` (pixels) is marked on the receptive-field chart."""

    entries: list[Entry]
    object_size: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)

