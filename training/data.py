"""Datasets as device-resident tensors: load once (``load_data``), train many times.

A ``Data`` holds the training and validation splits as uint8 tensors on the training device (or, for a
folder too large for memory, a streamed split), the class names, the normalisation and the list of
adaptations made to fit a network (resize, grayscale <-> RGB). Labels are int64 class indices, or for
multi-label data (``Data.multilabel``) float multi-hot rows (N, classes). ``batches`` shuffles, augments and
normalises whole batches on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from arch.dims import dims
from training.adaptation import shape_notes
from training.augment import Normalizer, random_crop, random_flip
from training.device import pick_device
from training.errors import DataError
from training.folder import FolderImages, FolderSplit, Labels, load_batches, probe, scan, scan_multilabel
from training.source import KINDS, DataSource, parse_source

Shape = tuple[int, int, int]
STAT_SAMPLE = 512  # images decoded to estimate the normalisation of a streamed folder


@dataclass
class TensorSplit:
    """A split in memory: uint8 images (N, C, H, W) and labels (int64 indices, or float multi-hot rows), both on
    the data's device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def batches(self, batch_size: int, shuffle: bool, seed: int,
                device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        if shuffle:
            g = torch.Generator(device=self.x.device).manual_seed(seed)
            order = torch.randperm(n, generator=g, device=self.x.device)
            for i in range(0, n, batch_size):
                idx = order[i:i + batch_size]
                yield self.x[idx], self.y[idx]
        else:
            for i in range(0, n, batch_size):
                yield self.x[i:i + batch_size], self.y[i:i + batch_size]

    def subset(self, index: torch.Tensor) -> TensorSplit:
        index = index.to(self.x.device)
        return TensorSplit(self.x[index], self.y[index])


Split = TensorSplit | FolderSplit


