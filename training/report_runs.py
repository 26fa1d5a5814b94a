"""What the training runs on disk say about a network, for the comparative report: every run folder (and
search trial folder, which is a run folder too) that trained exactly this network, matched by what the
spec builds (``training.matching``), not by its name; the first-layer filters and the
effective receptive field of the trained weights."""

from __future__ import annotations

import base64
import io as _io
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from analysis.records import Report
from analysis.report_model import EffectiveRF, RunResult
from arch.errors import ConvSmithError
from arch.spec import Spec
from training.matching import fingerprint, run_fingerprint
from training.runs import load_history

MAX_DEPTH = 4  # runs/NAME, studies/NAME/trials/NNNNN: how deep a folder is searched for run folders
ERF_IMAGES = 16


def run_folders(roots: Iterable[str | Path]) -> list[Path]:
    """Folders holding a run (run.json and spec.json) under ``roots``, at most MAX_DEPTH levels down, sorted."""
    found: set[Path] = set()
    for root in roots:
        base = Path(root)
        if not base.is_dir():
            continue
        for here, dirs, files in os.walk(base):
            depth = len(Path(here).relative_to(base).parts)
            if "run.json" in files and "spec.json" in files:
                found.add(Path(here))
            if depth >= MAX_DEPTH:
                dirs.clear()
            dirs.sort()
    return sorted(found)


def run_result(path: Path, kind: str = "run", where: str | None = None) -> RunResult:
    """A run folder's status, seed, epochs and curve (ConvSmithError when it cannot be read)."""
    h = load_history(path)
    train = h.config.get("train") or {}
    curve = tuple((float(r["epoch"]), float(r["val_acc"])) for r in h.epochs
                  if r.get("val_acc") is not None and r.get("complete", True))
    return RunResult(kind, where or str(path), str(h.run.get("status", "?")), train.get("seed"),
                     int(h.run.get("epochs") or 0), train.get("batch_size"), h.run.get("final_val_acc"),
                     h.run.get("best_val_acc"), curve)


def matching_runs(spec: Spec, folders: Iterable[Path]) -> list[tuple[Path, RunResult]]:
    """The run folders among ``folders`` whose spec builds the same network as ``spec``."""
    target = fingerprint(spec)
    out = []
    for path in folders:
        if run_fingerprint(path, spec.num_classes) != target:
            continue
        try:
            out.append((path, run_result(path)))
        except ConvSmithError:
            continue
    return out


def _checkpoint_model(run: Path) -> torch.nn.Module:
    from training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run, "best" if (run / "best.pt").exists() else "final")
    return ckpt.build()


def has_weights(run: Path) -> bool:
    return any((run / name).exists() for name in ("best.pt", "final.pt"))


def png_base64(image: np.ndarray, min_side: int = 192) -> str:
    """A [0, 1] float image as a base64 PNG, enlarged with nearest-neighbour."""
    from training.images import to_image

    buf = _io.BytesIO()
    to_image(image, min_side=min_side).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def first_filters(run: Path) -> tuple[str, object]:
    """(base64 PNG, FilterGrid) of the first conv layer of a run's trained weights."""
    from training.visualize import conv_layers, filter_grid

    model = _checkpoint_model(run)
    if not conv_layers(model):
        raise ConvSmithError(f"{run}: the network has no convolution, so no filters")
    grid = filter_grid(model)
    return png_base64(grid.image), grid


def _erf_images(run: Path, shape: tuple[int, ...]) -> tuple[torch.Tensor, str]:
    """Validation images of the run's own data, normalised as in training; noise when they cannot be loaded."""
    from training.data import load_data

    h = load_history(run)
    source = (h.config.get("data") or {}).get("source")
    try:
        data = load_data(source, "cpu", tuple(shape))
        x, _ = next(data.batches("val", ERF_IMAGES, data.normalizer(torch.device("cpu"))))
        return x, f"validation images of {source}"
    except (ConvSmithError, TypeError, StopIteration):
        gen = torch.Generator().manual_seed(0)
        return torch.randn(ERF_IMAGES, *shape, generator=gen), "Gaussian noise (the run's data is not readable here)"


def _mass_width(marginal: np.ndarray, share: float = 0.9) -> int:
    """Width of the central interval holding ``share`` of a 1-D distribution (5th to 95th percentile)."""
    cum = np.cumsum(marginal) / marginal.sum()
    tail = (1 - share) / 2
    lo = int(np.searchsorted(cum, tail, side="left"))
    hi = int(np.searchsorted(cum, 1 - tail, side="left"))
    return hi - lo + 1


def effective_rf(run: Path, report: Report) -> EffectiveRF:
    """Effective RF of the last spatial layer (a module of the built model) of the trained network."""
    from training.visualize import effective_rf as erf_of

    model = _checkpoint_model(run)
    modules = dict(model.named_modules())
    pick = next(((i, x) for i, x in reversed(list(enumerate(report.layers)))
                 if x.name in modules and len(x.out_shape) == 3 and not x.rf_whole_input), None)
    if pick is None:
        raise ConvSmithError(f"{run}: no spatial layer to measure an effective receptive field at")
    depth, layer = pick
    images, source = _erf_images(run, tuple(report.input_shape))
    erf = erf_of(model, layer.name, images)
    g = erf.map.astype(np.float64)
    if not g.sum() > 0 or any(math.isnan(v) for v in erf.centroid):
        raise ConvSmithError(f"{run}: no gradient reaches the input from {layer.name} (dead units)")
    top, bottom, left, right = erf.support
    return EffectiveRF(layer.name, depth + 1, (float(layer.rf_size[0]), float(layer.rf_size[1])),
                       (bottom - top + 1, right - left + 1), (_mass_width(g.sum(1)), _mass_width(g.sum(0))),
                       erf.images, source, str(run))
