"""Training options as one dataclass: the CLI flags, the GUI form and a search trial all fill this."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from training.errors import ConfigError

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
# options that have an effect only while another option has one of some values (the GUI greys them)
ONLY_WITH: dict[str, tuple[str, tuple[str, ...]]] = {"momentum": ("optimizer", ("sgd",)),
                                                     "nesterov": ("optimizer", ("sgd",))}


@dataclass
class TrainConfig:
    """Every option of a training run. Defaults: the recipe that takes LeNet-5 to ~98 % on MNIST's
    8k/2k split in 8 epochs (AdamW 3e-3, one-cycle, batch 128, label smoothing 0.1)."""

    epochs: int = 8
    batch_size: int = 128
    optimizer: str = "adamw"            # adamw | sgd
    lr: float = 3e-3                    # peak learning rate
    momentum: float = 0.9               # sgd only
    nesterov: bool = False              # sgd only
    weight_decay: float = 5e-4
    schedule: str = "onecycle"          # onecycle | cosine | constant
    warmup: float | None = None         # fraction of training rising to lr; None: 0.25 one-cycle, 0 otherwise
    label_smoothing: float = 0.1
    grad_clip: float | None = None      # max global gradient norm
    time_budget: float | None = None    # seconds of training (evaluation excluded); stops early
    seed: int = 0
    deterministic: bool = False         # deterministic kernels where torch has them (warns on others)
    device: str = "auto"                # auto (cuda > mps > cpu) | cpu | cuda | cuda:N | mps
    threads: int | None = None          # CPU threads for this run (restored afterwards)
    amp: bool | None = None             # mixed precision; None: on for CUDA (bf16 where supported, else fp16)
    channels_last: bool | None = None   # None: on for CUDA
    crop: int | None = None             # random-crop padding in pixels; None: the data's default
    flip: bool | None = None            # random horizontal flip; None: the data's default
    eval_batch_size: int = 1024
    log_every: int = 10                 # steps between StepRecords (each one reads the loss back: a sync)
    snapshot_every: float | None = None  # seconds between SnapshotRecords (filters, feature maps, ERF)
    snapshot_layer: str | None = None   # conv layer to snapshot; None: the first

    def no_effect(self, name: str) -> str | None:
        """Why option ``name`` changes nothing with the other options as they are (``ONLY_WITH``), or None."""
        if name not in ONLY_WITH:
            return None
        other, active = ONLY_WITH[name]
        value = getattr(self, other)
        return None if value in active else f"no effect with {other} {value}: used only with {other} " + " or ".join(
            active)

    def problems(self) -> list[str]:
        """Every invalid option, as 'name: why' (empty when the config is usable)."""
        out = []

        def need(ok: bool, name: str, why: str) -> None:
            if not ok:
                out.append(f"{name}: {why} (got {getattr(self, name)!r})")

        def number(name: str, lo: float, hi: float, optional: bool = False, integer: bool = False) -> None:
            v = getattr(self, name)
            if v is None and optional:
                return
            kind = int if integer else (int, float)
            if isinstance(v, bool) or not isinstance(v, kind):
                out.append(f"{name}: must be {'an integer' if integer else 'a number'} (got {v!r})")
            else:
                need(lo <= v <= hi, name, f"must be in [{lo:g}, {hi:g}]")

        number("epochs", 1, 1_000_000, integer=True)
        number("batch_size", 1, 1 << 20, integer=True)
        need(self.optimizer in OPTIMIZERS, "optimizer", f"must be one of {', '.join(OPTIMIZERS)}")
        number("lr", 1e-9, 100.0)
        number("momentum", 0.0, 0.999)
        number("weight_decay", 0.0, 10.0)
        need(self.schedule in SCHEDULES, "schedule", f"must be one of {', '.join(SCHEDULES)}")
        number("warmup", 0.0, 0.9, optional=True)
        number("label_smoothing", 0.0, 0.9)
        number("grad_clip", 1e-6, 1e6, optional=True)
        number("time_budget", 0.01, 1e9, optional=True)
        number("seed", 0, 2**63 - 1, integer=True)
        base = self.device.split(":")[0] if isinstance(self.device, str) else ""
        need(base in DEVICES and (base == "cuda" or ":" not in self.device), "device",
             f"must be one of {', '.join(DEVICES)} or cuda:N")
        number("threads", 1, 1024, optional=True, integer=True)
        number("crop", 0, 256, optional=True, integer=True)
        number("eval_batch_size", 1, 1 << 20, integer=True)
        number("log_every", 1, 1_000_000, integer=True)
        number("snapshot_every", 0.0, 1e9, optional=True)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            out.append("nesterov: needs optimizer sgd with momentum > 0")
        return out

    def check(self) -> TrainConfig:
        bad = self.problems()
        if bad:
            raise ConfigError("invalid training options: " + "; ".join(bad))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from saved JSON; unknown keys are an error (a typo must not be ignored)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**data).check()
