"""ResNet residual blocks: basic (3x3, 3x3) and bottleneck (1x1, 3x3, 1x1), with a shortcut."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field, as_pair
from arch.registry import BlockFamily, by, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class Residual(BlockFamily):
    name = "residual"
    title = "Residual"
    category = "blocks"
    multipath = True
    doc = ("ResNet block. basic: 3x3 -> 3x3; bottleneck: 1x1 -> 3x3 -> 1x1 with out/expansion channels "
           "inside (stride on the 3x3, ResNet v1.5). The shortcut is the identity, or a 1x1 conv + BN "
           "projection when the stride or the width changes; shortcut none makes it the plain block (no add).")
    fields = (
        Field("kind", "choice", "basic", "basic or bottleneck", choices=("basic", "bottleneck")),
        F.out_channels(64),
        Field("stride", "pair", 1, "stride of the block", min=1, max=4),
        Field("expansion", "int", 4, "bottleneck: out / inner width", min=1, max=16,
              when=("kind", ("bottleneck",))),
        Field("groups", "int", 1, "groups of the 3x3 (ResNeXt)", min=1, max=F.MAX_CHANNELS),
        Field("shortcut", "choice", "auto", "auto: projection only when needed; projection: always; "
              "none: no shortcut (the plain block with the same layers)", choices=("auto", "projection", "none")),
        F.attention(),
        F.attention_ratio(),
        F.activation(),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        problems = []
        inner = cfg.out // cfg.expansion if cfg.kind == "bottleneck" else cfg.out
        if cfg.kind == "bottleneck" and cfg.out % cfg.expansion:
            problems.append(("expansion", f"must divide out {cfg.out} (got {cfg.expansion})"))
        elif inner % cfg.groups:
            problems.append(("groups", f"must divide the inner width {inner} (got {cfg.groups})"))
        return problems

    def summary(self, cfg: Any) -> str:
        inner = f" ({cfg.out // cfg.expansion}x{cfg.expansion})" if cfg.kind == "bottleneck" else ""
        plain = ", no shortcut" if cfg.shortcut == "none" else ""
        att = f", {cfg.attention}" if cfg.attention != "none" else ""
        return f"residual {cfg.kind} {cfg.out}{inner} /{by(cfg.stride)}{att}{plain}"

    @staticmethod
    def needs_projection(cfg: Any, in_channels: int) -> bool:
        if cfg.shortcut == "none":
            return False
        return cfg.shortcut == "projection" or as_pair(cfg.stride) != (1, 1) or in_channels != cfg.out

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        act = cfg.activation
        if cfg.kind == "basic":
            y = e.act(e.bn(e.conv(x, "conv1", cfg.out, 3, cfg.stride, groups=cfg.groups), "bn1"), "act1", act)
            y = e.bn(e.conv(y, "conv2", cfg.out, 3), "bn2")
        else:
            inner = cfg.out // cfg.expansion
            y = e.act(e.bn(e.conv(x, "conv1", inner, 1), "bn1"), "act1", act)
            y = e.act(e.bn(e.conv(y, "conv2", inner, 3, cfg.stride, groups=cfg.groups), "bn2"), "act2", act)
            y = e.bn(e.conv(y, "conv3", cfg.out, 1), "bn3")
        y = e.attention(y, cfg.attention, cfg.attention_ratio, act)
        if cfg.shortcut == "none":
            return e.act(y, "act", act)
        s = x
        if self.needs_projection(cfg, x.channels):
            s = e.bn(e.conv(x, "shortcut.conv", cfg.out, 1, cfg.stride, padding=0), "shortcut.bn")
        return e.act(e.add(y, s), "act", act)
