"""What the training generator yields, in order: one StartRecord, StepRecords every ``log_every`` steps,
an EpochRecord after each epoch's evaluation, SnapshotRecords when asked for, and one DoneRecord last.

Records are plain data (the GUI draws them, the run directory stores them); ``to_dict`` leaves out the
live model and arrays so a record serialises to JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from training.visualize import ERF, FilterGrid

STATUSES = ("completed", "early_stopped", "cancelled", "diverged", "time_budget", "oom")


def json_safe(value: Any) -> Any:
    """NaN / Inf -> None (JSON has no such numbers), tuples -> lists, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


class Record:
    kind = ""
    _SKIP: tuple[str, ...] = ("model",)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (the live model and arrays left out; NaN / Inf as None)."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name not in self._SKIP:
                out[f.name] = json_safe(getattr(self, f.name))
        return out


@dataclass
class StartRecord(Record):
    """The run as it starts: where it runs, what it trains on, and any adaptation made to fit the data."""

    device: str
    amp: str | None                # "bfloat16" / "float16" / None
    channels_last: bool
    params: int
    train_size: int
    val_size: int
    steps_per_epoch: int
    epochs: int
    input_shape: tuple[int, int, int]
    classes: list[str]
    crop: int
    flip: bool
    adapted: list[str] = field(default_factory=list)
    run_dir: str | None = None
    model: nn.Module | None = None  # the live model (the GUI may draw its filters between records)
    trainable: int | None = None   # parameters that train (the rest are frozen); None: all of them
    augment: str = ""              # the rich augmentation on, in words ("rotate 15, erase 0.25")
    loss: str = ""                 # the training loss (TrainConfig.loss, auto resolved for the data)
    multilabel: bool = False       # any number of classes per image (multi-hot targets)
    kind = "start"

    def setup_lines(self) -> list[str]:
        """What the run trains and how, beyond the adaptations: frozen parameters, augmentation (CLI, GUI log)."""
        out = []
        if self.trainable is not None:
            out.append(f"trainable: {self.trainable:,} of {self.params:,} parameters "
                       f"({self.params - self.trainable:,} frozen)")
        if self.augment:
            out.append(f"augmentation: {self.augment}")
        if self.multilabel:
            out.append(f"multi-label data, loss {self.loss}: a class is predicted when its sigmoid exceeds 0.5; "
                       "accuracy is exact match (every class of an image right); no top-5 or confusion matrix")
        return out


@dataclass
class StepRecord(Record):
    """Training progress; loss and acc are averages over the steps since the previous StepRecord."""

    epoch: int             # 1-based
    step: int              # global optimizer steps so far
    loss: float
    acc: float             # training top-1 in [0, 1] (on augmented batches); multi-label: exact match
    lr: float
    images_per_s: float    # training throughput since the previous StepRecord
    elapsed: float         # seconds since the start, evaluation included
    progress: float        # fraction of the run done (steps or time budget, whichever is further)
    eta: float | None      # seconds left, estimated from the progress rate
    kind = "step"


@dataclass
class EpochRecord(Record):
    epoch: int
    step: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    elapsed: float
    images_per_s: float    # training throughput over the epoch (evaluation excluded)
    train_time: float      # seconds of training steps in this epoch
    eval_time: float
    best_val_acc: float
    is_best: bool
    confusion: list[list[int]]  # rows: true class, columns: predicted class (validation set); multi-label: []
    complete: bool = True  # False: the epoch was cut short by the time budget, then evaluated
    val_top5: float | None = None  # top-5 accuracy (None with 5 classes or fewer, and for multi-label data)
    # recall per class (None: no such image); multi-label: the share of images whose class is predicted right
    per_class_acc: list[float | None] = field(default_factory=list)
    val_f1: float | None = None    # multi-label only: mean F1 over the classes (sigmoid > 0.5)
    val_map: float | None = None   # multi-label only: mean average precision over the classes
    kind = "epoch"


@dataclass
class SnapshotRecord(Record):
    """What the live model has learned at one layer (throttled by ``TrainConfig.snapshot_every``)."""

    step: int
    epoch: int
    layer: str
    filters: FilterGrid
    features: Any          # numpy (C, H, W): the layer's output for the first validation image
    erf: ERF
    kind = "snapshot"
    _SKIP = ("filters", "features", "erf")


@dataclass
class DoneRecord(Record):
    """How the run ended. ``final_val_*`` are from the last evaluation (a cancelled run is not re-evaluated)."""

    status: str            # one of STATUSES
    message: str
    epochs: int            # epochs completed
    steps: int
    elapsed: float
    final_val_acc: float | None
    final_val_loss: float | None
    best_val_acc: float | None
    best_epoch: int | None
    run_dir: str | None = None
    model: nn.Module | None = None  # the trained model (on the training device)
    kind = "done"

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "early_stopped", "time_budget")
