"""Measured latency: the median forward time of one image (batch 1) on the search device."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from training.device import sync


def forward_ms(model: nn.Module, input_shape: tuple[int, int, int], device: torch.device, warmup: int = 3,
               repeats: int = 30, max_seconds: float = 1.0) -> float:
    """Median of up to ``repeats`` timed forward passes (stopping after ``max_seconds``), in ms.

    The median, not the mean: on a shared machine a few runs are slowed by other processes.
    """
    was = model.training
    model.eval()
    x = torch.zeros(1, *input_shape, device=device)
    times: list[float] = []
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            sync(device)
            start = time.perf_counter()
            while len(times) < repeats and (not times or time.perf_counter() - start < max_seconds):
                t = time.perf_counter()
                model(x)
                sync(device)
                times.append(time.perf_counter() - t)
    finally:
        model.train(was)
    return 1000.0 * statistics.median(times)
