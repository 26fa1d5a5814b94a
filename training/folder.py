"""A user's own images, decoded with Pillow: one folder per class (ImageFolder layout), or one folder of images
with a ``labels.csv`` naming any number of classes per image (multi-label).

Small sets are decoded once into one uint8 tensor; large ones stream from disk through a DataLoader
with worker processes every epoch. Both decode the same way (``FolderImages``), so a file that cannot be
read gives the same error either way.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from arch.fields import did_you_mean
from training.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
LABELS_CSV = "labels.csv"    # a multi-label folder's targets: header file,labels
CLASSES_TXT = "classes.txt"  # optional: a multi-label folder's class names in order, one per line
SEPARATORS = re.compile(r"[\s;]+")  # between the class names of one image in labels.csv
Labels = list[int] | torch.Tensor  # class indices, or multi-hot float rows (N, classes)


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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _read_classes(path: Path) -> list[str]:
    """The class names of classes.txt, one per line, in order (blank lines skipped)."""
    names: list[str] = []
    first: dict[str, int] = {}
    for line, text in enumerate(_read_text(path).splitlines(), start=1):
        name = text.strip()
        if not name:
            continue
        if SEPARATORS.search(name):
            raise DataError(f"{path}: line {line}: class name {name!r} holds a space or ';' (they separate the "
                            f"classes of an image in {LABELS_CSV})")
        if name in first:
            raise DataError(f"{path}: line {line}: class {name!r} listed again (first on line {first[name]})")
        first[name] = line
        names.append(name)
    if not names:
        raise DataError(f"{path}: lists no class (one name per line)")
    return names


def _read_rows(folder: Path, table: Path) -> list[tuple[int, Path, list[str]]]:
    """(line, image file, class names) of every row of labels.csv, each file checked to exist."""
    reader = csv.reader(io.StringIO(_read_text(table)))
    rows: list[tuple[int, Path, list[str]]] = []
    first: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["file", "labels"]:
            got = ",".join(header) if header else "an empty file"
            raise DataError(f"{table}: line 1: the header must be file,labels (got {got})")
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > 2:
                raise DataError(f"{table}: line {line}: expected 2 columns (file,labels), got {len(row)}; quote a "
                                "file name that holds a comma")
            name, labels = row[0].strip(), row[1] if len(row) == 2 else ""
            path = folder / name
            if not name:
                raise DataError(f"{table}: line {line}: no file name")
            if name in first:
                raise DataError(f"{table}: line {line}: {name!r} listed again (first on line {first[name]})")
            if not path.is_file():
                raise DataError(f"{table}: line {line}: no image {name!r} in {folder}")
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                raise DataError(f"{table}: line {line}: {name!r} is not an image file ({', '.join(IMAGE_EXTENSIONS)})")
            first[name] = line
            rows.append((line, path, [c for c in SEPARATORS.split(labels.strip()) if c]))
    except csv.Error as e:
        raise DataError(f"{table}: line {reader.line_num}: {e}") from None
    if not rows:
        raise DataError(f"{table}: lists no image (one row per image after the header file,labels)")
    return rows


def scan_multilabel(folder: Path) -> tuple[list[Path], torch.Tensor, list[str]]:
    """Image files, their multi-hot targets (N, classes) float32 and the class names: those of classes.txt in
    its order when the folder has one, else the sorted union of the names in labels.csv. An image may have
    no class at all (a row of zeros)."""
    if not folder.is_dir():
        raise DataError(f"multilabel:{folder}: {'no such folder' if not folder.exists() else 'is not a folder'}")
    table = folder / LABELS_CSV
    if not table.is_file():
        raise DataError(f"multilabel:{folder}: no {LABELS_CSV} (header file,labels; one row per image with its "
                        "class names separated by spaces or ';')")
    rows = _read_rows(folder, table)
    if (folder / CLASSES_TXT).is_file():
        classes = _read_classes(folder / CLASSES_TXT)
        known = set(classes)
        for line, _, names in rows:
            for name in names:
                if name not in known:
                    raise DataError(f"{table}: line {line}: class {name!r} is not in {CLASSES_TXT}"
                                    f"{did_you_mean(name, classes)}")
    else:
        classes = sorted({name for _, _, names in rows for name in names})
        if not classes:
            raise DataError(f"{table}: no image has a class (give each image's class names, separated by spaces "
                            "or ';')")
    index = {name: i for i, name in enumerate(classes)}
    targets = torch.zeros(len(rows), len(classes), dtype=torch.float32)
    for i, (_, _, names) in enumerate(rows):
        targets[i, [index[name] for name in names]] = 1.0
    return [path for _, path, _ in rows], targets, classes


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

    def __init__(self, files: list[Path], labels: Labels, size: tuple[int, int], channels: int) -> None:
        self.files, self.labels, self.size, self.channels = files, labels, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int | torch.Tensor, str]:
        try:
            return torch.from_numpy(decode(self.files[i], self.size, self.channels)), self.labels[i], ""
        except (OSError, UnidentifiedImageError, ValueError) as e:
            blank = torch.zeros(self.channels, *self.size, dtype=torch.uint8)
            return blank, self.labels[i], f"{self.files[i]}: cannot read image ({e})"


def load_batches(images: FolderImages, batch_size: int, workers: int, shuffle: bool = False,
                 seed: int = 0, pin: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """uint8 image batches and their labels (int64 indices or float multi-hot rows) on the CPU, decoded by
    ``workers`` processes."""
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
        labels = self.images.labels
        return labels if isinstance(labels, torch.Tensor) else torch.tensor(labels, dtype=torch.int64)

    def batches(self, batch_size: int, shuffle: bool, seed: int,
                device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        pin = device.type == "cuda"
        for x, y in load_batches(self.images, batch_size, self.workers, shuffle, seed, pin):
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def subset(self, index: torch.Tensor) -> FolderSplit:
        keep = index.tolist()
        labels = self.images.labels
        images = FolderImages([self.images.files[i] for i in keep],
                              labels[index] if isinstance(labels, torch.Tensor) else [labels[i] for i in keep],
                              self.images.size, self.images.channels)
        return FolderSplit(images, self.workers)
