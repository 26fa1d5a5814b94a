"""The training engine: datasets, a device-resident training loop that yields records, checkpoints, run
directories, and what a network learned (filters, feature maps, effective receptive field).

Importing ``training`` is cheap (names below load their module, and torch, on first use).

Data — load once, train many times::

    data = load_data("idx:/data/mnist", device="auto")       # -> Data on cuda > mps > cpu (DataError names
                                                             #    a bad string, file or folder)
    data = load_data("synthetic:shapes?n=5000&size=32&channels=3")
    data.describe(); data.classes; data.input_shape; len(data.train); len(data.val); data.adapted
    small = data.subset(train=2000, val=500)                 # random subsets, for quick trials
    fitted = data.adapt((3, 32, 32))                         # resize / gray<->RGB, each change in .adapted

  Dataset strings (``training.source``): ``synthetic:shapes?n=&size=&channels=&classes=&noise=``,
  ``idx:PATH``, ``mnist:ROOT``, ``fashionmnist:ROOT``, ``kmnist:ROOT``, ``cifar10:ROOT``, ``cifar100:ROOT``,
  ``svhn:ROOT`` (``?download=1`` to download; offline, the error says where the files go),
  ``folder:PATH?size=N&channels=1|3&stream=auto|0|1&workers=N``;
  every kind takes ``val=FRACTION`` (or ``val=test`` for an official test split), ``seed=N``, ``mean=&std=``.
  ``parse_source(text)`` checks a string without touching files. Split: ``randperm(n, seed)``, the first
  ``n - round(n * val)`` indices train, the rest validate.

Training — a generator of records (``training.records``)::

    config = TrainConfig(epochs=8, batch_size=128, optimizer="adamw", lr=3e-3, time_budget=None, device="auto")
    cancel = threading.Event()
    for rec in train(spec_or_model, data, config, run_dir=None, cancel=cancel, init_from=None):
        rec.kind   # "start" | "step" | "epoch" | "snapshot" | "done"

  ``train`` raises at once (ConfigError / DataError / CheckpointError / SpecError) for a bad request: a spec
  whose input does not fit the data is adapted (``StartRecord.adapted`` lists every change; ``num_classes``
  follows the data), or refused when no adaptation exists. Records:

  - StartRecord: device, amp, channels_last, params, train_size, val_size, steps_per_epoch, epochs,
    input_shape, classes, crop, flip, adapted, run_dir, model (the live nn.Module).
  - StepRecord (every ``log_every`` steps): epoch, step, loss, acc, lr, images_per_s, elapsed, progress, eta.
  - EpochRecord (after each epoch's evaluation): train_loss/acc, val_loss/acc, best_val_acc, is_best,
    confusion (rows true, columns predicted), images_per_s, train_time, eval_time, complete.
  - SnapshotRecord (every ``snapshot_every`` s, when set): layer, filters (FilterGrid), features, erf (ERF).
  - DoneRecord (always last): status in STATUSES = completed | cancelled | diverged | time_budget | oom,
    message, epochs, steps, elapsed, final_val_acc, final_val_loss, best_val_acc, best_epoch, run_dir, model;
    ``.ok`` is True for completed and time_budget.

  Stop between steps with ``cancel.set()`` (ends with DoneRecord "cancelled"), or close the generator
  (e.g. an Optuna pruner after an EpochRecord): the run directory is still finalised. Training or
  validation loss NaN/Inf -> "diverged"; CUDA/MPS out of memory -> "oom" (memory freed); ``time_budget``
  stops training, evaluates, and ends "time_budget". ``DoneRecord.model`` holds the final weights (the
  best are in the run directory's best.pt). ``record.to_dict()`` gives JSON-ready values (NaN -> None).
  On CUDA, mixed precision (bf16, else fp16 with a GradScaler) and channels_last are on unless turned off;
  ``threads`` and ``deterministic`` are process-wide torch settings, restored when the generator ends.

  ``evaluate(model, data, "val") -> SplitMetrics(loss, acc, n, confusion)``.

Checkpoints and runs::

    ckpt = load_checkpoint(run_dir_or_file, which="final" | "best")   # weights_only=True; CheckpointError
    model = ckpt.build(); ckpt.load_into(model); ckpt.spec; ckpt.meta  # classes, input_shape, mean, std, ...
    train(spec, data, config, init_from=run_dir)                       # continue from a run's weights
    list_runs(root="runs") -> [RunInfo]; load_history(run_dir) -> History(run, config, epochs, steps)
    (run directory layout: see ``training.runs``)

Seeing what was learned (``training.visualize``; arrays, layers named like graph nodes ``body.0.conv``)::

    filter_grid(model, layer=None) -> FilterGrid(image, rgb, rows, cols, kernel, shown, total)
    feature_maps(model, layer, image) -> (C, H, W); feature_grid(maps) -> tiled image
    effective_rf(model, layer, images) -> ERF(map, unit, out_hw, centroid, support)
    conv_layers(model) -> names

Interpretation (``training.interpret``; ``convsmith inspect``): top-k patches, deconvnet / guided backprop,
occlusion, Grad-CAM, activation maximisation, probabilities and misclassified images, per-epoch weight and
gradient histograms (``histograms.json``, recorded unless ``TrainConfig(histograms=False)``).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_data": "training.data", "Data": "training.data",
    "parse_source": "training.source", "DataSource": "training.source",
    "TrainConfig": "training.config",
    "train": "training.loop", "evaluate": "training.loop", "SplitMetrics": "training.loop",
    "StartRecord": "training.records", "StepRecord": "training.records", "EpochRecord": "training.records",
    "SnapshotRecord": "training.records", "DoneRecord": "training.records", "STATUSES": "training.records",
    "Checkpoint": "training.checkpoint", "load_checkpoint": "training.checkpoint",
    "list_runs": "training.runs", "load_history": "training.runs", "RunInfo": "training.runs",
    "History": "training.runs",
    "filter_grid": "training.visualize", "feature_maps": "training.visualize", "feature_grid": "training.visualize",
    "effective_rf": "training.visualize", "conv_layers": "training.visualize", "FilterGrid": "training.visualize",
    "ERF": "training.visualize",
    "DataError": "training.errors", "CheckpointError": "training.errors", "ConfigError": "training.errors",
    "RunError": "training.errors",
    "pick_device": "training.device",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
