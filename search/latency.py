"""Measured latency: the median forward time of one image (batch 1) on the search device.

Timed with ``torch.utils.benchmark`` (warm-up, CUDA synchronisation, the thread count of this process,
blocks of runs sized to the timer's resolution); the median, not the mean: on a shared machine a few runs
are slowed by other processes.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

# torch.utils.benchmark imports cpp_extension, which warns about a missing CUDA runtime on CPU-only machines
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
from torch.utils import benchmark  # noqa: E402


def forward_ms(model: nn.Module, input_shape: tuple[int, int, int], device: torch.device, warmup: int = 3,
               max_seconds: float = 1.0) -> float:
    """Median batch-1 forward time in ms, over about ``max_seconds`` of timed runs after ``warmup`` passes."""
    was = model.training
    model.eval()
    x = torch.zeros(1, *input_shape, device=device)
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            timer = benchmark.Timer(stmt="model(x)", globals={"model": model, "x": x},
                                    num_threads=torch.get_num_threads())
            measured = timer.blocked_autorange(min_run_time=max_seconds)
    finally:
        model.train(was)
    return 1000.0 * measured.median
