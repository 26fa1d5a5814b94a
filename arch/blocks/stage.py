"""A stage repeats one block N times; the first repeat may override fields (stride, width)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from arch.fields import Field
from arch.registry import REGISTRY, BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


def repeats(n: int, depth_mult: float) -> int:
    """Repeats under a depth multiplier: ceil(n * depth_mult) in floating point, exactly as torchvision."""
    return n if depth_mult == 1.0 else max(1, math.ceil(n * depth_mult))


@register
class Stage(BlockFamily):
    name = "stage"
    title = "Stage"
    category = "structure"
    doc = ("Repeats its unit block; 'first' overrides fields of the first repeat only, e.g. "
           "{\"stride\": 2} for the down-sampling block of a ResNet or MobileNet stage.")
    fields = (
        Field("repeat", "int", 2, "how many times the unit is repeated", min=1, max=64),
        Field("unit", "block", None, "the repeated block", searchable=False),
        Field("first", "overrides", None, "field overrides for the first repeat", searchable=False),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        return [] if cfg.unit is not None else [("unit", "missing (the block to repeat)")]

    def units(self, cfg: Any, depth_mult: float = 1.0) -> list[Any]:
        """The block spec of every repeat, ``first`` merged into the first one; the spec's depth multiplier
        makes ceil(repeat * depth_mult) repeats (torchvision's EfficientNet rounding)."""
        from arch.spec import BlockSpec

        first = cfg.first or {}
        head = BlockSpec(cfg.unit.block, {**cfg.unit.params, **first}, cfg.unit.label) if first else cfg.unit
        return [head] + [cfg.unit] * (repeats(cfg.repeat, depth_mult) - 1)

    def summary(self, cfg: Any) -> str:
        unit = REGISTRY[cfg.unit.block]
        first = ", first " + ", ".join(f"{k}={v}" for k, v in cfg.first.items()) if cfg.first else ""
        return f"stage x{cfg.repeat}: {unit.summary(unit.resolve(cfg.unit.params))}{first}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        from arch.paths import item

        path, module = e.scope.path, e.scope.module
        for i, unit in enumerate(self.units(cfg, e.ctx.depth_mult)):
            x = e.block(unit, x, item(path, i), f"{module}.{i}")
        return x
