"""What a search is asked to do: objectives, limits, sampler, pruner, budget, storage and workers.

One dataclass filled by the CLI flags, the GUI form and tests alike; ``problems()`` says what is wrong in
words that name the option, so every front end reports bad input the same way.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arch.errors import ConvSmithError
from arch.spec import Spec

# name -> (optimisation direction, what it is); accuracy is always the first objective.
OBJECTIVES: dict[str, tuple[str, str]] = {
    "accuracy": ("maximize", "validation top-1 accuracy (fraction)"),
    "macs": ("minimize", "multiply-accumulates of one forward pass (analysis)"),
    "params": ("minimize", "parameters (analysis)"),
    "memory": ("minimize", "peak activation bytes of one inference at batch 1 (analysis)"),
    "latency": ("minimize", "median forward time at batch 1 on the search device, in ms (measured)"),
}
SAMPLERS = ("tpe", "nsga2", "random", "gp")
SINGLE_PRUNERS = ("median", "hyperband", "halving", "none")
MULTI_PRUNERS = ("bucket", "none")
DEVICES = ("auto", "cpu", "cuda")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SearchError(ConvSmithError):
    """A search that cannot run as asked (bad option, mismatching study, missing package)."""


@dataclass(frozen=True)
class Limits:
    """Constraints checked on each candidate before it is trained (None: no limit)."""

    max_params: int | None = None
    max_macs: int | None = None
    max_memory: int | None = None       # bytes of peak inference activations at batch 1
    max_latency: float | None = None    # ms, median forward time at batch 1 (measured)
    min_rf: int | None = None           # receptive field at the last spatial layer, smaller axis, pixels

    def active(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class SearchConfig:
    """A study: the spec whose ``search`` section is explored, the data, and how to explore it.

    ``trials`` is the number of trials the study should hold (rerunning the same config continues a
    study up to that number). ``train`` holds base training options (training.TrainConfig field names)
    that searched ``train.*`` knobs override per trial.
    """

    spec: Spec
    data: str
    study: str
    trials: int = 20
    timeout: float | None = None
    objectives: tuple[str, ...] = ("accuracy",)
    limits: Limits = field(default_factory=Limits)
    sampler: str = "tpe"
    pruner: str | None = None  # None: median (single objective) or bucket (multi-objective)
    workers: int = 1
    storage: str | None = None  # None: a journal file in root/STUDY/
    root: Path = Path("studies")
    epochs: int = 3
    device: str = "auto"
    seed: int = 0
    keep_best: int = 3
    train: dict[str, Any] = field(default_factory=dict)
    heartbeat: float = 10.0  # seconds between a running trial's liveness marks
    grace: float = 60.0      # a running trial silent for this long (or whose process is gone) is failed
    storage_wait: float = 60.0  # seconds a running search waits for a database that stopped answering
    force_workers: bool = False  # run ``workers`` processes even beyond what the cores and memory allow
    artifacts: Path | None = None  # where trained weights are stored as Optuna artifacts (None: folder/artifacts)

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[o][0] for o in self.objectives]

    @property
    def pruner_name(self) -> str:
        return self.pruner or ("bucket" if self.multi else "median")

    @property
    def folder(self) -> Path:
        """Where this study's files live: the default storage and the per-trial artifacts."""
        return Path(self.root) / self.study

    @property
    def artifacts_folder(self) -> Path:
        """The Optuna artifact store of trained weights (search.weights)."""
        return Path(self.artifacts) if self.artifacts else self.folder / "artifacts"

    def problems(self) -> list[str]:
        out = []
        if not isinstance(self.study, str) or not _NAME.fullmatch(self.study):
            out.append(f"study: a name of letters, digits, '.', '_' or '-' (at most 64, not starting with "
                       f"'.', '_' or '-') (got {self.study!r})")
        for name, lo in (("trials", 1), ("workers", 1), ("epochs", 1), ("keep_best", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                out.append(f"{name}: must be an integer >= {lo} (got {v!r})")
        for name in ("timeout", "heartbeat", "grace", "storage_wait"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                out.append(f"{name}: must be a positive number of seconds (got {v!r})")
        if self.grace is not None and self.heartbeat is not None and self.grace <= 2 * self.heartbeat:
            out.append(f"grace: must exceed twice the heartbeat ({self.heartbeat:g} s) (got {self.grace:g})")
        objs = list(self.objectives)
        unknown = [o for o in objs if o not in OBJECTIVES]
        if unknown:
            out.append(f"objectives: unknown {', '.join(map(repr, unknown))} (choose from {', '.join(OBJECTIVES)})")
        elif not objs or objs[0] != "accuracy":
            out.append(f"objectives: must start with accuracy, e.g. accuracy,macs (got {','.join(objs)})")
        elif len(set(objs)) != len(objs):
            out.append(f"objectives: repeated ({','.join(objs)})")
        if self.sampler not in SAMPLERS:
            out.append(f"sampler: one of {', '.join(SAMPLERS)} (got {self.sampler!r})")
        pruners = MULTI_PRUNERS if self.multi else SINGLE_PRUNERS
        if self.pruner_name not in pruners:
            kind = "multi-objective" if self.multi else "single-objective"
            out.append(f"pruner: a {kind} study takes one of {', '.join(pruners)} (got {self.pruner_name!r})")
        if self.device not in DEVICES and not re.fullmatch(r"cuda:\d+", str(self.device)):
            out.append(f"device: one of {', '.join(DEVICES)} or cuda:N (got {self.device!r})")
        for name, v in self.limits.active().items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                out.append(f"{name.replace('_', '-')}: must be a positive number (got {v!r})")
        out += _train_key_problems(self.train)
        if not self.data or not isinstance(self.data, str):
            out.append("data: a dataset string such as idx:PATH or synthetic:shapes?n=2000&size=16")
        return out

    def check(self) -> None:
        """Raise SearchError listing every problem (or nothing when the config is usable)."""
        probs = self.problems()
        if probs:
            raise SearchError("invalid search settings:\n  " + "\n  ".join(probs) if len(probs) > 1 else probs[0])

    def identity(self) -> dict[str, Any]:
        """What a study is: rerunning with different values here would mix incomparable trials."""
        from arch.spec import dumps

        return {"spec": dumps(self.spec), "data": self.data, "objectives": list(self.objectives),
                "limits": self.limits.active(), "epochs": self.epochs, "train": dict(sorted(self.train.items()))}


# Set per trial by the search itself, so not a --train option.
SEARCH_SET_TRAIN = ("epochs", "device", "threads", "seed")


def train_keys() -> list[str]:
    """The base training options --train accepts: training.TrainConfig's fields the search does not set."""
    from dataclasses import fields

    from training.config import TrainConfig

    return [f.name for f in fields(TrainConfig) if f.name not in SEARCH_SET_TRAIN]


def _train_key_problems(train: dict[str, Any]) -> list[str]:
    keys = train_keys()
    bad = [k for k in train if k not in keys]
    if not bad:
        return []
    hint = {"epochs": "--epochs", "device": "--device", "seed": "--seed", "threads": "--workers"}
    return [f"train: {k!r} is set by the search ({hint[k]})" if k in hint else
            f"train: unknown option {k!r} (valid: {', '.join(keys)})" for k in bad]


def parse_number(text: str) -> float:
    """``3e6``, ``2.5M``, ``300k``, ``1G`` -> a number (for --max-macs, --max-params, --max-memory)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)\s*[bB]?\s*", text)
    if not m:
        raise ValueError(f"expected a number such as 300k, 2.5M or 1e9 (got {text!r})")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2).lower()]
    return float(m.group(1)) * scale
