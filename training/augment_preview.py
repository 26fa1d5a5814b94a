"""A preview of a run's augmentation: the same training images, each shown as it is and then augmented
several times, exactly as the loop does it (crop, flip, the rich transforms, then mixup / cutmix).

Used by ``convsmith train --preview-augment out.png`` and the Training tab's preview strip.
"""

from __future__ import annotations

import numpy as np
import torch

from training.augment_policies import Augmenter, AugmentSettings
from training.config import TrainConfig
from training.data import Data

GAP = 2  # pixels between tiles


def crop_and_flip(config: TrainConfig, data: Data) -> tuple[int, bool]:
    """The random-crop padding and flip a run uses: ``auto`` resolved for these images (1/8 of the side and a
    flip for natural images; neither for digits)."""
    crop = (max(1, round(data.input_shape[1] / 8)) if data.augment else 0) if config.crop is None else config.crop
    return crop, data.augment if config.flip is None else config.flip


def augmented_views(data: Data, config: TrainConfig, images: int = 6, repeats: int = 6,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(originals (I, C, H, W), views (R, I, C, H, W)) uint8 on the CPU: the first ``images`` training images
    and ``repeats`` augmented versions of each (every repeat draws anew)."""
    from training.augment import random_crop, random_flip

    x, y = next(data.train.batches(images, False, 0, data.device))
    x, y = x.cpu(), y.cpu()
    crop, flip = crop_and_flip(config, data)
    settings = AugmentSettings.of(config)
    augment = Augmenter(settings, seed)
    g = torch.Generator().manual_seed(seed)
    views = []
    for _ in range(repeats):
        v = x
        if crop:
            v = random_crop(v, crop, g)
        if flip:
            v = random_flip(v, g)
        v = augment(v, g)
        if settings.mixes:
            v = augment.mix(v.float(), y, data.num_classes)[0].round().clamp(0, 255).to(torch.uint8)
        views.append(v)
    return x, torch.stack(views)


def preview_grid(data: Data, config: TrainConfig, images: int = 6, repeats: int = 6, seed: int = 0) -> np.ndarray:
    """An RGB uint8 (H, W, 3) grid: one row per image, the original in the first column (after a wider gap),
    then its augmented versions."""
    originals, views = augmented_views(data, config, images, repeats, seed)
    n, c, h, w = originals.shape
    cols = [originals, *views]
    out = np.full((n * (h + GAP) - GAP, len(cols) * (w + GAP) + GAP, 3), 255, np.uint8)
    for j, col in enumerate(cols):
        left = j * (w + GAP) + (2 * GAP if j else 0)
        for i in range(n):
            tile = col[i].permute(1, 2, 0).numpy()
            out[i * (h + GAP):i * (h + GAP) + h, left:left + w] = tile if c == 3 else np.repeat(tile[..., :1], 3, 2)
    return out
