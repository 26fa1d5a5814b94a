"""PNG files from arrays and histories, drawn with Pillow (no plotting library), written atomically."""

from __future__ import annotations

import io as _io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from analysis import svg
from arch import io

# "hot" colour map stops (value, RGB): black -> red -> yellow -> white, for effective-RF maps
_HOT = ((0.0, (0, 0, 0)), (0.4, (200, 0, 0)), (0.75, (255, 210, 0)), (1.0, (255, 255, 255)))
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40))


def hot(a: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (H, W) -> RGB uint8 (H, W, 3)."""
    xs = [s[0] for s in _HOT]
    return np.stack([np.interp(np.clip(a, 0, 1), xs, [s[1][c] for s in _HOT]) for c in range(3)],
                    axis=-1).round().astype(np.uint8)


def to_image(a: np.ndarray, min_side: int = 256) -> Image.Image:
    """A float [0, 1] (H, W) or (H, W, 3) array (or uint8 RGB) as an image, enlarged by an integer
    factor with nearest-neighbour so that small kernels stay crisp."""
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    img = Image.fromarray(a, mode="RGB" if a.ndim == 3 else "L")
    k = max(1, math.ceil(min_side / max(1, min(img.size))))
    return img.resize((img.width * k, img.height * k), Image.Resampling.NEAREST) if k > 1 else img


def save_png(path: str | Path, img: Image.Image) -> None:
    buf = _io.BytesIO()
    img.save(buf, format="PNG")
    io.write_bytes(path, buf.getvalue())


def line_chart(title: str, series: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
               size: tuple[int, int] = (480, 320), percent: bool = False) -> Image.Image:
    """A small line chart: ``series`` of (label, xs, ys); None or non-finite ys are skipped. Axes and ticks
    are the reports' (``analysis.svg.fitted``): only the drawing is Pillow's."""
    w, h = size
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    left, right, top, bottom = 56, w - 12, 28, h - 34
    pts = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
    d.text((left, 8), title, fill="black", font=font)
    if not pts:
        d.text((left, h // 2), "no data yet", fill="gray", font=font)
        return img
    xa = svg.fitted([p[0] for p in pts], left, right, pad=0.0)
    ya = svg.fitted([p[1] for p in pts], bottom, top, pad=0.05)

    def at(x: float, y: float) -> tuple[float, float]:
        return xa(x), ya(y)

    for v in ya.ticks():
        py = ya(v)
        d.line([(left, py), (right, py)], fill=(230, 230, 230))
        d.text((4, py - 6), f"{v * 100:.4g}%" if percent else f"{v:.4g}", fill="black", font=font)
    for v in (t for t in xa.ticks() if float(t).is_integer()):  # epochs are whole numbers
        px = xa(v)
        d.line([(px, bottom), (px, bottom + 4)], fill="black")
        d.text((px - 6, bottom + 6), f"{v:g}", fill="black", font=font)
    d.rectangle([left, top, right, bottom], outline="black")
    d.text(((left + right) // 2 - 14, h - 14), "epoch", fill="black", font=font)
    for i, (label, xs, ys) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        line = [at(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
        if len(line) > 1:
            d.line(line, fill=colour, width=2)
        for px, py in line:
            d.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
        lx = right - 70 * (len(series) - i)  # legend in the top margin, clear of the curves
        d.line([(lx, 14), (lx + 16, 14)], fill=colour, width=2)
        d.text((lx + 22, 8), label, fill=colour, font=font)
    return img


def curves(epochs: Sequence[dict]) -> Image.Image:
    """Loss and accuracy per epoch (train and validation), side by side."""
    xs = [row["epoch"] for row in epochs]

    def col(name: str) -> list[float | None]:
        return [row.get(name) for row in epochs]

    loss = line_chart("loss", [("train", xs, col("train_loss")), ("val", xs, col("val_loss"))])
    acc = line_chart("accuracy", [("train", xs, col("train_acc")), ("val", xs, col("val_acc"))], percent=True)
    out = Image.new("RGB", (loss.width + acc.width, max(loss.height, acc.height)), "white")
    out.paste(loss, (0, 0))
    out.paste(acc, (loss.width, 0))
    return out
