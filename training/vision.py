"""torchvision's datasets (the kinds of ``training.source.KINDS`` that name a torchvision class) from a local root.

Nothing is downloaded unless the dataset string asks (``?download=1``); a missing dataset gives an error
that says which files to put where. Arrays are taken from the dataset objects whole (no per-sample reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import numpy as np
import torch

from training.errors import DataError
from training.source import KINDS, DataSource


def _open(src: DataSource, root: Path, train: bool):  # noqa: ANN202 - a torchvision dataset object
    import torchvision.datasets as tvd

    cls_name, where = KINDS[src.kind].torchvision, KINDS[src.kind].files
    cls = getattr(tvd, cls_name)
    try:
        if src.kind == "svhn":
            return cls(str(root), split="train" if train else "test", download=src["download"])
        return cls(str(root), train=train, download=src["download"])
    except ModuleNotFoundError as e:
        raise DataError(f"{src}: reading {cls_name} needs the Python package {e.name!r} "
                        f"(pip install {e.name})") from None
    except RuntimeError as e:
        if "not found" in str(e).lower():
            raise DataError(f"{src}: {cls_name} not found under {root}; put the files at "
                            f"{where.replace('ROOT', str(root))}, or add ?download=1 to download them") from None
        if "download" in str(e).lower():
            _download_failed(src, cls_name, root, where, str(e).strip().splitlines()[-1])
        raise DataError(f"{src}: {cls_name}: {e}") from None
    except OSError as e:  # a download that failed (offline, refused, disk full)
        _download_failed(src, cls_name, root, where, str(e))


def _download_failed(src: DataSource, cls_name: str, root: Path, where: str, why: str) -> NoReturn:
    raise DataError(f"{src}: could not download {cls_name} into {root} ({why.strip()}); without internet, put the "
                    f"files at {where.replace('ROOT', str(root))}")


def _arrays(ds) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001 - a torchvision dataset object
    """uint8 (N, C, H, W) and int64 labels from a dataset's in-memory arrays."""
    data = ds.data
    x = torch.as_tensor(np.asarray(data))
    if x.ndim == 3:          # MNIST family: N, H, W
        x = x.unsqueeze(1)
    elif x.shape[-1] == 3:   # CIFAR: N, H, W, C
        x = x.permute(0, 3, 1, 2)
    labels = ds.labels if hasattr(ds, "labels") else ds.targets
    return x.contiguous().to(torch.uint8), torch.as_tensor(np.asarray(labels), dtype=torch.int64)


def load_torchvision(src: DataSource) -> tuple[list[str], tuple[torch.Tensor, torch.Tensor],
                                                tuple[torch.Tensor, torch.Tensor] | None]:
    """Class names, the training arrays, and the official test arrays when ``val=test``."""
    root = Path(src.where).expanduser()
    if not root.exists() and not src["download"]:
        where = KINDS[src.kind].files
        raise DataError(f"{src}: no folder {root}; put the files at {where.replace('ROOT', str(root))}, "
                        "or add ?download=1 to download them")
    train = _open(src, root, True)
    test = _open(src, root, False) if src["val"] == "test" else None
    classes = [str(c) for c in getattr(train, "classes", [])] or [str(i) for i in range(10)]
    return classes, _arrays(train), (_arrays(test) if test is not None else None)
