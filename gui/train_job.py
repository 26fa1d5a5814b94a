"""One training run on its own thread: the training generator's records relayed to the UI, and what the
live model has learned (filters, feature maps, effective receptive field) computed between steps at a
throttled rate, on that thread, never on the UI thread.

The model is only touched by the training thread while the run goes on; after the run, ``model`` holds the
trained weights for views that ask for another layer (they compute in a background task).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from arch.spec import Spec
from gui.jobs import Job

SAMPLES = 16  # validation images of the effective receptive field (the first ones; the preview shows them)


def sample_batch(data: Any) -> Any:
    """The first validation images, normalised, on the data's device (the same ones the preview shows)."""
    x, _ = next(data.batches("val", SAMPLES, data.normalizer(data.device)))
    return x


class TrainJob(Job):
    """Start with ``start()``; ``stop()`` cancels between steps (the run directory is finalised).
    ``failed`` carries the exception (``gui.jobs.describe`` says it); ``finished`` always comes last."""

    record = pyqtSignal(object)   # StartRecord / StepRecord / EpochRecord / DoneRecord (live model left out)
    visuals = pyqtSignal(object)  # training.snapshot.Snapshot

    def __init__(self, spec: Spec, source: str, data: Any, config: Any, run_dir: Path, init_from: Path | None = None,
                 interval: float = 0.75, parent: QObject | None = None) -> None:
        """``data``: the dataset already loaded for ``source`` (the preview's), or None to load it here."""
        super().__init__("training", TrainJob._train, parent, niceness=10)
        self.spec, self.source, self.data, self.config = spec, source, data, config
        self.run_dir, self.init_from = run_dir, init_from
        self.interval = interval
        self.wanted = threading.Event()  # visuals asked for now (another layer or sample was chosen)
        self.layer = ""
        self.sample = 0
        self.model: Any = None           # the trained model once the run has ended
        self.images: Any = None          # the sample batch, on the model's device
        self.item.connect(self._route)

    def _route(self, value: Any) -> None:
        from training.snapshot import Snapshot  # loaded by the training thread by now

        (self.visuals if isinstance(value, Snapshot) else self.record).emit(value)

    def choose(self, layer: str | None = None, sample: int | None = None) -> None:
        """Another layer or sample for the visuals: drawn at the next step."""
        if layer is not None:
            self.layer = layer
        if sample is not None:
            self.sample = sample
        self.wanted.set()

    def _train(self) -> None:
        from training import load_data, train
        from training.device import pick_device
        from training.snapshot import snapshot

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
            self.send(rec)
            now = time.monotonic()
            due = rec.kind in ("start", "epoch", "done") or self.wanted.is_set() or now - last >= self.interval
            if due and model is not None:
                self.wanted.clear()
                step = getattr(rec, "step", getattr(rec, "steps", 0))
                epoch = getattr(rec, "epoch", getattr(rec, "epochs", 0))
                self.send(snapshot(model, self.layer, self.images, self.sample, step=step, epoch=epoch))
                last = time.monotonic()
        self.model = model