def _channel_stats(split: Split) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of a split's pixels in [0, 1] (a sample of a streamed split)."""
    if isinstance(split, FolderSplit):
        step = max(1, len(split) // STAT_SAMPLE)
        images = FolderImages(split.images.files[::step][:STAT_SAMPLE], split.images.labels[::step][:STAT_SAMPLE],
                              split.images.size, split.images.channels)
        xs = [x for x, _ in load_batches(images, 128, split.workers)]
        chunks: Iterator[torch.Tensor] = iter(xs)
    else:
        chunks = (split.x[i:i + 4096] for i in range(0, len(split.x), 4096))
    total = sq = None
    count = 0
    for x in chunks:
        v = x.cpu().to(torch.float64).transpose(0, 1).reshape(x.shape[1], -1) / 255.0  # float64 on the CPU
        s, q = v.sum(1), (v * v).sum(1)
        total, sq = (s, q) if total is None else (total + s, sq + q)
        count += v.shape[1]
    mean = total / count
    std = (sq / count - mean * mean).clamp(min=1e-12).sqrt().clamp(min=1e-3)
    return tuple(round(float(m), 4) for m in mean), tuple(round(float(s), 4) for s in std)


@dataclass(eq=False)
class Data:
    """A dataset ready to train on. Build it with :func:`load_data`; adapt it to a spec with :meth:`adapt`."""

    source: str
    classes: list[str]
    input_shape: Shape
    train: Split
    val: Split
    mean: tuple[float, ...]
    std: tuple[float, ...]
    device: torch.device
    augment: bool = False  # whether crop + flip suit these images (the default of TrainConfig's "auto")
    adapted: list[str] = field(default_factory=list)
    multilabel: bool = False  # labels are multi-hot rows: any number of classes per image
    _adapt_cache: dict[Shape, Data] = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def streamed(self) -> bool:
        return isinstance(self.train, FolderSplit)

    def describe(self) -> str:
        shape = dims(self.input_shape)
        norm = ", ".join(f"{m:g}/{s:g}" for m, s in zip(self.mean, self.std))
        classes = f"{self.num_classes} classes{' (multi-label)' if self.multilabel else ''}"
        text = (f"{self.source}: {len(self.train)} train / {len(self.val)} val, {shape}, {classes}, "
                f"normalised mean/std {norm}{', streamed from disk' if self.streamed else ''}")
        return text + "".join(f"; {a}" for a in self.adapted)

    def summary(self) -> dict:
        """Plain values for config.json and the GUI."""
        return {"source": self.source, "classes": list(self.classes), "input_shape": list(self.input_shape),
                "train_size": len(self.train), "val_size": len(self.val), "mean": list(self.mean),
                "std": list(self.std), "streamed": self.streamed, "adapted": list(self.adapted),
                "multilabel": self.multilabel}

    def label_names(self, y: torch.Tensor) -> list[str]:
        """Each label as words: its class name, or for multi-label data the names of its classes joined by
        '+' ('none' for an image with no class)."""
        if not self.multilabel:
            return [self.classes[int(i)] for i in y.cpu()]
        return ["+".join(self.classes[int(k)] for k in row.nonzero().flatten()) or "none" for row in y.cpu() > 0.5]

    def normalizer(self, device: torch.device, channels_last: bool = False) -> Normalizer:
        return Normalizer(self.mean, self.std, device, channels_last)

    def batches(self, which: str, batch_size: int, normalize: Normalizer, shuffle: bool = False, seed: int = 0,
                crop: int = 0, flip: bool = False,
                augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised float batches of the ``train`` or ``val`` split on the data's device.

        Shuffling uses ``seed`` (the loop passes one per epoch); ``crop`` (padding in pixels) and ``flip``
        draw from the same seeded device generator, so a seed fixes the whole epoch; ``augment`` (uint8 batch,
        generator -> uint8 batch, e.g. ``augment_policies.Augmenter``) runs after them.
        """
        if which not in ("train", "val"):
            raise ValueError(f"which must be 'train' or 'val', not {which!r}")
        split = self.train if which == "train" else self.val
        g = torch.Generator(device=self.device).manual_seed(seed + 1)
        for x, y in split.batches(batch_size, shuffle, seed, self.device):
            if crop:
                x = random_crop(x, crop, g)
            if flip:
                x = random_flip(x, g)
            if augment is not None:
                x = augment(x, g)
            yield normalize(x), y

    # ------------------------------------------------------------------------------------ derived sets
    def to(self, device: torch.device | str) -> Data:
        device = torch.device(device)
        if device == self.device:
            return self
        def move(s: Split) -> Split:
            return TensorSplit(s.x.to(device), s.y.to(device)) if isinstance(s, TensorSplit) else s

        return replace(self, train=move(self.train), val=move(self.val), device=device, _adapt_cache={})

    def subset(self, train: int | None = None, val: int | None = None, seed: int = 0) -> Data:
        """A random subset of each split (fast low-fidelity trials, quick tests)."""
        def pick(split: Split, n: int | None) -> Split:
            if n is None or n >= len(split):
                return split
            g = torch.Generator().manual_seed(seed)
            return split.subset(torch.randperm(len(split), generator=g)[:n])
        return replace(self, train=pick(self.train, train), val=pick(self.val, val), _adapt_cache={})

    def adapt(self, shape: Shape) -> Data:
        """This data fitted to a network's input ``shape`` (C, H, W), every change listed in ``adapted``.

        Supported: resize (bilinear, antialiased) and 1 <-> 3 channels (replicate gray / ITU-R 601 luma).
        Anything else (e.g. 2 -> 3 channels) is a :class:`DataError`, never a silent mismatch.
        """
        shape = tuple(int(s) for s in shape)  # type: ignore[assignment]
        if shape == self.input_shape:
            return self
        if shape in self._adapt_cache:
            return self._adapt_cache[shape]
        (c, h, w), c0 = shape, self.input_shape[0]
        if c != c0 and {c, c0} != {1, 3}:
            raise DataError(f"{self.source}: the network takes {c} channels but the images have {c0}; "
                            "only 1 <-> 3 channel conversion is supported")
        notes = shape_notes(shape, self.input_shape)
        if self.streamed:
            def restream(s: FolderSplit) -> FolderSplit:
                return FolderSplit(FolderImages(s.images.files, s.images.labels, (h, w), c), s.workers)
            train, val = restream(self.train), restream(self.val)
        else:
            train, val = (TensorSplit(convert(s.x, c, (h, w)), s.y) for s in (self.train, self.val))
        mean, std = self.mean, self.std
        if c != c0:
            mean, std = (mean * 3, std * 3) if len(mean) == 1 else _channel_stats(train)
        out = replace(self, input_shape=shape, train=train, val=val, mean=mean, std=std,
                      adapted=[*self.adapted, *notes], _adapt_cache={})
        self._adapt_cache[shape] = out
        return out


def convert(x: torch.Tensor, channels: int, size: tuple[int, int], chunk: int = 2048) -> torch.Tensor:
    """uint8 images to ``channels`` (1 <-> 3) and ``size``, in chunks (bounded memory), as uint8."""
    out = torch.empty(len(x), channels, *size, dtype=torch.uint8, device=x.device)
    luma = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    for i in range(0, len(x), chunk):
        part = x[i:i + chunk].float()
        if part.shape[1] != channels:
            part = part.expand(-1, 3, -1, -1) if channels == 3 else (part * luma).sum(1, keepdim=True)
        if tuple(part.shape[-2:]) != size:
            part = F.interpolate(part, size=size, mode="bilinear", align_corners=False, antialias=True)
        out[i:i + chunk] = part.round().clamp(0, 255).to(torch.uint8)
    return out


# ------------------------------------------------------------------------------------------ loading
def _fraction_split(x: torch.Tensor, y: torch.Tensor, fraction: float, seed: int) -> tuple[TensorSplit, TensorSplit]:
    """``randperm(n, seed)``: the first n - round(n * fraction) indices train, the rest validate."""
    n = len(y)
    n_val = round(n * fraction)
    if n_val < 1 or n_val >= n:
        raise DataError(f"a validation fraction of {fraction} leaves {n - n_val} train / {n_val} val images of {n}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:n - n_val], perm[n - n_val:]
    return TensorSplit(x[tr], y[tr]), TensorSplit(x[va], y[va])


Loaded = tuple[list[str], Split, Split, list[str]]  # classes, train, val, notes: what every kind's loader returns


def load_synthetic(src: DataSource, _shape: Shape | None) -> Loaded:
    from training.synthetic import SHAPES, shapes

    x, y = shapes(src["n"], src["size"], src["channels"], src["classes"], src["noise"], src["seed"])
    return list(SHAPES[:src["classes"]]), *_fraction_split(x, y, src["val"], src["seed"]), []


def load_vision(src: DataSource, _shape: Shape | None) -> Loaded:
    from training.vision import load_torchvision

    classes, (tx, ty), test = load_torchvision(src)
    train, val = (TensorSplit(tx, ty), TensorSplit(*test)) if test else _fraction_split(tx, ty, src["val"], src["seed"])
    return classes, train, val, []


def load_idx(src: DataSource, _shape: Shape | None) -> Loaded:
    from training.idx import find_pairs, read_pair

    pairs = find_pairs(Path(src.where).expanduser())
    tests = [p for p in pairs if p.is_test]
    trains = [p for p in pairs if not p.is_test]
    names = ", ".join(p.prefix or "(no prefix)" for p in pairs)
    if src["val"] == "test":
        if len(tests) != 1 or len(trains) != 1:
            raise DataError(f"{src}: val=test needs one training pair and one t10k/test pair (found: {names})")
        (tx, ty), (vx, vy) = read_pair(trains[0]), read_pair(tests[0])
        if tx.shape[1:] != vx.shape[1:]:
            raise DataError(f"{src}: training images are {tx.shape[1:]} but test images {vx.shape[1:]}")
        train, val = TensorSplit(torch.from_numpy(tx), torch.from_numpy(ty)), \
            TensorSplit(torch.from_numpy(vx), torch.from_numpy(vy))
    else:
        pick = trains if len(trains) == 1 else pairs
        if len(pick) != 1:
            raise DataError(f"{src}: the folder holds several image/label pairs ({names}); add ?val=test to train on "
                            "the training pair and validate on the test pair, or keep one pair in the folder")
        x, y = read_pair(pick[0])
        train, val = _fraction_split(torch.from_numpy(x), torch.from_numpy(y), src["val"], src["seed"])
    k = int(max(train.y.max(), val.y.max())) + 1
    return [str(i) for i in range(k)], train, val, []


def _load_files(src: DataSource, shape: Shape | None, files: list[Path],
                labels: Labels) -> tuple[Split, Split, list[str]]:
    """A user's image files split by ``randperm(n, seed)`` (the first n - round(n * val) train), decoded into
    memory, or streamed when ``stream`` says so; the notes say what was converted."""
    native_c, sizes = probe(files)
    notes = []
    channels = int(src["channels"]) if src["channels"] else (shape[0] if shape else native_c)
    if channels != native_c:
        notes.append(f"images converted to {'grayscale' if channels == 1 else 'RGB'}")
    size = src["size"] or (tuple(shape[1:]) if shape else None)
    if size is None:
        if len(sizes) != 1:
            seen = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:4])
            raise DataError(f"{src}: images have different sizes ({seen}); add ?size=N (or HxW) to resize them")
        size = next(iter(sizes))
    if sizes != {size}:
        notes.append(f"images resized to {size[0]}x{size[1]}")
    perm = torch.randperm(len(files), generator=torch.Generator().manual_seed(src["seed"]))
    n_val = round(len(files) * src["val"])
    if n_val < 1 or n_val >= len(files):
        raise DataError(f"{src}: a validation fraction of {src['val']} leaves no train or no val images "
                        f"of {len(files)}")
    whole = FolderSplit(FolderImages(files, labels, size, channels), src["workers"])
    decoded_gb = len(files) * channels * size[0] * size[1] / 2**30
    stream = src["stream"] == "1" or (src["stream"] == "auto" and decoded_gb > src["max_gb"])
    train, val = whole.subset(perm[:len(files) - n_val]), whole.subset(perm[len(files) - n_val:])
    if not stream:
        def decode_all(s: FolderSplit) -> TensorSplit:
            parts = list(load_batches(s.images, 256, s.workers))
            return TensorSplit(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
        train, val = decode_all(train), decode_all(val)
    return train, val, notes


def load_folder(src: DataSource, shape: Shape | None) -> Loaded:
    files, labels, classes = scan(Path(src.where).expanduser())
    return classes, *_load_files(src, shape, files, labels)


def load_multilabel(src: DataSource, shape: Shape | None) -> Loaded:
    files, targets, classes = scan_multilabel(Path(src.where).expanduser())
    return classes, *_load_files(src, shape, files, targets)


def load_data(source: str | DataSource, device: torch.device | str = "auto", input_shape: Shape | None = None) -> Data:
    """Load a dataset string onto ``device`` (``auto``: cuda > mps > cpu, like training); with ``input_shape``,
    adapted to it (see :meth:`Data.adapt`). Load on the training device, so that trials share one copy.

    Raises :class:`DataError` naming what is wrong (the string, a file, a folder, a missing download).
    """
    src = source if isinstance(source, DataSource) else parse_source(source)
    kind = KINDS[src.kind]
    classes, train, val, notes = kind.load()(src, input_shape)
    stats = (src["mean"], src["std"]) if src["mean"] is not None else kind.stats
    augment = kind.augment
    sample = train.images if isinstance(train, FolderSplit) else None
    c = sample.channels if sample else int(train.x.shape[1])
    hw = sample.size if sample else tuple(train.x.shape[2:])
    if stats is None:
        stats = _channel_stats(train)
    mean, std = stats
    if len(mean) not in (1, c) or len(std) != len(mean):
        raise DataError(f"{src}: mean/std need 1 or {c} values each (got {len(mean)} and {len(std)})")
    if len(mean) == 1 and c > 1:
        mean, std = mean * c, std * c
    dev = pick_device(device) if isinstance(device, str) else device
    if isinstance(train, TensorSplit):
        train, val = (TensorSplit(s.x.to(dev), s.y.to(dev)) for s in (train, val))  # type: ignore[union-attr]
    data = Data(src.text, classes, (c, int(hw[0]), int(hw[1])), train, val, tuple(mean), tuple(std), dev, augment,
                notes, kind.multilabel)
    return data.adapt(input_shape) if input_shape else data
