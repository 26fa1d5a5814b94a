"""Batch-wise augmentation and normalisation on the training device: one tensor op per batch, never a
Python loop over samples. Inputs are uint8 (N, C, H, W) batches; randomness comes from a device generator."""

from __future__ import annotations

import torch


def random_crop(x: torch.Tensor, pad: int, g: torch.Generator) -> torch.Tensor:
    """Zero-pad by ``pad`` on every side, then cut each image at its own random offset (torchvision's
    ``RandomCrop(size, padding=pad)``, for a whole batch at once)."""
    if pad <= 0:
        return x
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=g, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=g, device=x.device)
    rows = (dy + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    padded = padded.gather(2, rows.expand(n, x.shape[1], h, w + 2 * pad))
    return padded.gather(3, cols.expand(n, x.shape[1], h, w))


def random_flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    flip = torch.rand(x.shape[0], generator=g, device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


class Normalizer:
    """uint8 -> float, ``(x / 255 - mean) / std`` per channel, as one fused multiply-add."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], device: torch.device,
                 channels_last: bool = False) -> None:
        m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * s)
        self.shift = -m / s
        self.channels_last = channels_last

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.addcmul(self.shift, x.float(), self.scale)
        return y.contiguous(memory_format=torch.channels_last) if self.channels_last else y
