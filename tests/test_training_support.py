"""Shared helpers of the training tests: a tiny spec, tiny synthetic data, an IDX writer."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from arch.spec import Spec, parse_spec

TINY_BODY = [
    {"block": "conv", "out": 8, "kernel": 3},
    {"block": "pool", "mode": "max", "kernel": 2},
    {"block": "conv", "out": 16, "kernel": 3},
    {"block": "global_pool"},
    {"block": "flatten"},
    {"block": "classifier"},
]


def tiny_spec(channels: int = 3, size: int = 16, classes: int = 6, body: list | None = None) -> Spec:
    return parse_spec({"format": "convsmith/1", "name": "tiny", "input": [channels, size, size],
                       "num_classes": classes, "body": body or TINY_BODY})


def tiny_source(n: int = 240, size: int = 16, channels: int = 3, **extra: object) -> str:
    opts = "".join(f"&{k}={v}" for k, v in extra.items())
    return f"synthetic:shapes?n={n}&size={size}&channels={channels}{opts}"


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """The IDX format written independently of the reader: magic 0 0 type ndim, big-endian sizes, data."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
    head = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    raw = head + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path
