"""Pooling: windowed max / average / N-max, global pooling and adaptive pooling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch.fields import Field, as_pair
from arch.registry import BlockFamily, by, kxk, register

if TYPE_CHECKING:
    from arch.expand import Emitter
    from arch.graph import Port


@register
class Pool(BlockFamily):
    name = "pool"
    title = "Pooling"
    category = "pooling"
    doc = ("Windowed pooling. 'nmax' takes the mean of the n largest values in each window "
           "(n=1 is max pooling, n=k*k is average pooling without padding).")
    fields = (
        Field("mode", "choice", "max", "max, avg or nmax (mean of the n largest)", choices=("max", "avg", "nmax")),
        Field("kernel", "pair", 2, "window size", min=1, max=31),
        Field("stride", "pair", None, "step between windows (null: the kernel size)", min=1, max=31, nullable=True),
        Field("padding", "pair", 0, "implicit padding on each side (at most half the kernel)", min=0, max=15),
        Field("ceil_mode", "bool", False, "round the output size up (a last partial window)"),
        Field("n", "int", 2, "nmax only: how many of the largest values are averaged", min=1, max=961,
              when=("mode", ("nmax",))),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        (kh, kw), (ph, pw) = as_pair(cfg.kernel), as_pair(cfg.padding)
        problems = []
        if ph > kh // 2 or pw > kw // 2:
            problems.append(("padding", f"must be at most half the kernel {kh}x{kw} (got {ph}x{pw})"))
        if cfg.mode == "nmax" and cfg.n > kh * kw:
            problems.append(("n", f"must be at most the {kh * kw} values of a {kh}x{kw} window (got {cfg.n})"))
        return problems

    def summary(self, cfg: Any) -> str:
        stride = cfg.stride if cfg.stride is not None else cfg.kernel
        mode = f"{cfg.n}-max" if cfg.mode == "nmax" else cfg.mode
        return f"{mode} pool {kxk(cfg.kernel)}/{by(stride)}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.pool(x, "pool", cfg.mode, cfg.kernel, cfg.stride, cfg.padding, cfg.ceil_mode, cfg.n)


@register
class GlobalPool(BlockFamily):
    name = "global_pool"
    title = "Global pooling"
    category = "pooling"
    doc = "Average or max over the whole feature map: C x H x W -> C x 1 x 1."
    fields = (Field("mode", "choice", "avg", "avg or max", choices=("avg", "max")),)

    def summary(self, cfg: Any) -> str:
        return f"global {cfg.mode} pool"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.adaptive_pool(x, "pool", cfg.mode, 1)


@register
class AdaptivePool(BlockFamily):
    name = "adaptive_pool"
    title = "Adaptive pooling"
    category = "pooling"
    doc = "Pools any input size down to a fixed output size (AlexNet's and VGG's 6x6 / 7x7)."
    fields = (
        Field("mode", "choice", "avg", "avg or max", choices=("avg", "max")),
        Field("size", "pair", 1, "output size (s or [h, w])", min=1, max=1024),
    )

    def summary(self, cfg: Any) -> str:
        return f"adaptive {cfg.mode} pool {kxk(cfg.size)}"

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        return e.adaptive_pool(x, "pool", cfg.mode, cfg.size)
