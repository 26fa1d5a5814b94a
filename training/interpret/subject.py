"""A trained run made ready to inspect: its best (or final) weights in eval mode on the CPU, its spec's
analysis (layer shapes and receptive fields), its dataset's validation split and the normalisation it was
trained with, and a user's image file read the same way the dataset's images are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from analysis.records import Report
from training.augment import Normalizer
from training.errors import ConfigError, DataError
from training.interpret.common import Box, Cancel, Progress, rf_box
from training.interpret.probs import Predictions


@dataclass(eq=False)
class Subject:
    """Everything a method needs about one run; images are normalised (N, C, H, W) float tensors."""

    path: Path | None
    model: nn.Module
    report: Report | None
    classes: list[str]
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    data: Any = None                  # training.data.Data on the CPU, adapted to the network (None: no dataset)
    epoch: int | None = None          # the checkpoint's epoch
    data_error: str = ""              # why the run's dataset could not be loaded (when data is None)
    _val: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)
    _pred: Any = field(default=None, repr=False)

    @property
    def normalize(self) -> Normalizer:
        return Normalizer(self.mean, self.std, torch.device("cpu"))

    def spatial_layers(self) -> list[str]:
        """Modules whose output is still an image (C, H, W), in network order: what the methods accept."""
        modules = dict(self.model.named_modules())
        if self.report is None:
            from training.visualize import conv_layers

            return conv_layers(self.model)
        return [r.name for r in self.report.layers if len(r.out_shape) == 3 and r.name in modules]

    def last_spatial(self) -> str:
        """Grad-CAM's default layer: the last layer whose units still see part of the input."""
        layers = self.spatial_layers()
        if not layers:
            raise ConfigError("the network has no spatial layer to inspect")
        if self.report is not None and self.report.receptive_field.layer in layers:
            return self.report.receptive_field.layer
        return layers[-1]

    def layer_channels(self, layer: str) -> int:
        rec = next((r for r in self.report.layers if r.name == layer), None) if self.report else None
        if rec is not None and len(rec.out_shape) == 3:
            return int(rec.out_shape[0])
        from training.interpret.common import spatial_output

        with torch.no_grad():
            return int(spatial_output(self.model, layer, torch.zeros(1, *self.input_shape)).shape[1])

    def box(self, layer: str, unit: tuple[int, int]) -> Box:
        return rf_box(self.report, layer, unit, self.input_shape[1:])

    def validation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole validation split, normalised (cached)."""
        if self.data is None:
            why = f" ({self.data_error})" if self.data_error else ""
            raise DataError(f"this run's dataset cannot be loaded{why}: give an image file or --data DATASET")
        if self._val is None:
            xs, ys = [], []
            for x, y in self.data.batches("val", 1024, self.normalize):
                xs.append(x)
                ys.append(y)
            self._val = (torch.cat(xs), torch.cat(ys))
        return self._val

    def predictions(self, progress: Progress = None, cancel: Cancel = None) -> Predictions:
        """Every validation image's prediction (cached): the confusion matrix and its cells' images."""
        if self._pred is None:
            from training.interpret.probs import predictions

            if self.data is not None and self.data.multilabel:
                raise ConfigError("misclassified images and the confusion matrix assume one class per image; this "
                                  "run's data is multi-label (its history holds val_acc, val_f1, val_map)")
            x, y = self.validation()
            self._pred = predictions(self.model, x, y, len(self.classes), progress=progress, cancel=cancel)
        return self._pred

    def image(self, index: int) -> tuple[torch.Tensor, int]:
        """Validation image ``index`` (C, H, W) and its label."""
        x, y = self.validation()
        if not 0 <= index < len(y):
            raise ConfigError(f"--index {index}: the validation split has {len(y)} images (0..{len(y) - 1})")
        return x[index], int(y[index])

    def read_image(self, path: str | Path) -> torch.Tensor:
        """A user's image file, converted to the network's channels and size like a dataset image, normalised."""
        from training.folder import decode

        c, h, w = self.input_shape
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no such image file")
        try:
            a = decode(p, (h, w), c)
        except (OSError, ValueError) as e:
            raise DataError(f"{p}: not a readable image ({e})") from None
        return self.normalize(torch.from_numpy(a)[None])[0]

    def pixels(self, x: torch.Tensor) -> np.ndarray:
        """A normalised image (C, H, W) back to displayable pixels in [0, 1]: (H, W) gray or (H, W, 3)."""
        m = torch.tensor(self.mean).view(-1, 1, 1)
        s = torch.tensor(self.std).view(-1, 1, 1)
        a = (x.detach().cpu().float() * s + m).clamp(0, 1).numpy()
        return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def subject_of(model: nn.Module, spec: Any, data: Any = None) -> Subject:
    """A subject for a live model (the GUI after a run, the tests): analysis from its spec, stats from ``data``."""
    from analysis import analyze

    report = analyze(spec) if spec is not None else None
    shape = tuple(spec.input) if spec is not None else tuple(data.input_shape)
    if data is not None:
        data = data.adapt(shape).to("cpu")
    classes = list(data.classes) if data is not None else [str(i) for i in range(spec.num_classes)]
    mean = tuple(data.mean) if data is not None else (0.0,) * shape[0]
    std = tuple(data.std) if data is not None else (1.0,) * shape[0]
    model.eval()
    return Subject(None, model, report, classes, shape, mean, std, data)  # type: ignore[arg-type]


def load_subject(run_dir: str | Path, which: str = "best", data: Any = None) -> Subject:
    """A run directory's ``which`` checkpoint (``best`` if it exists, else ``final``) and its dataset (the one
    recorded in config.json unless ``data`` is given; a dataset that cannot be loaded leaves image-free methods)."""
    from analysis import analyze
    from training.checkpoint import load_checkpoint
    from training.data import load_data
    from training.runs import load_history

    p = Path(run_dir)
    if p.is_dir() and which == "best" and not (p / "best.pt").exists():
        which = "final"
    ckpt = load_checkpoint(p, which)
    model = ckpt.build().eval()
    spec = ckpt.spec
    shape = tuple(ckpt.meta.get("input_shape") or spec.input)  # type: ignore[union-attr]
    data_error = ""
    if data is None and p.is_dir():
        source = load_history(p).config.get("data", {}).get("source")
        try:
            data = load_data(source, "cpu", shape) if source else None  # type: ignore[arg-type]
        except DataError as e:  # the run's images are gone: the methods that need none still work
            data_error = str(e)
        if not source:
            data_error = "config.json names no dataset"
    elif data is not None:
        data = data.adapt(shape).to("cpu")
    meta = ckpt.meta
    classes = [str(c) for c in meta.get("classes") or (data.classes if data is not None else range(spec.num_classes))]
    mean = tuple(meta.get("mean") or (data.mean if data is not None else (0.0,) * shape[0]))
    std = tuple(meta.get("std") or (data.std if data is not None else (1.0,) * shape[0]))
    return Subject(p, model, analyze(spec), classes, shape, mean, std, data, meta.get("epoch"),  # type: ignore[arg-type]
                   data_error)
