"""Projecting one unit back to pixel space: Zeiler and Fergus' deconvnet (2014) and guided backpropagation
(Springenberg et al. 2015).

Both are the gradient of the unit with respect to the input with one change at every ReLU on the way back:
the deconvnet passes ``relu(upstream)`` (the reconstruction's own sign), guided backpropagation passes
``relu(upstream)`` only where the forward input was positive. Max pooling routes through the switches of
the forward pass and convolutions apply the transposed filters, exactly as autograd does. Other activations
(tanh, GELU, ...) keep their plain gradient; ``Projection.plain`` counts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from analysis.records import Report
from training.errors import ConfigError
from training.interpret.common import Box, check_channel, eval_mode, rf_box, spatial_output

RULES = ("deconv", "guided")


class _Deconv(torch.autograd.Function):
    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: object, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return g.clamp(min=0)


class _Guided(torch.autograd.Function):
    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)  # type: ignore[attr-defined]
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: object, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return g.clamp(min=0) * (x > 0).to(g.dtype)


@contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[int]:
    """Every nn.ReLU of ``model`` back-propagates by ``rule`` for the duration; yields how many other
    activation modules keep their plain gradient."""
    if rule not in RULES:
        raise ConfigError(f"rule {rule!r}: expected one of {', '.join(RULES)}")
    fn = _Deconv if rule == "deconv" else _Guided
    handles = []
    plain = 0
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(lambda _m, inp, _out: fn.apply(inp[0])))
        elif type(m).__module__ == "torch.nn.modules.activation":
            plain += 1
    try:
        yield plain
    finally:
        for h in handles:
            h.remove()


@dataclass
class Projection:
    layer: str
    channel: int
    rule: str
    unit: tuple[int, int]    # (row, col) of the projected unit (the channel's strongest, unless given)
    value: float             # its activation
    box: Box                 # its theoretical receptive field (the projection is zero outside it)
    map: np.ndarray          # (C, H, W) the projection in input space
    plain: int               # activations that are not ReLU (plain gradient through them)


def project(model: nn.Module, layer: str, channel: int, image: torch.Tensor, rule: str = "deconv",
            unit: tuple[int, int] | None = None, report: Report | None = None) -> Projection:
    """Project ``channel``'s strongest unit of ``layer`` (or ``unit``) for one normalised ``image`` (C, H, W)."""
    with eval_mode(model), relu_rule(model, rule) as plain, torch.enable_grad():
        x = image.detach().float().unsqueeze(0).requires_grad_(True)
        out = spatial_output(model, layer, x)
        check_channel(out, layer, channel)
        fmap = out[0, channel]
        if unit is None:
            unit = divmod(int(fmap.argmax()), int(fmap.shape[1]))
        if not (0 <= unit[0] < fmap.shape[0] and 0 <= unit[1] < fmap.shape[1]):
            raise ConfigError(f"unit {unit}: layer {layer!r} is {fmap.shape[0]}x{fmap.shape[1]}")
        value = fmap[unit]
        (grad,) = torch.autograd.grad(value, x)
    return Projection(layer, channel, rule, (int(unit[0]), int(unit[1])), float(value.detach()),
                      rf_box(report, layer, unit, tuple(image.shape[-2:])), grad[0].cpu().numpy(), plain)
