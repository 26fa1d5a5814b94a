"""What every interpretation method shares: progress and cancel callbacks, the receptive-field box of a unit
(from the analysis, not guessed), and running a model in eval mode with input gradients."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from analysis.records import Report
from training.errors import ConfigError
from training.visualize import get_layer

Progress = Callable[[float], None] | None   # called with the fraction done, 0..1
Cancel = Callable[[], bool] | None          # returns True when the person asked to stop

Box = tuple[int, int, int, int]  # (top, bottom, left, right), inclusive, in input pixels


class Cancelled(Exception):
    """A method stopped because its cancel check said so (not an error: nothing is written)."""


def tick(progress: Progress, cancel: Cancel, fraction: float) -> None:
    """Report ``fraction`` done, then stop if cancelled (called between chunks of work)."""
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0))
    if cancel is not None and cancel():
        raise Cancelled


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration (batch norm uses its running stats, dropout is off), restored after."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


@contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread for the calling thread while inside (OpenMP's thread count is per calling thread,
    so a training thread beside it keeps its own): single-image work on small tensors runs several times
    faster than with threads that contend on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def rf_box(report: Report | None, layer: str, unit: tuple[int, int], hw: tuple[int, int]) -> Box:
    """The theoretical receptive field of ``layer``'s unit (row, col), clipped to the ``hw`` input, from the
    analysis' per-layer size, jump and offset (the centre of unit (0, 0)). Without a report (a plain module)
    or for a layer that sees the whole input, the whole image."""
    rec = next((r for r in report.layers if r.name == layer), None) if report is not None else None
    if rec is None or rec.rf_whole_input:
        return 0, hw[0] - 1, 0, hw[1] - 1
    out = []
    for ax in (0, 1):
        centre = rec.rf_offset[ax] + unit[ax] * rec.rf_jump[ax]
        half = (rec.rf_size[ax] - 1) / 2
        out += [max(0, math.ceil(centre - half)), min(hw[ax] - 1, math.floor(centre + half))]
    return out[0], out[1], out[2], out[3]


def spatial_output(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """``layer``'s output for ``x`` (N, C, H, W), refusing a flat layer with a clear line."""
    from training.visualize import layer_output

    get_layer(model, layer)
    out = layer_output(model, layer, x)
    if out.ndim != 4:
        raise ConfigError(f"layer {layer!r} has a flat output {tuple(out.shape[1:])}: choose a spatial layer "
                          "(a convolution, pooling or activation before the flatten)")
    return out


def check_channel(out: torch.Tensor, layer: str, channel: int) -> None:
    if not 0 <= channel < out.shape[1]:
        raise ConfigError(f"channel {channel}: layer {layer!r} has {out.shape[1]} channels (0..{out.shape[1] - 1})")


def check_class(logits: torch.Tensor, target: int) -> None:
    if not 0 <= target < logits.shape[1]:
        raise ConfigError(f"class {target}: the network has {logits.shape[1]} classes (0..{logits.shape[1] - 1})")
