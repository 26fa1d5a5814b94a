"""GoogLeNet inception module: four parallel branches concatenated on channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field, as_pair
from arch.registry import BlockFamily, kxk, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


def _width(name: str, default: int, doc: str) -> Field:
    return Field(name, "int", default, doc, min=1, max=F.MAX_CHANNELS, channels=True)


@register
class Inception(BlockFamily):
    name = "inception"
    title = "Inception"
    category = "blocks"
    multipath = True
    doc = ("Four branches on the same input, concatenated: 1x1; 1x1 -> 3x3; 1x1 -> kxk (5x5 in the "
           "paper, 3x3 in torchvision); max pool 3x3/1 -> 1x1. Output channels: c1 + c3 + c5 + pool_proj.")
    fields = (
        _width("c1", 64, "branch 1: 1x1 width"),
        _width("c3r", 96, "branch 2: 1x1 reduction before the 3x3"),
        _width("c3", 128, "branch 2: 3x3 width"),
        _width("c5r", 16, "branch 3: 1x1 reduction before the large kernel"),
        _width("c5", 32, "branch 3: large-kernel width"),
        _width("pool_proj", 32, "branch 4: 1x1 after the pooling"),
        Field("kernel5", "pair", 5, "branch 3 kernel (odd, so the size is kept)", min=1, max=15),
        Field("pool_kernel", "int", 3, "branch 4 max-pool window (stride 1, same size)", min=1, max=15),
        F.norm(),
        F.activation(),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        problems = []
        if any(k % 2 == 0 for k in as_pair(cfg.kernel5)):
            problems.append(("kernel5", f"must be odd to keep the size (got {F.show(cfg.kernel5)})"))
        if cfg.pool_kernel % 2 == 0:
            problems.append(("pool_kernel", f"must be odd to keep the size (got {cfg.pool_kernel})"))
        return problems

    def summary(self, cfg: Any) -> str:
        total = cfg.c1 + cfg.c3 + cfg.c5 + cfg.pool_proj
        return (f"inception {cfg.c1} | {cfg.c3r}>{cfg.c3} | {cfg.c5r}>{kxk(cfg.kernel5)} {cfg.c5} | "
                f"pool>{cfg.pool_proj} = {total}")

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        unit = dict(norm=cfg.norm, activation=cfg.activation)
        b1 = e.conv_unit(x, "branch1", cfg.c1, 1, **unit)
        b2 = e.conv_unit(e.conv_unit(x, "branch2.reduce", cfg.c3r, 1, **unit), "branch2", cfg.c3, 3, **unit)
        b3 = e.conv_unit(e.conv_unit(x, "branch3.reduce", cfg.c5r, 1, **unit), "branch3", cfg.c5, cfg.kernel5,
                         **unit)
        k = cfg.pool_kernel
        b4 = e.pool(x, "branch4.pool", "max", k, 1, k // 2, ceil_mode=True)
        b4 = e.conv_unit(b4, "branch4", cfg.pool_proj, 1, **unit)
        return e.concat([b1, b2, b3, b4])
