"""Single-op blocks: batch norm, activation, dropout, flatten."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field
from arch.registry import BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class BatchNorm(BlockFamily):
    name = "batchnorm"
    title = "Batch norm"
    category = "layers"
    doc = "Batch normalisation over the channels (or features, after flatten)."
    fields = ()

    def summary(self, cfg: Any) -> str:
        return "batch norm"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.bn(x, "bn")


@register
class Activation(BlockFamily):
    name = "activation"
    title = "Activation"
    category = "layers"
    doc = "An element-wise non-linearity."
    fields = (Field("fn", "choice", "relu", "the function", choices=F.ACTIVATIONS[:-1]),)

    def summary(self, cfg: Any) -> str:
        return cfg.fn

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.act(x, "act", cfg.fn)


@register
class Dropout(BlockFamily):
    name = "dropout"
    title = "Dropout"
    category = "layers"
    doc = "Zeroes a fraction p of the values while training; identity in evaluation."
    fields = (Field("p", "float", 0.5, "drop probability", min=0.0, max=0.99),)

    def summary(self, cfg: Any) -> str:
        return f"dropout {cfg.p:g}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.dropout(x, "drop", cfg.p)


@register
class Flatten(BlockFamily):
    name = "flatten"
    title = "Flatten"
    category = "layers"
    doc = "C x H x W -> a vector of C*H*W features, for linear layers."
    fields = ()

    def summary(self, cfg: Any) -> str:
        return "flatten"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.flatten(x, "flatten")
