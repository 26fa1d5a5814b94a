"""IDX files, the MNIST family's format (gzip or not): a folder of ``*-images-idx3-ubyte[.gz]`` and
``*-labels-idx1-ubyte[.gz]`` pairs. Read with numpy in one go (no per-sample Python)."""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.errors import DataError

# type code -> big-endian numpy dtype (the format stores every number most significant byte first)
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FILE = re.compile(r"^(?P<prefix>.*?)[-.]?(?P<what>images|labels)[-.]idx(?P<ndim>\d)[-.]ubyte(?:\.gz)?$")
TEST_PREFIXES = ("t10k", "test")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file -> an array of its declared shape and type; a clear error for anything malformed."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header says shape {shape} ({expected} bytes) but the file has {len(raw)} "
                        "bytes (truncated or not IDX)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class IdxPair:
    prefix: str
    images: Path
    labels: Path

    @property
    def is_test(self) -> bool:
        return self.prefix.lower().startswith(TEST_PREFIXES)


def find_pairs(folder: Path) -> list[IdxPair]:
    """The image/label pairs in a folder, matched by the name before ``-images``/``-labels``."""
    if not folder.exists():
        raise DataError(f"idx:{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"idx:{folder}: is a file; give the folder that holds the *-images-idx3-ubyte[.gz] and "
                        "*-labels-idx1-ubyte[.gz] files")
    found: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        m = _FILE.match(p.name)
        if m and p.is_file():
            slot = found.setdefault(m["prefix"], {})
            what = m["what"]
            if what in slot:
                raise DataError(f"idx:{folder}: both {slot[what].name} and {p.name} (keep one, gzip or not)")
            slot[what] = p
    pairs, lonely = [], []
    for prefix, files in found.items():
        if len(files) == 2:
            pairs.append(IdxPair(prefix, files["images"], files["labels"]))
        else:
            lonely += [f.name for f in files.values()]
    if not pairs:
        extra = f" (unpaired: {', '.join(lonely)})" if lonely else ""
        raise DataError(f"idx:{folder}: no *-images-idx3-ubyte[.gz] with a matching *-labels-idx1-ubyte[.gz]{extra}")
    return pairs


def read_pair(pair: IdxPair) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 (N, 1, H, W) and labels as int64 (N,), checked against each other."""
    images, labels = read_idx(pair.images), read_idx(pair.labels)
    if images.dtype != np.uint8:
        raise DataError(f"{pair.images}: images must be unsigned bytes (type 0x08), not {images.dtype}")
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim != 4:
        raise DataError(f"{pair.images}: expected N x H x W (or N x C x H x W) images, got shape {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{pair.labels}: labels must be a 1-D list of integers, got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{pair.labels}: {len(labels)} labels for {len(images)} images in {pair.images.name}")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{pair.labels}: negative label {int(labels.min())}")
    return np.ascontiguousarray(images), labels.astype(np.int64)
