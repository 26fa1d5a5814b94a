"""The dataset string: one line that names a dataset the same way in the CLI, the GUI and a search.

Grammar: ``KIND:WHERE[?key=value&key=value...]``, for example ``synthetic:shapes?n=5000&size=32&channels=3``,
``idx:/data/mnist``, ``cifar10:~/datasets?download=1``, ``folder:photos?size=64&val=0.1``,
``multilabel:scenes?size=64`` (images plus a labels.csv naming each image's classes).
Parsing only checks the text (no file is touched), so a form can validate it on every keystroke; a bad
string raises :class:`DataError` naming the bad part.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from arch.fields import did_you_mean
from training.errors import DataError

GENERATORS = ("shapes",)
EXAMPLES = ("synthetic:shapes?n=5000&size=32&channels=3, idx:PATH, mnist:ROOT, cifar10:ROOT, folder:PATH, "
            "multilabel:PATH")


def _number(cast: type, lo: float, hi: float) -> Callable[[str], Any]:
    """A parser of an int (``cast=int``) or float option within [lo, hi]."""
    what = "an integer" if cast is int else "a number"

    def parse(text: str) -> Any:
        try:
            v = cast(text)
        except ValueError:
            raise ValueError(f"must be {what} (got {text!r})") from None
        if not lo <= v <= hi:
            raise ValueError(f"must be in [{lo}, {hi}] (got {text})")
        return v
    return parse


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be 1/0, true/false, yes/no or on/off (got {text!r})")


def _val(text: str) -> float | str:
    """A validation fraction in (0, 0.9], or ``test`` for the dataset's official test split."""
    if text == "test":
        return "test"
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"must be a fraction such as 0.2, or 'test' (got {text!r})") from None
    if not 0 < v <= 0.9:
        raise ValueError(f"must be a fraction in (0, 0.9], or 'test' (got {text})")
    return v


def _stats(text: str) -> tuple[float, ...]:
    """Per-channel normalisation values: one number for every channel, or one per channel."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"must be numbers separated by commas (got {text!r})") from None
    return values


def _size(text: str) -> tuple[int, int]:
    """``32`` or ``48x64`` (height x width)."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"must be N or HxW, e.g. 32 or 48x64 (got {text!r})")
    h, w = (int(parts[0]), int(parts[-1]))
    if not (4 <= h <= 4096 and 4 <= w <= 4096):
        raise ValueError(f"sides must be in [4, 4096] (got {text})")
    return h, w


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)} (got {text!r}){did_you_mean(text, options)}")
        return text
    return parse


@dataclass(frozen=True)
class DataOption:
    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str


_COMMON = (
    DataOption("seed", _number(int, 0, 2**31 - 1), 0, "seed of the train/validation split"),
    DataOption("mean", _stats, None, "normalisation mean, one value or one per channel (default: per dataset)"),
    DataOption("std", _stats, None, "normalisation std, one value or one per channel (default: per dataset)"),
)
Stats = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True)
class DatasetKind:
    """One kind of dataset string. Parsing, the app's dataset chooser, ``--help`` texts and ``load_data``
    derive from these entries: adding a kind is one entry here plus its loader."""

    name: str
    title: str                   # the chooser's list of kinds
    where: str                   # what follows the colon, said to the person ("a path to a folder", ...)
    choices: tuple[str, ...]     # the only values WHERE may take (generators); empty: a path
    options: tuple[DataOption, ...]  # besides the common ones (seed, mean, std)
    loader: str                  # "module:function": (DataSource, input shape | None) -> (classes, train, val, notes)
    test_split: bool = False     # has an official test split (val=test)
    stats: Stats | None = None   # default normalisation (None: measured on the training split)
    augment: bool = False        # random crop + flip suit it
    torchvision: str = ""        # the torchvision.datasets class that reads it
    files: str = ""              # where its files go under ROOT (said when they are missing)
    multilabel: bool = False     # targets are multi-hot rows (any number of classes per image), not class indices

    @property
    def all_options(self) -> tuple[DataOption, ...]:
        return (*self.options, *_COMMON)

    def defaults(self) -> dict[str, Any]:
        """Every option at its default value."""
        return {o.name: o.default for o in self.all_options}

    def load(self) -> Callable[..., Any]:
        """The loader, imported now: named by a string so that parsing (every keystroke) never imports torch."""
        module, _, name = self.loader.partition(":")
        return getattr(importlib.import_module(module), name)


def _torchvision(name: str, cls: str, files: str, stats: Stats, augment: bool = False) -> DatasetKind:
    return DatasetKind(name, f"torchvision {name} (dataset root)", "a path to the dataset root folder", (), (
        DataOption("val", _val, "test", "'test' (the official test split) or a fraction of the training split"),
        DataOption("download", _bool, False, "download into ROOT when the files are missing"),
    ), "training.data:load_vision", True, stats, augment, cls, files)


