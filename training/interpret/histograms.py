"""Per layer, per epoch: histograms and L2 norms of the weights and of the gradients (TensorBoard's
histograms), recorded by the training loop at the end of every epoch into the run directory.

The cost is bounded: once per epoch, one ``histc`` and one norm per layer over tensors already on the
device, read back in one transfer; nothing runs per step. The gradients are those of the epoch's last
step (the loop leaves them in ``.grad``). A layer is a module with parameters of its own (conv, linear,
batch norm): its histogram counts every one of them, weight and bias together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from arch import io
from training.errors import RunError

FILE = "histograms.json"
BINS = 32


def param_layers(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """(module name, its own parameters) for every module that has some, in model order."""
    out = []
    for name, m in model.named_modules():
        own = [p for p in m.parameters(recurse=False) if p.requires_grad]
        if own:
            out.append((name, own))
    return out


def _hist(v: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(low, high, counts, L2 norm) as device tensors: no read-back (``histc`` wants Python bounds)."""
    lo, hi = v.min(), v.max()
    same = hi <= lo
    lo, hi = torch.where(same, lo - 0.5, lo), torch.where(same, hi + 0.5, hi)
    idx = ((v - lo) * (bins / (hi - lo))).floor().clamp_(0, bins - 1).long()
    return lo, hi, torch.bincount(idx, minlength=bins).to(v.dtype), v.norm()


class HistogramRecorder:
    """Records the layers of ``model`` each time ``record(epoch)`` is called; ``save(run_dir)`` writes them."""

    def __init__(self, model: nn.Module, bins: int = BINS) -> None:
        self.layers = param_layers(model)
        self.bins = bins
        self.epochs: list[dict[str, Any]] = []

    def record(self, epoch: int) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        parts = []
        for _name, params in self.layers:
            with torch.no_grad():
                w = torch.cat([p.detach().float().flatten() for p in params])
                grads = [p.grad for p in params]
                g = torch.cat([x.detach().float().flatten() for x in grads]) if all(x is not None for x in grads) \
                    else None  # type: ignore[union-attr]
                wl, wh, wc, wn = _hist(w, self.bins)
                item = [wl, wh, wn, wc]
                if g is not None:
                    gl, gh, gc, gn = _hist(g, self.bins)
                    item += [gl, gh, gn, gc]
            parts.append((w.numel(), g is not None, torch.cat([t.reshape(-1) for t in item])))
        flat = torch.cat([p[2] for p in parts]).cpu().numpy() if parts else np.zeros(0)  # one read-back
        at = 0
        b = self.bins
        for (name, _), (n, has_g, packed) in zip(self.layers, parts):
            v = flat[at:at + len(packed)]
            at += len(packed)
            row = {"params": int(n), "weight": {"lo": float(v[0]), "hi": float(v[1]), "counts": _ints(v[3:3 + b])},
                   "weight_norm": float(v[2]), "grad": None, "grad_norm": None}
            if has_g:
                g0 = 3 + b
                row["grad"] = {"lo": float(v[g0]), "hi": float(v[g0 + 1]), "counts": _ints(v[g0 + 3:g0 + 3 + b])}
                row["grad_norm"] = float(v[g0 + 2])
            rows[name] = row
        entry = {"epoch": epoch, "layers": rows}
        self.epochs.append(entry)
        return entry

    def save(self, run_dir: str | Path) -> None:
        data = {"bins": self.bins, "layers": [n for n, _ in self.layers], "epochs": self.epochs}
        io.write_text(Path(run_dir) / FILE, json.dumps(data, allow_nan=False) + "\n")


def _ints(a: np.ndarray) -> list[int]:
    return [int(round(float(x))) for x in a]


@dataclass
class Histograms:
    """A run's recorded histograms read back, as arrays per layer."""

    layers: list[str]
    epochs: list[int]
    bins: int
    rows: list[dict[str, Any]]

    def series(self, layer: str, kind: str = "weight") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(counts (epochs, bins), lo (epochs,), hi (epochs,)) of ``kind`` (weight | grad); epochs without
        gradients have zero counts."""
        counts = np.zeros((len(self.rows), self.bins), dtype=np.int64)
        lo, hi = np.zeros(len(self.rows)), np.zeros(len(self.rows))
        for i, row in enumerate(self.rows):
            h = row["layers"].get(layer, {}).get(kind)
            if h:
                counts[i] = h["counts"]
                lo[i], hi[i] = h["lo"], h["hi"]
        return counts, lo, hi

    def norms(self, kind: str = "grad", epoch: int = -1) -> list[tuple[str, float | None]]:
        """(layer, norm) of ``kind`` (weight | grad) at one recorded epoch (default: the last), in model order."""
        row = self.rows[epoch]["layers"]
        return [(name, row.get(name, {}).get(f"{kind}_norm")) for name in self.layers]

    def params(self, layer: str) -> int:
        return int(self.rows[-1]["layers"][layer]["params"])


def load_histograms(run_dir: str | Path) -> Histograms:
    p = Path(run_dir) / FILE
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{p.parent}: no {FILE} (this run recorded no histograms: train it again with "
                       "histograms on)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{p}: unreadable ({e})") from None
    if not (isinstance(data, dict) and isinstance(data.get("epochs"), list) and data["epochs"]):
        raise RunError(f"{p}: holds no recorded epoch")
    return Histograms(list(data["layers"]), [int(e["epoch"]) for e in data["epochs"]], int(data["bins"]),
                      data["epochs"])
