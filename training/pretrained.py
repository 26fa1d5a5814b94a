"""Transfer learning: start a network from torchvision weights or from another run's checkpoint, freeze its
first blocks, and give the loaded tensors their own learning rate.

A template and the torchvision model it reproduces hold the same tensors in the same order under other names
(``body.0.conv.weight`` vs ``conv1.weight``), so torchvision weights are paired with the model's state_dict by
position. Pairing by position is only trusted when every pair agrees in shape except the last few (the head,
which the data's classes replace): anything else is refused, naming the first pair that disagrees.
A checkpoint of this program is matched by name instead.

A torchvision weights name is looked up in torch's hub cache (``$TORCH_HOME/hub/checkpoints``) and otherwise
downloaded there, from torchvision's URL or, when the environment variable ``CONVSMITH_WEIGHTS_MIRROR`` holds a
base URL, from that mirror under the same file name (an offline site's copy of download.pytorch.org/models).
A download lands in the cache whole or not at all: every byte announced, the sha256 prefix the file name
carries (torch hub's convention), a state_dict inside.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from arch.freezing import frozen_blocks
from arch.paths import body_module
from training.errors import CheckpointError, ConfigError

HEAD_TENSORS = 6  # the trailing tensors that may differ in shape under positional pairing (a head's layers)
MIRROR_ENV = "CONVSMITH_WEIGHTS_MIRROR"  # a base URL that serves torchvision's weight files under their own names
DOWNLOAD_TIMEOUT = 60.0  # seconds a download may wait for the server before it is given up


@dataclass
class Loaded:
    """What a load did: the model's keys that were loaded, and the ones left as initialised, with why."""

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model key -> reason

    def notes(self) -> list[str]:
        out = [f"{len(self.loaded)} tensors loaded from {self.source}"]
        if self.skipped:
            shown = [f"{k} ({why})" for k, why in list(self.skipped.items())[:6]]
            more = f" and {len(self.skipped) - 6} more" if len(self.skipped) > 6 else ""
            out.append("not loaded, left as initialised: " + ", ".join(shown) + more)
        return out


# --------------------------------------------------------------------------------------- finding weights
def _weights_enum(name: str) -> object | None:
    from torchvision.models import get_weight

    try:
        return get_weight(name)
    except (ValueError, KeyError, AttributeError):
        return None


