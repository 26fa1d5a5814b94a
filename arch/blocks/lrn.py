"""Local response normalisation (Krizhevsky et al. 2012): each value divided by (k + alpha * mean of the squares
of its `size` neighbouring channels) ** beta, as torch.nn.LocalResponseNorm computes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch.fields import Field
from arch.registry import BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class LocalResponseNorm(BlockFamily):
    name = "lrn"
    title = "Local response norm"
    category = "layers"
    doc = ("Normalises across neighbouring channels: b = a / (k + alpha/size * sum of a^2 over `size` channels)^beta "
           "(torch's alpha is divided by size; the AlexNet paper's 1e-4 on the sum is alpha = 5e-4 here).")
    fields = (
        Field("size", "int", 5, "neighbouring channels summed over", min=1, max=64),
        Field("alpha", "float", 1e-4, "scale (torch's: divided by size)", min=0.0, max=1.0),
        Field("beta", "float", 0.75, "exponent", min=0.0, max=4.0),
        Field("k", "float", 2.0, "additive constant (> 0: with k 0 an all-zero neighbourhood divides 0 by 0)",
              min=1e-6, max=100.0),
    )

    def summary(self, cfg: Any) -> str:
        return f"local response norm {cfg.size}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.lrn(x, "lrn", cfg.size, cfg.alpha, cfg.beta, cfg.k)
