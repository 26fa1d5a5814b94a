"""One training run on its own thread: the training generator's records relayed to the UI, and what the
live model has learned (filters, feature maps, effective receptive field) computed between steps at a
throttled rate, on that thread, never on the UI thread.

The model is only touched by the training thread while the run goes on; after the run, ``model`` holds the
trained weights for views that ask for another layer (they compute in a background task).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from arch.errors import ConvSmithError
from arch.spec import Spec

SAMPLES = 16  # validation images of the effective receptive field (the first ones; the preview shows them)


@dataclass
class Visuals:
    """Filters of the first conv layer and of the chosen layer, the chosen layer's feature maps for the
    chosen sample, and its effective receptive field."""

    step: int
    epoch: int
    layer: str
    first: Any = None             # training.visualize.FilterGrid of the first conv layer
    chosen: Any = None            # FilterGrid of the chosen layer (None: not a convolution)
    features: np.ndarray | None = None  # tiled feature maps (H, W) in [0, 1]
    channels: int = 0             # feature maps of the layer
    erf: Any = None               # training.visualize.ERF
    erf_rgb: np.ndarray | None = None
    sample: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


def background_priority(niceness: int = 10) -> None:
    """Lower the calling thread's scheduling priority (Linux: per thread; its torch worker threads inherit
    it), so that on a busy machine the window's thread runs first. Nothing changes on an idle machine."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def sample_batch(data: Any) -> Any:
    """The first validation images, normalised, on the data's device (the same ones the preview shows)."""
    x, _ = next(data.batches("val", SAMPLES, data.normalizer(data.device)))
    return x


def visualize(model: Any, images: Any, layer: str, sample: int, step: int = 0, epoch: int = 0) -> Visuals:
    """Everything the views draw for ``layer``; a part that does not apply (a flat layer has no ERF, a
    pooling layer no filters) is left out and said in ``problems``."""
    from torch import nn

    from training.errors import ConfigError
    from training.images import hot
    from training.visualize import conv_layers, effective_rf, feature_grid, feature_maps, filter_grid, get_layer

    out = Visuals(step, epoch, layer, sample=sample)
    convs = conv_layers(model)
    if convs:
        out.first = filter_grid(model, convs[0])
    if not layer:
        return out
    try:
        module = get_layer(model, layer)
        if isinstance(module, nn.Conv2d):
            out.chosen = out.first if layer == convs[0] else filter_grid(model, layer)
        index = min(sample, len(images) - 1)
        maps = feature_maps(model, layer, images[index])
        out.channels = int(maps.shape[0])
        if maps.ndim == 3:
            out.features = feature_grid(maps)
            out.erf = effective_rf(model, layer, images)
            out.erf_rgb = hot(out.erf.map)
        else:
            out.problems.append(f"{layer} has a flat output ({maps.shape[0]} values): no maps, no receptive field")
    except ConfigError as e:
        out.problems.append(str(e))
    return out


class TrainJob(QObject):
    """Start with ``start()``; ``stop()`` cancels between steps (the run directory is finalised)."""

    record = pyqtSignal(object)   # StartRecord / StepRecord / EpochRecord / DoneRecord (live model left out)
    visuals = pyqtSignal(object)  # Visuals
    failed = pyqtSignal(str)
    finished = pyqtSignal(object)  # this job

    def __init__(self, spec: Spec, source: str, data: Any, config: Any, run_dir: Path, init_from: Path | None = None,
                 interval: float = 0.75, parent: QObject | None = None) -> None:
        """``data``: the dataset already loaded for ``source`` (the preview's), or None to load it here."""
        super().__init__(parent)
        self.spec, self.source, self.data, self.config = spec, source, data, config
        self.run_dir, self.init_from = run_dir, init_from
        self.interval = interval
        self.cancel = threading.Event()
        self.wanted = threading.Event()  # visuals asked for now (another layer or sample was chosen)
        self.layer = ""
        self.sample = 0
        self.model: Any = None           # the trained model once the run has ended
        self.images: Any = None          # the sample batch, on the model's device
        self._thread = threading.Thread(target=self._run, name="training", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.cancel.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def choose(self, layer: str | None = None, sample: int | None = None) -> None:
        """Another layer or sample for the visuals: drawn at the next step."""
        if layer is not None:
            self.layer = layer
        if sample is not None:
            self.sample = sample
        self.wanted.set()

    def _emit(self, signal: Any, value: Any) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the tab is gone (window closed): the run still finishes its directory
            self.cancel.set()

    def _run(self) -> None:
        background_priority()
        try:
            self._train()
        except ConvSmithError as e:
            self._emit(self.failed, str(e))
        except Exception as e:  # an unexpected error must reach the person, with its traceback
            self._emit(self.failed, f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
        finally:
            try:
                self.finished.emit(self)
            except RuntimeError:
                pass

    def _train(self) -> None:
        from training import load_data, train
        from training.device import pick_device

        device = pick_device(self.config.device)
        loaded = self.data if self.data is not None else load_data(self.source, "cpu", self.spec.input)
        data = loaded.adapt(self.spec.input).to(device)
        run = train(self.spec, data, self.config, run_dir=self.run_dir, cancel=self.cancel, init_from=self.init_from)
        self.images = sample_batch(data)
        model, last = None, 0.0
        for rec in run:
            if rec.kind in ("start", "done"):
                model = rec.model
                rec = dataclasses.replace(rec, model=None)
            self._emit(self.record, rec)
            now = time.monotonic()
            due = rec.kind in ("start", "epoch", "done") or self.wanted.is_set() or now - last >= self.interval
            if due and model is not None:
                self.wanted.clear()
                step = getattr(rec, "step", getattr(rec, "steps", 0))
                epoch = getattr(rec, "epoch", getattr(rec, "epochs", 0))
                self._emit(self.visuals, visualize(model, self.images, self.layer, self.sample, step, epoch))
                last = time.monotonic()
        self.model = model
