"""A user's own images, one folder per class (ImageFolder layout), decoded with Pillow.

Small sets are decoded once into one uint8 tensor; large ones stream from disk through a DataLoader
with worker processes every epoch. Both decode the same way (``FolderImages``), so a file that cannot be
read gives the same error either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from training.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def scan(folder: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image files, their class indices and the class names (sub-folder names, sorted)."""
    if not folder.is_dir():
        raise DataError(f"folder:{folder}: {'no such folder' if not folder.exists() else 'is not a folder'}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"folder:{folder}: needs one sub-folder per class (at least 2), found {len(classes)}")
    files: list[Path] = []
    labels: list[int] = []
    for i, name in enumerate(classes):
        found = sorted(p for p in (folder / name).rglob("*")
                       if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith("."))
        if not found:
            raise DataError(f"folder:{folder}: class folder {name!r} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [i] * len(found)
    return files, labels, classes


def probe(files: list[Path], limit: int = 64) -> tuple[int, set[tuple[int, int]]]:
    """Channels (1 if every probed image is grayscale, else 3) and the sizes (h, w) seen in a sample."""
    step = max(1, len(files) // limit)
    modes, sizes = set(), set()
    for p in files[::step][:limit]:
        try:
            with Image.open(p) as im:
                modes.add(im.mode)
                sizes.add((im.height, im.width))
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"{p}: cannot read image ({e})") from None
    return (1 if modes <= set(GRAY_MODES) else 3), sizes


def decode(path: Path, size: tuple[int, int], channels: int) -> np.ndarray:
    """One image -> uint8 (C, H, W) at ``size`` (bilinear, antialiased when shrinking)."""
    with Image.open(path) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        if (im.height, im.width) != size:
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        a = np.array(im, dtype=np.uint8)  # a writable copy: torch.from_numpy wants one
    return a[None] if channels == 1 else np.ascontiguousarray(a.transpose(2, 0, 1))


class FolderImages(torch.utils.data.Dataset):
    """Files decoded on demand (in DataLoader workers). A bad file yields its error text instead of an
    image, so the main process can raise a clean DataError naming it (worker exceptions arrive wrapped)."""

    def __init__(self, files: list[Path], labels: list[int], size: tuple[int, int], channels: int) -> None:
        self.files, self.labels, self.size, self.channels = files, labels, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, str]:
        try:
            return torch.from_numpy(decode(self.files[i], self.size, self.channels)), self.labels[i], ""
        except (OSError, UnidentifiedImageError, ValueError) as e:
            blank = torch.zeros(self.channels, *self.size, dtype=torch.uint8)
            return blank, self.labels[i], f"{self.files[i]}: cannot read image ({e})"


def load_batches(images: FolderImages, batch_size: int, workers: int, shuffle: bool = False,
                 seed: int = 0, pin: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """uint8 image batches and int64 labels on the CPU, decoded by ``workers`` processes."""
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, shuffle=shuffle, generator=g,
                                         num_workers=workers, pin_memory=pin,
                                         persistent_workers=False)
    for x, y, errors in loader:
        bad = [e for e in errors if e]
        if bad:
            raise DataError(bad[0] + (f" (and {len(bad) - 1} more in this batch)" if len(bad) > 1 else ""))
        yield x, y


@dataclass
class FolderSplit:
    """A streamed split: decoded from disk every epoch (used when the decoded set would not fit)."""

    images: FolderImages
    workers: int

    def __len__(self) -> int:
        return len(self.images)

    @property
    def y(self) -> torch.Tensor:
        return torch.tensor(self.images.labels, dtype=torch.int64)

    def batches(self, batch_size: int, shuffle: bool, seed: int,
                device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        pin = device.type == "cuda"
        for x, y in load_batches(self.images, batch_size, self.workers, shuffle, seed, pin):
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def subset(self, index: torch.Tensor) -> FolderSplit:
        keep = index.tolist()
        images = FolderImages([self.images.files[i] for i in keep], [self.images.labels[i] for i in keep],
                              self.images.size, self.images.channels)
        return FolderSplit(images, self.workers)
