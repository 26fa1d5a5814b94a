"""The dataset string: one line that names a dataset the same way in the CLI, the GUI and a search.

Grammar: ``KIND:WHERE[?key=value&key=value...]``, for example ``synthetic:shapes?n=5000&size=32&channels=3``,
``idx:/data/mnist``, ``cifar10:~/datasets?download=1``, ``folder:photos?size=64&val=0.1``.
Parsing only checks the text (no file is touched), so a form can validate it on every keystroke; a bad
string raises :class:`DataError` naming the bad part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from arch.fields import did_you_mean
from training.errors import DataError

TORCHVISION_KINDS = ("mnist", "fashionmnist", "kmnist", "cifar10", "cifar100", "svhn")
KINDS = ("synthetic", "idx", *TORCHVISION_KINDS, "folder")
GENERATORS = ("shapes",)
EXAMPLES = "synthetic:shapes?n=5000&size=32&channels=3, idx:PATH, mnist:ROOT, cifar10:ROOT, folder:PATH"


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
class Option:
    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str


_COMMON = (
    Option("seed", _number(int, 0, 2**31 - 1), 0, "seed of the train/validation split"),
    Option("mean", _stats, None, "normalisation mean, one value or one per channel (default: per dataset)"),
    Option("std", _stats, None, "normalisation std, one value or one per channel (default: per dataset)"),
)
OPTIONS: dict[str, tuple[Option, ...]] = {
    "synthetic": (
        Option("n", _number(int, 10, 1_000_000), 5000, "number of images (train + validation)"),
        Option("size", _number(int, 8, 512), 32, "image side in pixels"),
        Option("channels", _number(int, 1, 16), 3, "channels (1 gray, 3 colour)"),
        Option("classes", _number(int, 2, 6), 6, "number of shape classes"),
        Option("noise", _number(float, 0.0, 1.0), 0.1, "std of the pixel noise (image range 0..1)"),
        Option("val", _val, 0.2, "validation fraction"),
    ),
    "idx": (Option("val", _val, 0.2, "validation fraction, or 'test' when the folder has a t10k/test pair"),),
    "folder": (
        Option("size", _size, None, "resize every image to N or HxW (default: the spec's input size)"),
        Option("channels", _choice("1", "3"), None, "1 grayscale or 3 RGB (default: from the images)"),
        Option("val", _val, 0.2, "validation fraction"),
        Option("stream", _choice("auto", "0", "1"), "auto", "1: decode images from disk in workers every epoch; "
               "auto: only when the decoded set exceeds max_gb"),
        Option("max_gb", _number(float, 0.01, 1024.0), 2.0, "largest decoded dataset kept in memory (GiB)"),
        Option("workers", _number(int, 0, 64), 2, "DataLoader worker processes when streaming"),
    ),
}
for _kind in TORCHVISION_KINDS:
    OPTIONS[_kind] = (
        Option("val", _val, "test", "'test' (the official test split) or a fraction of the training split"),
        Option("download", _bool, False, "download into ROOT when the files are missing"),
    )


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


def options_help(kind: str) -> list[tuple[str, str]]:
    """(name, doc) of every option a kind takes: the GUI's hint and the CLI's --help text."""
    return [(o.name, o.doc) for o in (*OPTIONS[kind], *_COMMON)]


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
        raise DataError(f"dataset {text!r}: unknown kind {kind!r}{did_you_mean(kind, KINDS)}; "
                        f"kinds: {', '.join(KINDS)}")
    where = unquote(where.strip())
    if not where:
        what = "a generator name (shapes)" if kind == "synthetic" else "a path"
        raise DataError(f"dataset {text!r}: {kind}: needs {what} after the colon")
    if kind == "synthetic" and where not in GENERATORS:
        raise DataError(f"dataset {text!r}: unknown synthetic generator {where!r}{did_you_mean(where, GENERATORS)}; "
                        f"generators: {', '.join(GENERATORS)}")
    known = {o.name: o for o in (*OPTIONS[kind], *_COMMON)}
    values = {name: o.default for name, o in known.items()}
    seen: set[str] = set()
    for part in query.split("&") if sep else []:
        if not part:
            continue
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq:
            raise DataError(f"dataset {text!r}: option {key!r} needs a value (key=value)")
        if key not in known:
            raise DataError(f"dataset {text!r}: unknown option {key!r} for {kind}{did_you_mean(key, list(known))}; "
                            f"options: {', '.join(known)}")
        if key in seen:
            raise DataError(f"dataset {text!r}: option {key!r} given twice")
        seen.add(key)
        try:
            values[key] = known[key].parse(unquote(raw.strip()))
        except ValueError as e:
            raise DataError(f"dataset {text!r}: {key} {e}") from None
    if (values["mean"] is None) != (values["std"] is None):
        raise DataError(f"dataset {text!r}: give mean and std together")
    if values["std"] is not None and min(values["std"]) <= 0:
        raise DataError(f"dataset {text!r}: std must be positive")
    if values["val"] == "test" and kind in ("synthetic", "folder"):
        raise DataError(f"dataset {text!r}: {kind} has no official test split; give val as a fraction")
    return DataSource(kind, where, values, text)
