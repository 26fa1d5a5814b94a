"""TensorBoard event files in a run directory (``tensorboard --logdir runs/`` shows every run), written when the
optional ``tensorboard`` package is installed (``pip install convsmith[tensorboard]``); the run's own
history.csv / history.json are written either way.

Tags: ``train/loss``, ``train/acc``, ``train/lr`` per progress record (x: the optimizer step);
``epoch/<column>`` per epoch (x: the epoch); ``weights/<param>`` histograms when histograms are recorded;
``filters/<layer>`` the first conv layer's filter grid as an image.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

EPOCH_SCALARS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_top5", "val_f1", "val_map", "lr",
                 "images_per_s")


def available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """A SummaryWriter on ``run_dir``; every call is a no-op once closed."""

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer: Any = SummaryWriter(str(run_dir))

    def step(self, rec: Any) -> None:
        for key in ("loss", "acc", "lr"):
            self.writer.add_scalar(f"train/{key}", getattr(rec, key), rec.step)

    def epoch(self, rec: Any, model: nn.Module | None, histograms: bool) -> None:
        for key in EPOCH_SCALARS:
            value = getattr(rec, key, None)
            if value is not None:
                self.writer.add_scalar(f"epoch/{key}", value, rec.epoch)
        if model is not None and histograms:
            for name, p in model.named_parameters():
                self.writer.add_histogram(f"weights/{name}", p.detach().float().cpu(), rec.epoch)
        if model is not None:
            self._filters(model, rec.epoch)
        self.writer.flush()

    def _filters(self, model: nn.Module, epoch: int) -> None:
        from training.visualize import conv_layers, filter_grid

        layers = conv_layers(model)
        if not layers:
            return
        layer = next(iter(layers))
        image = np.asarray(filter_grid(model, layer).image, dtype=np.float32)  # values in [0, 1]
        if image.ndim == 2:
            image = image[:, :, None]
        self.writer.add_image(f"filters/{layer}", image, epoch, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()


def open_log(run_dir: Path | None) -> TensorBoardLog | None:
    """A log on ``run_dir`` when there is one and tensorboard is installed, else None."""
    return TensorBoardLog(run_dir) if run_dir is not None and available() else None
