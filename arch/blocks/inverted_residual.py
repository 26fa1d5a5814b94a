"""MobileNetV2 inverted residual / EfficientNet MBConv: expand 1x1 -> depthwise kxk -> [SE] -> project 1x1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field, as_pair
from arch.registry import BlockFamily, kxk, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class InvertedResidual(BlockFamily):
    name = "inverted_residual"
    title = "Inverted residual (MBConv)"
    category = "blocks"
    multipath = True
    doc = ("Expand to in*expand channels with a 1x1 (skipped when expand is 1), filter with a depthwise "
           "kxk, optionally re-weight channels with squeeze-excitation (squeeze width: in * se_ratio), "
           "project back with a linear 1x1. Skip connection when stride is 1 and in == out.")
    fields = (
        F.out_channels(16),
        Field("expand", "float", 6.0, "expansion ratio of the hidden width", min=1.0, max=16.0),
        Field("kernel", "choice", 3, "depthwise kernel", choices=(3, 5, 7)),
        Field("stride", "choice", 1, "depthwise stride", choices=(1, 2)),
        F.activation("relu6"),
        Field("se_ratio", "float", 0.0, "squeeze-excitation width / input width (0: no SE)", min=0.0, max=1.0),
        Field("se_gate", "choice", "sigmoid", "squeeze-excitation gate", choices=F.GATES),
        Field("attention", "choice", "se", "what se_ratio > 0 adds after the depthwise conv: squeeze-excitation "
              "or CBAM (channel + spatial attention, hidden width in * se_ratio)", choices=("se", "cbam")),
        Field("skip", "bool", True, "use the skip connection when the shapes allow it"),
    )

    def summary(self, cfg: Any) -> str:
        se = f", {cfg.attention} {cfg.se_ratio:g}" if cfg.se_ratio > 0 else ""
        return f"inverted residual x{cfg.expand:g} {kxk(cfg.kernel)}/{cfg.stride}, {cfg.out}{se}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        cin, act = x.channels, cfg.activation
        hidden = int(round(cin * cfg.expand))
        y = x
        if hidden != cin:
            y = e.conv_unit(x, "expand", hidden, 1, activation=act)
        y = e.conv_unit(y, "dw", hidden, cfg.kernel, cfg.stride, groups=hidden, activation=act)
        if cfg.se_ratio > 0 and cfg.attention == "cbam":
            y = e.cbam(y, "cbam", max(1, int(cin * cfg.se_ratio)), 7)
        elif cfg.se_ratio > 0:
            y = e.se(y, "se", max(1, int(cin * cfg.se_ratio)), act, cfg.se_gate)
        y = e.conv_unit(y, "project", cfg.out, 1, activation="none")
        if cfg.skip and as_pair(cfg.stride) == (1, 1) and cin == cfg.out:
            y = e.add(y, x)
        return y
