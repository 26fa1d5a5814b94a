"""MobileNet v1 depthwise-separable convolution: depthwise kxk then pointwise 1x1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.blocks.conv import check_same, conv_fields, suffix
from arch.fields import Field
from arch.registry import BlockFamily, by, kxk, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class Separable(BlockFamily):
    name = "separable"
    title = "Separable convolution"
    category = "layers"
    doc = "Depthwise kxk convolution (one filter per channel) then a 1x1 pointwise convolution."
    fields = conv_fields() + (
        Field("multiplier", "int", 1, "depthwise channel multiplier", min=1, max=16),
        F.norm(),
        F.activation(),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        return check_same(cfg)

    def summary(self, cfg: Any) -> str:
        return f"separable {kxk(cfg.kernel)}/{by(cfg.stride)}, {cfg.out}{suffix(cfg)}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        y = e.conv_unit(x, "dw", x.channels * cfg.multiplier, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation,
                        groups=x.channels, norm=cfg.norm, activation=cfg.activation,
                        padding_mode=cfg.padding_mode)
        return e.conv_unit(y, "pw", cfg.out, 1, norm=cfg.norm, activation=cfg.activation)