def weights_url(url: str) -> str:
    """Where a torchvision weights file is downloaded from: its own URL, or the same file name under the base URL
    in ``$CONVSMITH_WEIGHTS_MIRROR``."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if mirror else url


def read_weights(source: str | Path, online: bool | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """A torchvision state_dict and where it came from: a file, or a weights name (e.g.
    ``ResNet18_Weights.IMAGENET1K_V1``) found in torch's hub cache, else downloaded into it (``weights_url``)
    unless ``online`` is False."""
    path = Path(source).expanduser()
    if path.is_file():
        return _load_file(path), str(path)
    weights = _weights_enum(str(source))
    if weights is None:
        raise ConfigError(f"pretrained: {source}: neither a file nor a torchvision weights name "
                          "(such as ResNet18_Weights.IMAGENET1K_V1)")
    url = weights.url  # type: ignore[attr-defined]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if cached.is_file():
        return _load_file(cached), f"{source} (hub cache {cached})"
    if online is False:
        raise ConfigError(f"pretrained: {source}: not in torch's hub cache ({cached}) and downloading is off")
    url = weights_url(url)
    try:
        state = _download(url, cached)
    except (OSError, http.client.HTTPException, ValueError) as e:  # URLError, HTTPError, timeouts: OSError
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"pretrained: {source}: not in torch's hub cache ({cached}) and the download from {url} "
                          f"failed ({reason}); put the file there or give its path") from None
    return state, f"{source} (downloaded from {url} to {cached})"


def _download(url: str, dst: Path) -> dict[str, torch.Tensor]:
    """Fetch ``url`` into ``dst`` whole or not at all: written to a temporary file beside it, checked (every byte
    the server announced, the sha256 prefix in ``dst``'s name, a state_dict inside), then renamed into place, so
    that a broken download never stays in the cache to be loaded later. A failed check raises ValueError. Not
    torch.hub.download_url_to_file: it has no timeout (a server that stops answering would hang the run) and
    would put a file that is no state_dict into the cache."""
    request = urllib.request.Request(url, headers={"User-Agent": "convsmith"})  # ValueError: not a URL
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.partial")  # the umask's permissions, as torch hub's
    try:
        digest, size = hashlib.sha256(), 0
        with open(part, "xb") as out, urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if announced is not None and announced.isdigit() and size != int(announced):
            raise ValueError(f"the server sent {size} of {announced} bytes")
        match = torch.hub.HASH_REGEX.search(dst.name)
        if match and not digest.hexdigest().startswith(match.group(1)):
            raise ValueError(f"sha256 {digest.hexdigest()[:len(match.group(1))]}, not the {match.group(1)} its file "
                             "name promises: not the file it names")
        try:
            state = _load_file(part)
        except CheckpointError:
            raise ValueError(f"what it sent ({size} bytes) holds no state_dict") from None
        os.replace(part, dst)
        return state
    finally:
        part.unlink(missing_ok=True)


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  unpickling raises many kinds; one line names the file
        raise CheckpointError(f"{path}: not a readable state_dict ({str(e).splitlines()[0]})") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]  # a checkpoint of this program or a training script's dict
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: holds no state_dict (a dict of tensors)")
    return data


# --------------------------------------------------------------------------------------- loading
def load_by_position(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> Loaded:
    """Pair ``state`` with the model's state_dict in order (torchvision -> template) and load the pairs of
    equal shape; only the last HEAD_TENSORS pairs may differ (they keep their initialisation)."""
    own = model.state_dict()
    if len(own) != len(state):
        raise ConfigError(f"{source}: holds {len(state)} tensors, the network {len(own)}: not the same "
                          "architecture (a template matches the torchvision model of its name)")
    result = Loaded(source)
    new = {}
    for i, ((key, mine), (theirs_key, theirs)) in enumerate(zip(own.items(), state.items())):
        if mine.shape == theirs.shape:
            new[key] = theirs
            result.loaded.append(key)
        elif i >= len(own) - HEAD_TENSORS:
            result.skipped[key] = f"{tuple(theirs.shape)} in the weights, {tuple(mine.shape)} here"
        else:
            raise ConfigError(f"{source}: {theirs_key} {tuple(theirs.shape)} does not fit {key} "
                              f"{tuple(mine.shape)}: not the same architecture")
    model.load_state_dict(new, strict=False)
    return result


def load_by_name(model: nn.Module, state: dict[str, torch.Tensor], source: str, partial: bool) -> Loaded:
    """Load the tensors whose names and shapes match; the others are reported (``partial``) or refused."""
    own = model.state_dict()
    result = Loaded(source)
    new = {}
    for key, mine in own.items():
        theirs = state.get(key)
        if theirs is None:
            result.skipped[key] = "not in the checkpoint"
        elif theirs.shape != mine.shape:
            result.skipped[key] = f"{tuple(theirs.shape)} there, {tuple(mine.shape)} here"
        else:
            new[key] = theirs
            result.loaded.append(key)
    extra = [k for k in state if k not in own]
    if (result.skipped or extra) and not partial:
        first = next(iter(result.skipped.items()), None)
        why = f"{first[0]}: {first[1]}" if first else f"{extra[0]}: not in the network"
        raise CheckpointError(f"{source}: does not fit the network ({why}; {len(result.skipped)} tensors differ, "
                              f"{len(extra)} extra); --partial-init loads the ones that match")
    if not result.loaded:
        raise CheckpointError(f"{source}: no tensor matches the network by name and shape")
    model.load_state_dict(new, strict=False)
    return result


# --------------------------------------------------------------------------------------- freezing
def freeze(model: nn.Module, block: str) -> list[str]:
    """Stop gradients in the parameters the freeze point ``block`` holds fixed (``arch.freezing``: ``body[0]``
    .. ``body[N]``); the module names frozen. Their normalisation layers are kept in eval mode while training
    (``keep_frozen_eval``)."""
    blocks = getattr(model, "body", None)
    if not isinstance(blocks, nn.Sequential | nn.ModuleList):
        blocks = nn.ModuleList()  # no body: frozen_blocks refuses every freeze point
    names = []
    for i in frozen_blocks(block, len(blocks)):
        for p in blocks[i].parameters():
            p.requires_grad_(False)
        names.append(body_module(i))
    return names


def keep_frozen_eval(model: nn.Module, frozen: list[str]) -> None:
    """Put the frozen blocks back in eval mode (after ``model.train()``): frozen batch norms keep their
    running statistics instead of drifting to the new data's."""
    modules = dict(model.named_modules())
    for name in frozen:
        modules[name].eval()


def trainable_counts(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable
