"""The one registry of block families. Adding a block means writing one module in arch/blocks."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from arch.dims import dims
from arch.fields import Field, as_pair

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port

REGISTRY: dict[str, BlockFamily] = {}
CATEGORIES = ("layers", "pooling", "blocks", "head", "structure")


def scale_channels(c: int, width_mult: float) -> int:
    """Channels under a width multiplier; multiples of 8 stay multiples of 8 (MobileNet rule)."""
    if width_mult == 1.0:
        return c
    v = c * width_mult
    if c % 8:
        return max(1, int(round(v)))
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


class BlockFamily:
    """A block family: its fields, a one-line summary, and its expansion into primitive ops."""

    name: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    doc: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    multipath: ClassVar[bool] = False
    composite: ClassVar[bool] = False  # holds blocks on parallel paths: its module runs their ops itself

    def __init__(self) -> None:
        self.field_map = {f.name: f for f in self.fields}
        self.config_type = dataclasses.make_dataclass(
            f"{type(self).__name__}Config",
            [(f.name, Any, dataclasses.field(default=f.default)) for f in self.fields],
            frozen=True,
        )

    def resolve(self, params: dict[str, Any], width_mult: float = 1.0) -> Any:
        """Explicit params + defaults (+ width multiplier on channel fields) as a frozen config."""
        values = {f.name: params.get(f.name, f.default) for f in self.fields}
        for f in self.fields:
            if f.channels and isinstance(values[f.name], int):
                values[f.name] = scale_channels(values[f.name], width_mult)
        return self.config_type(**values)

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        """Cross-field rules that need no input shape: (field name, reason) pairs."""
        return []

    def summary(self, cfg: Any) -> str:
        raise NotImplementedError

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        raise NotImplementedError


def register(cls: type[BlockFamily]) -> type[BlockFamily]:
    """Class decorator adding a block family; a second family of the same name, or an unknown category, is
    a programming error that must not silently replace the first."""
    if cls.category not in CATEGORIES:
        raise ValueError(f"block family {cls.name!r} ({cls.__module__}): unknown category {cls.category!r}; "
                         f"categories: {', '.join(CATEGORIES)}")
    if cls.name in REGISTRY:
        first = type(REGISTRY[cls.name])
        raise ValueError(f"block family {cls.name!r} is registered twice: {first.__module__}.{first.__qualname__} "
                         f"and {cls.__module__}.{cls.__qualname__}")
    REGISTRY[cls.name] = cls()
    return cls


def family(name: str) -> BlockFamily:
    import arch.blocks  # noqa: F401  (fills the registry)

    return REGISTRY[name]


def families() -> list[BlockFamily]:
    import arch.blocks  # noqa: F401

    return list(REGISTRY.values())


def kxk(value: Any) -> str:
    """A kernel as written in summaries: 3x3, 1x7."""
    return dims(as_pair(value))


def by(value: Any) -> str:
    """A stride as written in summaries: 2, or 1x2 when the axes differ."""
    return dims(as_pair(value), square=True)
