"""Occlusion sensitivity (Zeiler and Fergus 2014, fig. 7): slide a grey square over the image and map how
much the probability of the true class drops with each position covered."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.errors import ConfigError
from training.interpret.common import Cancel, Progress, check_class, eval_mode, tick


@dataclass
class Occlusion:
    target: int
    size: int
    stride: int
    base: float              # the class probability of the whole image
    grid: np.ndarray         # (rows, cols) probability drop with the patch at each position
    map: np.ndarray          # (H, W) per pixel: mean drop over the positions whose patch covers it
    peak: tuple[int, int]    # (row, col) pixel of the largest drop in ``map``


def default_patch(hw: tuple[int, int]) -> tuple[int, int]:
    """A patch of about a sixth of the image side, moved by half its size or more, so that about 8 positions
    per side are tried (64 forward passes: a deep network stays near a second on a CPU)."""
    side = min(hw)
    size = max(2, round(side / 6))
    return size, max(1, size // 2, math.ceil((side - size) / 7))


def _starts(n: int, size: int, stride: int) -> list[int]:
    starts = list(range(0, n - size + 1, stride))
    if starts[-1] != n - size:  # the last position touches the far edge, so every pixel is covered
        starts.append(n - size)
    return starts


def occlusion(model: nn.Module, image: torch.Tensor, target: int, size: int | None = None,
              stride: int | None = None, fill: float = 0.0, batch: int = 128, progress: Progress = None,
              cancel: Cancel = None) -> Occlusion:
    """Occlusion map of class ``target`` for a normalised ``image`` (C, H, W); ``fill`` is the patch value in
    normalised units (0: the dataset's mean grey)."""
    h, w = image.shape[-2:]
    d_size, d_stride = default_patch((h, w))
    size, stride = size or d_size, stride or d_stride
    if not (1 <= size <= min(h, w)) or stride < 1:
        raise ConfigError(f"occlusion patch {size} px, stride {stride}: the patch must fit the {h}x{w} image "
                          "and the stride be >= 1")
    rows, cols = _starts(h, size, stride), _starts(w, size, stride)
    positions = [(r, c) for r in rows for c in cols]
    drops = np.zeros(len(positions), dtype=np.float64)
    x = image.detach().float()
    with eval_mode(model), torch.no_grad():
        logits = model(x.unsqueeze(0))
        check_class(logits, target)
        base = float(torch.softmax(logits.float(), 1)[0, target])
        for start in range(0, len(positions), batch):
            part = positions[start:start + batch]
            xs = x.unsqueeze(0).repeat(len(part), 1, 1, 1)
            for j, (r, c) in enumerate(part):
                xs[j, :, r:r + size, c:c + size] = fill
            p = torch.softmax(model(xs).float(), 1)[:, target]
            drops[start:start + len(part)] = base - p.double().cpu().numpy()
            tick(progress, cancel, (start + len(part)) / len(positions))
    total = np.zeros((h, w))
    count = np.zeros((h, w))
    for d, (r, c) in zip(drops, positions):
        total[r:r + size, c:c + size] += d
        count[r:r + size, c:c + size] += 1
    pixel = (total / np.maximum(count, 1)).astype(np.float32)
    peak = np.unravel_index(int(np.argmax(pixel)), pixel.shape)
    return Occlusion(target, size, stride, base, drops.reshape(len(rows), len(cols)).astype(np.float32), pixel,
                     (int(peak[0]), int(peak[1])))
