"""A synthetic input picture for the receptive-field view: a few flat shapes on a soft gradient,
at the network's input size, so field sizes can be judged against objects without any dataset.
"""

from __future__ import annotations

import numpy as np

COLOURS = ((214, 69, 65), (52, 120, 198), (246, 178, 38), (46, 160, 90), (142, 68, 173))


def shapes_image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image; grey when the network takes one channel."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 225 + 25 * (x / max(width - 1, 1)) - 20 * (y / max(height - 1, 1))
    image = np.repeat(base[..., None], 3, axis=2)
    scale = min(height, width)
    for k in range(6):
        colour = np.array(COLOURS[k % len(COLOURS)], np.float32)
        cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
        r = rng.uniform(0.07, 0.16) * scale
        kind = k % 3
        if kind == 0:  # disc
            mask = (y - cy) ** 2 + (x - cx) ** 2 <= r * r
        elif kind == 1:  # square
            mask = (abs(y - cy) <= r) & (abs(x - cx) <= r)
        else:  # triangle pointing up
            mask = (y <= cy + r) & (y >= cy - r) & (abs(x - cx) <= (y - (cy - r)) / 2)
        image[mask] = colour
    image = np.clip(image, 0, 255).astype(np.uint8)
    if channels == 1:
        grey = (image @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
        image = np.repeat(grey[..., None], 3, axis=2)
    return np.ascontiguousarray(image)
