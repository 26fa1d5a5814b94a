"""Squeeze-excitation: re-weights channels by a gate computed from their global average."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field
from arch.registry import BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class SqueezeExcitation(BlockFamily):
    name = "se"
    title = "Squeeze-excitation"
    category = "blocks"
    multipath = True
    doc = "Global average pool -> 1x1 (C*ratio) -> activation -> 1x1 (C) -> gate, multiplied into the input."
    fields = (
        Field("ratio", "float", 0.25, "squeeze width / channels", min=0.001, max=1.0),
        F.activation("relu"),
        Field("gate", "choice", "sigmoid", "gate activation", choices=F.GATES),
    )

    def summary(self, cfg: Any) -> str:
        return f"squeeze-excitation {cfg.ratio:g}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        e.need_spatial(x, "squeeze-excitation")
        return e.se(x, "", max(1, int(x.channels * cfg.ratio)), cfg.activation, cfg.gate)
