"""Top-k activating patches of a channel (Zeiler and Fergus 2014, fig. 2): over a set of images, the units
of one channel with the largest activation, one per image, each with the input patch its theoretical
receptive field covers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from analysis.records import Report
from training.interpret.common import Box, Cancel, Progress, check_channel, eval_mode, rf_box, spatial_output, tick


@dataclass
class Patch:
    index: int               # image index in the given set
    unit: tuple[int, int]    # (row, col) of the strongest unit in that image's map
    value: float             # its activation
    box: Box                 # its receptive field in input pixels (inclusive), clipped to the image


@dataclass
class TopPatches:
    layer: str
    channel: int
    patches: list[Patch]     # strongest first
    images: int              # how many images were searched


def image_maxima(model: nn.Module, layer: str, channel: int, images: torch.Tensor, batch: int = 256,
                 progress: Progress = None, cancel: Cancel = None
                 ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """Per image: the channel's largest activation (N,), the flat index of its unit (N,), and the map size."""
    values, where = [], []
    hw = (0, 0)
    n = len(images)
    with eval_mode(model), torch.no_grad():
        for start in range(0, n, batch):
            out = spatial_output(model, layer, images[start:start + batch])
            check_channel(out, layer, channel)
            hw = (int(out.shape[2]), int(out.shape[3]))
            v, i = out[:, channel].flatten(1).float().max(1)
            values.append(v)
            where.append(i)
            tick(progress, cancel, min(start + batch, n) / n)
    return torch.cat(values), torch.cat(where), hw


def top_patches(model: nn.Module, layer: str, channel: int, images: torch.Tensor, k: int = 9,
                report: Report | None = None, batch: int = 256, progress: Progress = None,
                cancel: Cancel = None) -> TopPatches:
    """The ``k`` images whose strongest ``channel`` unit is largest, with that unit and its receptive field."""
    values, where, (h, w) = image_maxima(model, layer, channel, images, batch, progress, cancel)
    best = torch.topk(values, min(k, len(values)))
    patches = []
    for v, i in zip(best.values.tolist(), best.indices.tolist()):
        unit = divmod(int(where[i]), w)
        patches.append(Patch(int(i), unit, float(v), rf_box(report, layer, unit, tuple(images.shape[-2:]))))
    return TopPatches(layer, channel, patches, len(images))
