"""Optimizers and learning-rate schedules.

Schedules are functions of the training *progress* in [0, 1] rather than of a step count, so a run that
ends on a time budget follows the same curve as one that ends on its epoch count (the loop feeds the
larger of the step fraction and the time fraction).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from training.config import TrainConfig

ONECYCLE_START_DIV = 25.0   # one-cycle starts at lr / 25 (torch's OneCycleLR default)
ONECYCLE_FINAL_DIV = 1e4    # and ends at lr / 25 / 1e4


def lr_factor(schedule: str, progress: float, warmup: float | None = None) -> float:
    """The learning rate at ``progress`` as a fraction of the peak ``lr``."""
    p = min(max(progress, 0.0), 1.0)
    if schedule == "onecycle":
        w = 0.25 if warmup is None else warmup
        low, final = 1.0 / ONECYCLE_START_DIV, 1.0 / ONECYCLE_START_DIV / ONECYCLE_FINAL_DIV
        if p < w:
            return low + (1.0 - low) * (1.0 - math.cos(math.pi * p / w)) / 2.0
        q = (p - w) / (1.0 - w) if w < 1.0 else 1.0
        return final + (1.0 - final) * (1.0 + math.cos(math.pi * q)) / 2.0
    w = warmup or 0.0
    if p < w:
        return p / w
    if schedule == "cosine":
        q = (p - w) / (1.0 - w) if w < 1.0 else 1.0
        return (1.0 + math.cos(math.pi * q)) / 2.0
    return 1.0


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW or SGD; weight decay only on weights with 2+ dimensions (not on biases or norm scales)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr, fused=True if device.type == "cuda" else None)