# the options of the kinds that decode a user's image files
_IMAGE_FILES = (
    DataOption("size", _size, None, "resize every image to N or HxW (default: the spec's input size)"),
    DataOption("channels", _choice("1", "3"), None, "1 grayscale or 3 RGB (default: from the images)"),
    DataOption("val", _val, 0.2, "validation fraction"),
    DataOption("stream", _choice("auto", "0", "1"), "auto", "1: decode images from disk in workers every epoch; "
               "auto: only when the decoded set exceeds max_gb"),
    DataOption("max_gb", _number(float, 0.01, 1024.0), 2.0, "largest decoded dataset kept in memory (GiB)"),
    DataOption("workers", _number(int, 0, 64), 2, "DataLoader worker processes when streaming"),
)
_MNIST_FILES = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
KINDS: dict[str, DatasetKind] = {k.name: k for k in (
    DatasetKind("synthetic", "Synthetic shapes (no files)", "a generator name", GENERATORS, (
        DataOption("n", _number(int, 10, 1_000_000), 5000, "number of images (train + validation)"),
        DataOption("size", _number(int, 8, 512), 32, "image side in pixels"),
        DataOption("channels", _number(int, 1, 16), 3, "channels (1 gray, 3 colour)"),
        DataOption("classes", _number(int, 2, 6), 6, "number of shape classes"),
        DataOption("noise", _number(float, 0.0, 1.0), 0.1, "std of the pixel noise (image range 0..1)"),
        DataOption("val", _val, 0.2, "validation fraction"),
    ), "training.data:load_synthetic"),
    DatasetKind("idx", "IDX folder (MNIST-format files)", "a path to a folder", (), (
        DataOption("val", _val, 0.2, "validation fraction, or 'test' when the folder has a t10k/test pair"),
    ), "training.data:load_idx", True, ((0.1307,), (0.3081,))),  # the IDX format is MNIST's: its normalisation
    _torchvision("mnist", "MNIST", f"ROOT/MNIST/raw/ ({_MNIST_FILES}, unpacked)", ((0.1307,), (0.3081,))),
    _torchvision("fashionmnist", "FashionMNIST", f"ROOT/FashionMNIST/raw/ ({_MNIST_FILES}, unpacked)",
                 ((0.2860,), (0.3530,))),
    _torchvision("kmnist", "KMNIST", f"ROOT/KMNIST/raw/ ({_MNIST_FILES}, unpacked)", ((0.1918,), (0.3483,))),
    _torchvision("cifar10", "CIFAR10", "ROOT/cifar-10-batches-py/ (cifar-10-python.tar.gz unpacked in ROOT)",
                 ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)), augment=True),
    _torchvision("cifar100", "CIFAR100", "ROOT/cifar-100-python/ (cifar-100-python.tar.gz unpacked in ROOT)",
                 ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)), augment=True),
    # crop + flip suit natural images only: digits and house numbers are not mirror-symmetric
    _torchvision("svhn", "SVHN", "ROOT/train_32x32.mat and ROOT/test_32x32.mat",
                 ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970))),
    DatasetKind("folder", "Image folder (one sub-folder per class)", "a path to a folder", (), _IMAGE_FILES,
                "training.data:load_folder", augment=True),
    DatasetKind("multilabel", "Multi-label folder (images + labels.csv)",
                "a path to a folder of images with a labels.csv (file,labels)", (), _IMAGE_FILES,
                "training.data:load_multilabel", augment=True, multilabel=True),
)}


@dataclass(frozen=True)
class DataSource:
    """A parsed dataset string: kind, where (path or generator name) and every option with its default."""

    kind: str
    where: str
    options: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def __getitem__(self, key: str) -> Any:
        return self.options[key]

    def __str__(self) -> str:
        return self.text


def kinds_help() -> str:
    """Every kind as KIND:WHERE, in the table's order: the CLI's --data help."""
    return ", ".join(f"{k.name}:{k.choices[0] if k.choices else 'ROOT' if k.torchvision else 'PATH'}"
                     for k in KINDS.values())


def options_help(kind: str) -> list[tuple[str, str]]:
    """(name, doc) of every option a kind takes: the GUI's hint and the CLI's --help text."""
    return [(o.name, o.doc) for o in KINDS[kind].all_options]


def parse_source(text: str) -> DataSource:
    """Parse a dataset string; :class:`DataError` names the bad part (kind, option or value)."""
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"empty dataset string (expected KIND:WHERE, e.g. {EXAMPLES})")
    text = text.strip()
    head, sep, query = text.partition("?")
    kind, colon, where = head.partition(":")
    kind = kind.strip().lower()
    if not colon:
        raise DataError(f"dataset {text!r}: expected KIND:WHERE (kinds: {', '.join(KINDS)}; e.g. {EXAMPLES})")
    if kind not in KINDS:
        raise DataError(f"dataset {text!r}: unknown kind {kind!r}{did_you_mean(kind, list(KINDS))}; "
                        f"kinds: {', '.join(KINDS)}")
    where = unquote(where.strip())
    spec = KINDS[kind]
    if not where:
        raise DataError(f"dataset {text!r}: {kind}: needs {spec.where}"
                        + (f" ({', '.join(spec.choices)})" if spec.choices else "") + " after the colon")
    if spec.choices and where not in spec.choices:
        raise DataError(f"dataset {text!r}: unknown {kind} generator {where!r}{did_you_mean(where, spec.choices)}; "
                        f"generators: {', '.join(spec.choices)}")
    known = {o.name: o for o in spec.all_options}
    values = spec.defaults()
    seen: set[str] = set()
    for key, raw in parse_qsl(query, keep_blank_values=True):
        key = key.strip()
        if key not in known:
            raise DataError(f"dataset {text!r}: unknown option {key!r} for {kind}{did_you_mean(key, list(known))}; "
                            f"options: {', '.join(known)}")
        if not raw.strip():
            raise DataError(f"dataset {text!r}: option {key!r} needs a value (key=value)")
        if key in seen:
            raise DataError(f"dataset {text!r}: option {key!r} given twice")
        seen.add(key)
        try:
            values[key] = known[key].parse(raw.strip())
        except ValueError as e:
            raise DataError(f"dataset {text!r}: {key} {e}") from None
    if (values["mean"] is None) != (values["std"] is None):
        raise DataError(f"dataset {text!r}: give mean and std together")
    if values["std"] is not None and min(values["std"]) <= 0:
        raise DataError(f"dataset {text!r}: std must be positive")
    if values["val"] == "test" and not spec.test_split:
        raise DataError(f"dataset {text!r}: {kind} has no official test split; give val as a fraction")
    return DataSource(kind, where, values, text)
