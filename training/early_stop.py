"""Early stopping and the choice of the best checkpoint, on any validation metric (TrainConfig.monitor)."""

from __future__ import annotations

from dataclasses import dataclass

HIGHER_IS_BETTER = {"val_acc": True, "val_top5": True, "val_loss": False, "val_f1": True, "val_map": True}


@dataclass
class Monitor:
    """Tracks the monitored metric: ``update`` says whether an epoch is the best so far (improved by more than
    ``min_delta``) and ``should_stop`` whether ``patience`` epochs have passed without that."""

    metric: str = "val_acc"
    patience: int | None = None
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    waited: int = 0

    def update(self, value: float | None, epoch: int) -> bool:
        if value is None:  # the metric does not exist for this data (top-5 with <= 5 classes)
            return False
        sign = 1.0 if HIGHER_IS_BETTER[self.metric] else -1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self.waited = value, epoch, 0
            return True
        self.waited += 1
        return False

    def should_stop(self) -> bool:
        return self.patience is not None and self.waited >= self.patience

    def reason(self) -> str:
        return (f"early stop: {self.metric} has not improved by more than {self.min_delta:g} for {self.waited} "
                f"epochs (best {self.best:.4g} at epoch {self.best_epoch})")
