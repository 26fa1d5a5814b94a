"""Pictures of the interpretation results (Pillow, no plotting library): what the CLI writes, what the run
folder keeps and what the app shows, drawn once here."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.images import hot, line_chart, to_image

TILE = 168          # side of one image panel, pixels
BOX = (0, 200, 255)  # receptive-field outlines
PEAK = (0, 255, 0)


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def rgb(a: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) floats in [0, 1] -> (H, W, 3) floats."""
    return np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a


def panel(a: np.ndarray, side: int = TILE) -> Image.Image:
    """An image array enlarged (nearest neighbour) to about ``side`` pixels, RGB."""
    img = to_image(a if a.dtype == np.uint8 else rgb(a), min_side=side).convert("RGB")
    k = side / max(img.size)
    return img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))), Image.Resampling.NEAREST)


def titled(img: Image.Image, title: str, below: str = "") -> Image.Image:
    """``img`` with a line of text above (and one below when given)."""
    top, bottom = 16, 16 if below else 0
    out = Image.new("RGB", (max(img.width, 6 * max(len(title), len(below)) + 4), img.height + top + bottom), "white")
    out.paste(img, (0, top))
    d = ImageDraw.Draw(out)
    d.text((2, 2), title, fill="black", font=_font())
    if below:
        d.text((2, top + img.height + 2), below, fill="black", font=_font())
    return out


def row(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    w = sum(i.width for i in images) + gap * (len(images) - 1)
    out = Image.new("RGB", (w, max(i.height for i in images)), "white")
    x = 0
    for i in images:
        out.paste(i, (x, 0))
        x += i.width + gap
    return out


def grid(images: Sequence[Image.Image], cols: int, gap: int = 6) -> Image.Image:
    rows = [row(images[i:i + cols], gap) for i in range(0, len(images), cols)]
    out = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows) + gap * (len(rows) - 1)), "white")
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height + gap
    return out


def header(img: Image.Image, text: str) -> Image.Image:
    """A caption line over a whole figure."""
    out = Image.new("RGB", (max(img.width, 6 * len(text) + 8), img.height + 20), "white")
    out.paste(img, (0, 20))
    ImageDraw.Draw(out).text((4, 4), text, fill="black", font=_font())
    return out


def overlay(pixels: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """A heat map in [0, 1] (H, W) over an image (H, W[, 3]) in [0, 1]: (H, W, 3) floats."""
    return (1 - alpha) * rgb(pixels) + alpha * hot(heat).astype(np.float32) / 255.0


def signed(a: np.ndarray) -> np.ndarray:
    """A (C, H, W) input-space map to display: gray 0.5 at zero, scaled by its largest magnitude; (H, W[, 3])."""
    peak = float(np.abs(a).max()) or 1.0
    v = 0.5 + 0.5 * a / peak
    return v[0] if v.shape[0] == 1 else v.transpose(1, 2, 0)


def outline(img: Image.Image, box: tuple[int, int, int, int], hw: tuple[int, int],
            colour: tuple[int, int, int] = BOX) -> Image.Image:
    """Draw a pixel box (top, bottom, left, right, inclusive) of an ``hw`` image on its enlarged panel."""
    sy, sx = img.height / hw[0], img.width / hw[1]
    top, bottom, left, right = box
    ImageDraw.Draw(img).rectangle([left * sx, top * sy, (right + 1) * sx - 1, (bottom + 1) * sy - 1], outline=colour,
                                  width=2)
    return img


def mark(img: Image.Image, point: tuple[int, int], hw: tuple[int, int], colour: tuple[int, int, int] = PEAK
         ) -> Image.Image:
    sy, sx = img.height / hw[0], img.width / hw[1]
    y, x = (point[0] + 0.5) * sy, (point[1] + 0.5) * sx
    ImageDraw.Draw(img).ellipse([x - 5, y - 5, x + 5, y + 5], outline=colour, width=2)
    return img


def bars(items: Sequence[tuple[str, float]], title: str, width: int = 300, scale: float | None = None,
         fmt: str = "{:.1%}") -> Image.Image:
    """Horizontal bars, one per (label, value), longest ``scale`` (default: the largest value)."""
    h = 20 + 18 * len(items)
    img = Image.new("RGB", (width, h), "white")
    d = ImageDraw.Draw(img)
    d.text((4, 2), title, fill="black", font=_font())
    top = max((v for _, v in items if v is not None and math.isfinite(v)), default=1.0) if scale is None else scale
    label_w = min(150, 6 * max((len(lbl) for lbl, _ in items), default=4) + 8)
    for i, (label, v) in enumerate(items):
        y = 20 + 18 * i
        d.text((4, y + 2), label[:24], fill="black", font=_font())
        if v is None or not math.isfinite(v):
            d.text((label_w, y + 2), "-", fill="gray", font=_font())
            continue
        length = (width - label_w - 60) * (v / top if top > 0 else 0)
        d.rectangle([label_w, y + 2, label_w + max(1, length), y + 14], fill=(31, 119, 180))
        d.text((label_w + length + 4, y + 2), fmt.format(v), fill="black", font=_font())
    return img


def curve(values: Sequence[float], title: str) -> Image.Image:
    xs = list(range(1, len(values) + 1))
    chart = line_chart(title, [("objective", xs, list(values))], size=(320, 200))
    d = ImageDraw.Draw(chart)
    d.rectangle([chart.width // 2 - 40, chart.height - 15, chart.width // 2 + 40, chart.height], fill="white")
    d.text((chart.width // 2 - 14, chart.height - 14), "step", fill="black", font=_font())
    return chart


def history_image(counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, width: int = 64) -> tuple[np.ndarray, float,
                                                                                               float]:
    """Histograms over epochs (epochs, bins), each with its own range, on one common value axis of ``width``
    columns (each bin's count goes to the column of its centre): an RGB image, one row per epoch (first at
    the top), each row scaled to its largest column on a log scale so that the tails show; and the axis range."""
    has = counts.sum(1) > 0
    if not has.any():
        return np.zeros((len(counts), width, 3), np.uint8), 0.0, 0.0
    a, b = float(lo[has].min()), float(hi[has].max())
    out = np.zeros((len(counts), width))
    bins = counts.shape[1]
    for i in np.nonzero(has)[0]:
        centres = lo[i] + (np.arange(bins) + 0.5) * (hi[i] - lo[i]) / bins
        cols = np.clip(((centres - a) / max(b - a, 1e-30) * width).astype(int), 0, width - 1)
        np.add.at(out[i], cols, counts[i])
    c = np.log1p(out)
    peak = c.max(axis=1, keepdims=True)
    return hot(c / np.where(peak > 0, peak, 1)), a, b
