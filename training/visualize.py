"""What a network has learned, as arrays: conv filters as an image grid, feature maps, and the effective
receptive field (Luo et al. 2016, "Understanding the Effective Receptive Field in Deep CNNs").

Layers are named by module path in the model, which for a ConvSmith model is the graph node name
(``body.0.conv``), so a layer picked in the analysis table is the same layer here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from arch.fields import did_you_mean
from training.errors import ConfigError

SEPARATOR = 1.0  # value of the 1-pixel lines between tiles (white)


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's Conv2d modules, in model order."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def get_layer(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        convs = conv_layers(model)
        raise ConfigError(f"no layer {name!r} in the model{did_you_mean(name, list(modules))}; "
                          f"conv layers: {', '.join(convs) or 'none'}")
    return modules[name]


def tile(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """Lay out (N, h, w) or (N, h, w, 3) images in a grid of ``cols`` columns with ``pad``-pixel lines."""
    n, h, w = images.shape[:3]
    rows = max(1, math.ceil(n / cols))
    shape = (rows * (h + pad) + pad, cols * (w + pad) + pad, *images.shape[3:])
    out = np.full(shape, SEPARATOR, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = images[i]
    return out


def _unit_range(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Min-max scale to [0, 1] over ``axes`` (a constant block becomes 0.5)."""
    lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
    span = hi - lo
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.5).astype(np.float32)


@dataclass
class FilterGrid:
    """A conv layer's kernels as one image: values in [0, 1], each filter scaled to its own min..max.

    ``rgb``: 3-channel kernels drawn in colour, one tile per filter (``cols`` per row). Otherwise one gray
    tile per (filter, input channel): a row per filter and a column per input channel, except for
    depthwise kernels (one channel each), laid out like the RGB case.
    """

    layer: str
    image: np.ndarray            # (H, W, 3) if rgb else (H, W), float32 in [0, 1]
    rgb: bool
    rows: int
    cols: int
    kernel: tuple[int, int]
    shown: tuple[int, int]       # filters and input channels drawn
    total: tuple[int, int]       # filters and input channels (per group) of the layer
    pad: int = 1


def filter_grid(model: nn.Module, layer: str | None = None, max_filters: int = 64, max_channels: int = 16,
                pad: int = 1) -> FilterGrid:
    """The kernels of ``layer`` (default: the first conv layer) as a :class:`FilterGrid`."""
    name = layer or next(iter(conv_layers(model)), "")
    conv = get_layer(model, name)
    if not isinstance(conv, nn.Conv2d):
        raise ConfigError(f"layer {name!r} is a {type(conv).__name__}, not a convolution; "
                          f"conv layers: {', '.join(conv_layers(model))}")
    w = conv.weight.detach().float().cpu().numpy()  # (out, in / groups, kh, kw)
    out_c, in_c, kh, kw = w.shape
    n = min(out_c, max_filters)
    if in_c in (1, 3):
        rgb = in_c == 3
        tiles = _unit_range(w[:n], (1, 2, 3))
        tiles = tiles.transpose(0, 2, 3, 1) if rgb else tiles[:, 0]
        cols = math.ceil(math.sqrt(n))
        return FilterGrid(name, tile(tiles, cols, pad), rgb, math.ceil(n / cols), cols, (kh, kw), (n, in_c),
                          (out_c, in_c), pad)
    k = min(in_c, max_channels)
    tiles = _unit_range(w[:n, :k], (1, 2, 3)).reshape(n * k, kh, kw)
    return FilterGrid(name, tile(tiles, k, pad), False, n, k, (kh, kw), (n, k), (out_c, in_c), pad)


class _Reached(Exception):
    """Stops a forward pass once the layer of interest has produced its output."""


def layer_output(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` for input batch ``x`` (the rest of the network is not run)."""
    module = get_layer(model, layer)
    seen: list[torch.Tensor] = []

    def hook(_m: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        seen.append(out)
        raise _Reached

    handle = module.register_forward_hook(hook)
    try:
        model(x)
    except _Reached:
        pass
    finally:
        handle.remove()
    if not seen:
        raise ConfigError(f"layer {layer!r} is not used in the forward pass")
    return seen[0]


def _eval_mode(model: nn.Module) -> bool:
    was = model.training
    model.eval()
    return was


def feature_maps(model: nn.Module, layer: str, image: torch.Tensor) -> np.ndarray:
    """``layer``'s output (C, H, W) or (F,) for one normalised input image (C, H, W), in eval mode."""
    was = _eval_mode(model)
    try:
        with torch.no_grad():
            return layer_output(model, layer, image.unsqueeze(0))[0].float().cpu().numpy()
    finally:
        model.train(was)


def feature_grid(maps: np.ndarray, max_maps: int = 64, pad: int = 1) -> np.ndarray:
    """Feature maps (C, H, W) tiled in a square grid, each map scaled to its own min..max."""
    shown = _unit_range(maps[:max_maps], (1, 2))
    return tile(shown, math.ceil(math.sqrt(len(shown))), pad)


@dataclass
class ERF:
    """Effective receptive field of the central unit of a layer, in input pixels.

    ``map`` is the mean over images of |d unit / d input| summed over input channels, scaled to max 1.
    ``centroid`` is its centre of mass (row, col); ``support`` the box (top, bottom, left, right),
    inclusive, where the gradient is non-zero: it cannot exceed the theoretical receptive field.
    """

    layer: str
    map: np.ndarray
    unit: tuple[int, int]          # (row, col) of the unit in the layer's output
    out_hw: tuple[int, int]
    centroid: tuple[float, float]
    support: tuple[int, int, int, int]
    images: int


def effective_rf(model: nn.Module, layer: str, images: torch.Tensor) -> ERF:
    """Luo et al.'s effective RF: back-propagate 1 from the central unit of ``layer`` (every channel)
    to real input ``images`` (N, C, H, W, normalised); eval mode, so batch norm mixes no samples."""
    was = _eval_mode(model)
    try:
        x = images.detach().clone().float().requires_grad_(True)
        with torch.enable_grad():
            out = layer_output(model, layer, x)
            if out.ndim != 4:
                raise ConfigError(f"layer {layer!r} has a flat output {tuple(out.shape[1:])}: the effective "
                                  "receptive field needs a spatial layer")
            h, w = out.shape[-2:]
            seed = torch.zeros_like(out)
            seed[:, :, h // 2, w // 2] = 1.0
            (grad,) = torch.autograd.grad(out, x, seed)
    finally:
        model.train(was)
    g = grad.abs().sum(1).mean(0).cpu().double().numpy()  # float64 on the CPU (MPS has none)
    total = g.sum()
    ys, xs = np.nonzero(g)
    if total > 0:
        rows, cols = np.indices(g.shape)
        centroid = (float((g * rows).sum() / total), float((g * cols).sum() / total))
        support = (int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max()))
    else:  # dead units (e.g. every ReLU off): no gradient reaches the input
        centroid, support = (float("nan"), float("nan")), (0, -1, 0, -1)
    peak = g.max()
    norm = (g / peak if peak > 0 else g).astype(np.float32)
    return ERF(layer, norm, (h // 2, w // 2), (int(h), int(w)), centroid, support, int(images.shape[0]))
