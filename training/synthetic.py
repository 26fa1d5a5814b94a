"""The built-in synthetic dataset: geometric shapes, so the app can train with no download.

Every image is drawn from a seeded CPU generator, vectorised over chunks of images (the same seed gives
the same bytes on every machine). A light shape of random hue on a dark background varies in position,
size and rotation, over a background gradient and pixel noise, with a distracting blob in half the
images: a small CNN learns it well above chance in one epoch but does not reach 100 % (a test checks).
``shapes(..., layout=True)`` also says where each image's shape and blob are (the interpretation witnesses
check that Grad-CAM and occlusion look at the shape, not the blob); asking for it draws the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

SHAPES = ("circle", "square", "triangle", "cross", "ring", "hexagon")


def _polygon(u: torch.Tensor, v: torch.Tensor, sides: int, start: float, apothem: torch.Tensor) -> torch.Tensor:
    """Signed distance (pixels, < 0 inside) to a regular polygon given by its outward edge normals."""
    angles = [start + 2 * math.pi * k / sides for k in range(sides)]
    return torch.stack([u * math.cos(a) + v * math.sin(a) for a in angles]).amax(0) - apothem


def _distances(u: torch.Tensor, v: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Signed distance of every pixel to every shape: (len(SHAPES), B, H, W)."""
    d = torch.sqrt(u * u + v * v)
    au, av = u.abs(), v.abs()
    arm = 0.3 * r
    return torch.stack([
        d - r,                                                                   # circle
        torch.maximum(au, av) - 0.8 * r,                                         # square
        _polygon(u, v, 3, -math.pi / 2, 0.55 * r),                               # triangle
        torch.minimum(torch.maximum(au - r, av - arm), torch.maximum(au - arm, av - r)),  # cross
        (d - 0.72 * r).abs() - 0.28 * r,                                         # ring
        _polygon(u, v, 6, 0.0, 0.87 * r),                                        # hexagon
    ])


def _colours(g: torch.Generator, b: int, c: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Background and foreground colours (B, C): a dark background and a light shape, hues at random."""
    bg = 0.45 * torch.rand(b, c, generator=g)
    fg = 0.55 + 0.45 * torch.rand(b, c, generator=g)
    return bg, fg


@dataclass
class Layout:
    """Where things are in each image, in pixels: boxes (N, 4) int64 rows (top, bottom, left, right),
    inclusive, of every pixel the shape (or the blob) covers; ``blob`` (N,) bool: whether it has one."""

    box: torch.Tensor
    blob: torch.Tensor
    blob_box: torch.Tensor  # (-1, -1, -1, -1) where there is no blob

    def __getitem__(self, index: torch.Tensor) -> Layout:
        return Layout(self.box[index], self.blob[index], self.blob_box[index])


def _boxes(alpha: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) coverage -> (B, 4) inclusive boxes of its non-zero pixels ((-1,)*4 when empty)."""
    rows, cols = alpha[:, 0].amax(2) > 0, alpha[:, 0].amax(1) > 0
    idx_r, idx_c = torch.arange(rows.shape[1]), torch.arange(cols.shape[1])
    big = 1 << 30
    top = torch.where(rows, idx_r, big).amin(1)
    bottom = torch.where(rows, idx_r, -1).amax(1)
    left = torch.where(cols, idx_c, big).amin(1)
    right = torch.where(cols, idx_c, -1).amax(1)
    out = torch.stack([top, bottom, left, right], 1)
    return torch.where(rows.any(1, keepdim=True), out, torch.full_like(out, -1))


def _chunk(g: torch.Generator, labels: torch.Tensor, size: int, channels: int,
           noise: float) -> tuple[torch.Tensor, Layout]:
    b = len(labels)
    s = float(size)
    r = s * (0.14 + 0.24 * torch.rand(b, generator=g))
    margin = 0.8 * r
    cx = margin + (s - 2 * margin) * torch.rand(b, generator=g)
    cy = margin + (s - 2 * margin) * torch.rand(b, generator=g)
    theta = 2 * math.pi * torch.rand(b, generator=g)
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    x, y = grid.view(1, 1, -1) - cx.view(-1, 1, 1), grid.view(1, -1, 1) - cy.view(-1, 1, 1)
    cos, sin = torch.cos(theta).view(-1, 1, 1), torch.sin(theta).view(-1, 1, 1)
    u, v = cos * x + sin * y, -sin * x + cos * y
    dist = _distances(u, v, r.view(-1, 1, 1))[labels, torch.arange(b)]
    alpha = (0.5 - dist).clamp(0, 1).unsqueeze(1)  # 1-pixel anti-aliased edge
    bg, fg = _colours(g, b, channels)
    slope = 0.4 * (torch.rand(b, channels, 2, generator=g) - 0.5)
    ramp = (slope[..., 0, None, None] * (grid.view(1, 1, 1, -1) / s - 0.5)
            + slope[..., 1, None, None] * (grid.view(1, 1, -1, 1) / s - 0.5))
    img = bg[..., None, None] + ramp
    img = img + alpha * (fg[..., None, None] - img)
    # a distracting blob in half the images: position and colour carry no label information
    br = s * (0.04 + 0.06 * torch.rand(b, generator=g))
    bx, by = s * torch.rand(b, generator=g), s * torch.rand(b, generator=g)
    blob_d = torch.sqrt((grid.view(1, 1, -1) - bx.view(-1, 1, 1)) ** 2 + (grid.view(1, -1, 1) - by.view(-1, 1, 1)) ** 2)
    on = (torch.rand(b, generator=g) < 0.5).float().view(-1, 1, 1)
    blob_alpha = ((0.5 - (blob_d - br.view(-1, 1, 1))).clamp(0, 1) * on).unsqueeze(1)
    img = img + blob_alpha * (torch.rand(b, channels, 1, 1, generator=g) - img)
    img = img + noise * torch.randn(img.shape, generator=g)
    layout = Layout(_boxes(alpha), on.view(-1) > 0, _boxes(blob_alpha))
    return (img.clamp(0, 1) * 255).round().to(torch.uint8), layout


def shapes(n: int, size: int = 32, channels: int = 3, classes: int = 6, noise: float = 0.1,
           seed: int = 0, layout: bool = False) -> Any:
    """``n`` images uint8 (N, C, size, size) and balanced labels int64 (N,) of the first ``classes`` shapes;
    with ``layout``, also their :class:`Layout` (the images are the same either way)."""
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % classes)[torch.randperm(n, generator=g)]
    per_chunk = max(1, (1 << 21) // (size * size))
    images = torch.empty(n, channels, size, size, dtype=torch.uint8)
    layouts = []
    for start in range(0, n, per_chunk):
        part = labels[start:start + per_chunk]
        images[start:start + len(part)], where = _chunk(g, part, size, channels, noise)
        layouts.append(where)
    if not layout:
        return images, labels
    return images, labels, Layout(*(torch.cat([getattr(w, f) for w in layouts]) for f in ("box", "blob", "blob_box")))
