"""Fully connected layers: a hidden linear layer and the classifier head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field
from arch.registry import BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class Linear(BlockFamily):
    name = "linear"
    title = "Linear"
    category = "head"
    doc = "A fully connected layer on a flat input, with an optional activation."
    fields = (
        Field("out", "int", 128, "output features", min=1, max=1_000_000, channels=True),
        Field("bias", "bool", True, "learn a bias"),
        F.activation("relu"),
    )

    def summary(self, cfg: Any) -> str:
        act = f", {cfg.activation}" if cfg.activation != "none" else ""
        return f"linear {cfg.out}{act}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.act(e.linear(x, "fc", cfg.out, cfg.bias), "act", cfg.activation)


@register
class Classifier(BlockFamily):
    name = "classifier"
    title = "Classifier"
    category = "head"
    doc = "The output layer: optional dropout, then a linear layer with one output per class."
    fields = (
        Field("dropout", "float", 0.0, "dropout before the linear layer", min=0.0, max=0.99),
        Field("bias", "bool", True, "learn a bias"),
    )

    def summary(self, cfg: Any) -> str:
        drop = f"dropout {cfg.dropout:g}, " if cfg.dropout else ""
        return f"classifier {drop}-> classes"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.linear(e.dropout(x, "drop", cfg.dropout), "fc", e.ctx.num_classes, cfg.bias)
