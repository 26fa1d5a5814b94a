"""The training options as the training code takes them: ``TrainConfig`` is declared once, in
``arch/train_options.py`` (a spec's search section names its options, so the table sits below training)."""

from __future__ import annotations

from arch.train_options import DEVICES, OPTIMIZERS, SCHEDULES, TrainConfig

__all__ = ["DEVICES", "OPTIMIZERS", "SCHEDULES", "TrainConfig"]
