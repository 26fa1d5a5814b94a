"""Plain convolution: conv -> optional batch norm -> activation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field, as_pair
from arch.registry import BlockFamily, by, kxk, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


def conv_fields(kernel: int = 3) -> tuple[Field, ...]:
    return (
        F.out_channels(),
        F.kernel(kernel),
        F.stride(),
        Field("padding", "padding", "auto",
              "'auto' pads (k-1)*d/2 per side; 'same' keeps the size (stride 1 only); 'valid' none",
              min=0, max=64),
        Field("padding_mode", "choice", "zeros", "how the border is filled",
              choices=("zeros", "reflect", "replicate", "circular")),
        Field("dilation", "pair", 1, "spacing between kernel taps", min=1, max=16),
    )


def check_same(cfg: Any) -> list[tuple[str, str]]:
    if cfg.padding == "same" and as_pair(cfg.stride) != (1, 1):
        return [("padding", f"'same' needs stride 1 (got stride {F.show(cfg.stride)})")]
    return []


def suffix(cfg: Any) -> str:
    """', bn, relu' — the norm and activation of a conv-like block as its summary ends."""
    parts = ["bn"] if cfg.norm == "batch" else []
    if cfg.activation != "none":
        parts.append(cfg.activation)
    return "".join(f", {p}" for p in parts)


@register
class Conv(BlockFamily):
    name = "conv"
    title = "Convolution"
    category = "layers"
    doc = "A 2-d convolution, optionally followed by batch norm and an activation."
    fields = conv_fields() + (
        Field("groups", "int", 1, "channel groups (= input channels for depthwise)", min=1, max=F.MAX_CHANNELS),
        Field("bias", "bool", None, "learn a bias (null: yes without normalisation, as nn.Conv2d; "
              "none before batch norm, which cancels it)", nullable=True),
        F.norm(),
        F.activation(),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        problems = check_same(cfg)
        if cfg.out % cfg.groups:
            problems.append(("groups", f"must divide out {cfg.out} (got {cfg.groups})"))
        return problems

    def summary(self, cfg: Any) -> str:
        extra = ""
        if as_pair(cfg.dilation) != (1, 1):
            extra += f" d{kxk(cfg.dilation)}"
        if cfg.groups != 1:
            extra += f" g{cfg.groups}"
        return f"conv {kxk(cfg.kernel)}/{by(cfg.stride)}{extra}, {cfg.out}{suffix(cfg)}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.conv_unit(x, "", cfg.out, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.groups,
                           cfg.norm, cfg.activation, bias=cfg.bias, padding_mode=cfg.padding_mode)  # None: auto
