"""CBAM, the convolutional block attention module (Woo et al. 2018): channel attention from the global
average and max through one shared MLP, then spatial attention from the mean and max over channels through
a k x k conv. Put it anywhere a block goes: after a conv, as the last block of a stage's unit or of a
branch path (inside a residual branch: ``{"block": "branch", "paths": [[..., {"block": "cbam"}], []]}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch.fields import Field
from arch.registry import BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class CBAM(BlockFamily):
    name = "cbam"
    title = "CBAM attention"
    category = "blocks"
    multipath = True
    doc = ("Channel attention (sigmoid of MLP(avg pool) + MLP(max pool), one MLP C -> C*ratio -> C shared by "
           "both) times the input, then spatial attention (sigmoid of a k x k conv over [mean, max] across "
           "channels) times that. Same shape out as in.")
    fields = (
        Field("ratio", "float", 0.0625, "hidden width of the channel MLP / channels (the paper's 1/16)",
              min=0.001, max=1.0),
        Field("kernel", "choice", 7, "spatial attention kernel", choices=(3, 5, 7)),
    )

    def summary(self, cfg: Any) -> str:
        return f"CBAM 1/{1 / cfg.ratio:g}, {cfg.kernel}x{cfg.kernel}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        e.need_spatial(x, "CBAM")
        return e.cbam(x, "", max(1, int(x.channels * cfg.ratio)), cfg.kernel)
