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


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device,
                   pretrained: set[str] | None = None) -> torch.optim.Optimizer:
    """AdamW or SGD; weight decay only on weights with 2+ dimensions (not on biases or norm scales). The
    parameters named in ``pretrained`` get ``lr_scale`` = ``config.pretrained_lr`` (the loop multiplies it in)."""
    scale = config.pretrained_lr if config.pretrained_lr is not None and pretrained else 1.0
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((p.ndim > 1, bool(pretrained) and name in pretrained), []).append(p)
    param_groups = [{"params": ps, "weight_decay": config.weight_decay if decay else 0.0,
                     "lr_scale": scale if loaded else 1.0} for (decay, loaded), ps in
                    sorted(groups.items(), key=lambda kv: (not kv[0][0], kv[0][1]))]  # decay first, as before
    if config.optimizer == "sgd":
        return torch.optim.SGD(param_groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(param_groups, lr=config.lr, fused=True if device.type == "cuda" else None)
