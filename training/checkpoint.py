"""Checkpoints: the state_dict plus the spec and what inference needs (classes, normalisation).

Only plain data and tensors go in, so loading uses ``torch.load(weights_only=True)`` and a file from
elsewhere cannot run code. Writes go through arch.io (temp file + rename): a crash never leaves half a file.
"""

from __future__ import annotations

import io as _io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from arch import io
from arch.errors import ConvSmithError
from arch.spec import Spec, dumps, loads
from training.errors import CheckpointError

FORMAT = "convsmith-checkpoint/1"


@dataclass
class Checkpoint:
    path: Path
    state_dict: dict[str, torch.Tensor]
    spec: Spec | None
    meta: dict[str, Any] = field(default_factory=dict)  # epoch, step, val_acc, classes, input_shape, mean, std
    optimizer: dict[str, Any] | None = None
    optimizer_kind: str | None = None

    def build(self, device: torch.device | str = "cpu") -> nn.Module:
        """The spec's model with these weights (a checkpoint of a plain nn.Module has no spec: use load_into)."""
        if self.spec is None:
            raise CheckpointError(f"{self.path}: holds no spec (it was saved from a plain nn.Module); "
                                  "build that module and use load_into(model)")
        from arch.builder import build

        model = build(self.spec)
        return self.load_into(model).to(device)

    def load_into(self, model: nn.Module) -> nn.Module:
        """Copy the weights into ``model``; a mismatch names the keys and shapes that differ."""
        own = model.state_dict()
        missing = [k for k in own if k not in self.state_dict]
        unexpected = [k for k in self.state_dict if k not in own]
        shapes = [f"{k} {tuple(self.state_dict[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
                  if k in self.state_dict and self.state_dict[k].shape != v.shape]
        if missing or unexpected or shapes:
            parts = []
            for what, items in (("missing", missing), ("unexpected", unexpected), ("shape differs", shapes)):
                if items:
                    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
                    parts.append(f"{what}: {', '.join(items[:3])}{more}")
            raise CheckpointError(f"{self.path}: does not fit the model ({'; '.join(parts)})")
        model.load_state_dict(self.state_dict)
        return model


def save_checkpoint(path: str | Path, model: nn.Module, spec: Spec | None, meta: dict[str, Any],
                    optimizer: torch.optim.Optimizer | None = None, optimizer_kind: str | None = None) -> None:
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "spec": dumps(spec) if spec is not None else None, "state_dict": state,
               "meta": meta, "optimizer_kind": optimizer_kind,
               "optimizer": _cpu(optimizer.state_dict()) if optimizer is not None else None}
    buf = _io.BytesIO()
    torch.save(payload, buf)
    io.write_bytes(path, buf.getvalue())


def _cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def resolve_path(path: str | Path, which: str = "final") -> Path:
    """A checkpoint file, or a run directory's ``final.pt`` / ``best.pt``."""
    p = Path(path)
    if p.is_dir():
        p = p / f"{which}.pt"
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint")
    return p


def load_checkpoint(path: str | Path, which: str = "final") -> Checkpoint:
    """Read a checkpoint file or a run directory's ``which`` checkpoint (``final`` or ``best``), on the CPU."""
    p = resolve_path(path, which)
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" in str(e).lower() or "weights_only" in str(e):
            raise CheckpointError(f"{p}: holds objects other than tensors and plain data; refusing to load it "
                                  "(only weights_only checkpoints are read)") from None
        raise CheckpointError(f"{p}: corrupt checkpoint ({e})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise CheckpointError(f"{p}: not a readable checkpoint (corrupt or truncated: {str(e).splitlines()[0]})") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{p}: not a ConvSmith checkpoint (format {found!r}, expected {FORMAT!r})")
    state = data.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{p}: the checkpoint's state_dict is missing or malformed")
    spec = None
    if data.get("spec") is not None:
        try:
            spec = loads(data["spec"], f"{p} (spec)")
        except ConvSmithError as e:
            raise CheckpointError(f"{p}: the stored spec is invalid: {e}") from None
    return Checkpoint(p, state, spec, dict(data.get("meta") or {}), data.get("optimizer"), data.get("optimizer_kind"))
