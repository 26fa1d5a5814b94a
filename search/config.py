"""What a search is asked to do: objectives, limits, sampler, pruner, budget, storage and workers.

One dataclass filled by the CLI flags, a config file, the GUI form and tests alike. Each option is declared
once on its field (``arch.options``): its checks, the ``convsmith search`` flags, the config file's keys and
the GUI form derive from it, and ``problems()`` says what is wrong in words that name the option, so every
front end reports bad input the same way. The epochs, device and seed take training's ranges.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arch.errors import ConvSmithError
from arch.fields import did_you_mean
from arch.options import Option, option, option_map, options_of, parse_number, problems_of, values_from
from arch.spec import Spec, parse_spec, resolve, to_dict
from arch.train_options import TrainConfig

__all__ = ["OBJECTIVES", "Limits", "SearchConfig", "SearchError", "config_options", "load_config", "parse_number",
           "read_config", "train_keys", "train_problems"]

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
TRAIN = option_map(TrainConfig)
DEVICES = TRAIN["device"].choices
SEARCH_SET_TRAIN = ("epochs", "device", "threads", "seed")  # set per trial by the search, not base options
FORMAT = "convsmith-search/1"  # a search config file's "format"


class SearchError(ConvSmithError):
    """A search that cannot run as asked (bad option, mismatching study, missing package)."""


def _count(doc: str) -> Any:
    return option("int", None, doc, min=1, max=1e18, nullable=True, counts=True, none="no limit", metavar="X")


def _seconds(default: float | None, doc: str) -> Any:
    return option("float", default, doc, min=0.001, max=1e9, nullable=default is None, metavar="S")


@dataclass(frozen=True)
class Limits:
    """Constraints checked on each candidate before it is trained (None: no limit)."""

    max_params: int | None = _count("limit on parameters, e.g. 200k")
    max_macs: int | None = _count("limit on multiply-accumulates per image, e.g. 5M (never trained beyond)")
    max_memory: int | None = _count("limit on peak inference activation bytes at batch 1, e.g. 2M")
    max_latency: float | None = option("float", None, "limit on the median batch-1 forward time on the search "
                                       "device, in ms (measured)", min=1e-6, max=1e9, nullable=True,
                                       none="no limit", metavar="MS")
    min_rf: int | None = option("int", None, "minimum receptive field (pixels) at the last spatial layer, smaller "
                                "axis", min=1, max=1_000_000, nullable=True, none="no limit", metavar="N")

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
    data: str = option("text", None, "dataset string, e.g. idx:PATH or synthetic:shapes?n=2000&size=16&channels=1",
                       required=True, also="a dataset string such as idx:PATH", metavar="DATASET")
    study: str = option("text", None, "study name (rerun with it to resume)", required=True,
                        pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", also="a name of letters, digits, '.', '_' or "
                        "'-' (at most 64, not starting with '.', '_' or '-')", metavar="NAME")
    trials: int = option("int", 20, "number of trials the study should hold; a rerun tops it up to this", min=1,
                         max=1_000_000, metavar="N")
    timeout: float | None = _seconds(None, "start no new trial after S seconds (running ones finish)")
    objectives: tuple[str, ...] = option("list", ("accuracy",), "accuracy, optionally with macs, params, memory, "
                                         "latency, comma-separated (several: a Pareto front)",
                                         choices=tuple(OBJECTIVES), metavar="LIST")
    limits: Limits = field(default_factory=Limits)
    sampler: str = option("choice", "tpe", "Optuna sampler (nsga2 for several objectives; gp needs scipy)",
                          choices=SAMPLERS)
    pruner: str | None = option("choice", None, "median, hyperband, halving or none for one objective; bucket "
                                "(compare with trials in the same MACs bucket) or none for several",
                                choices=(*SINGLE_PRUNERS[:-1], *MULTI_PRUNERS), nullable=True,
                                none="median or bucket")
    workers: int = option("int", 1, "trial processes in parallel on this machine, each with its share of CPU "
                          "threads; capped by cores and memory unless forced (the CLI's default: one per GPU when "
                          "several are used, else 1)", min=1, max=256, metavar="N")
    storage: str | None = option("text", None, "Optuna storage: sqlite:///FILE.db, postgresql://USER:PASSWORD@HOST/"
                                 "DB (pip install 'convsmith[postgres]'), grpc://HOST:PORT, journal:PATH",
                                 nullable=True, none="ROOT/NAME/journal.log", also="a storage URL", metavar="URL")
    root: Path = option("text", Path("studies"), "folder of studies: default storage and per-trial artifacts",
                        also="a folder", metavar="DIR")
    epochs: int = option("int", 3, "training epochs per trial", min=TRAIN["epochs"].min, max=TRAIN["epochs"].max,
                         metavar="N")
    device: str = option("choice", "auto", TRAIN["device"].doc, choices=DEVICES, pattern=TRAIN["device"].pattern,
                         also=TRAIN["device"].also)
    seed: int = option("int", 0, "seed of the sampler and of training", min=TRAIN["seed"].min,
                       max=TRAIN["seed"].max, metavar="N")
    keep_best: int = option("int", 3, "keep the checkpoints of the best K trials", min=0, max=1_000_000,
                            metavar="K")
    train: dict[str, Any] = field(default_factory=dict)
    heartbeat: float = _seconds(10.0, "seconds between a running trial's liveness marks")
    grace: float = _seconds(60.0, "a running trial silent this long (or whose process is gone) is failed and "
                                  "retried")
    storage_wait: float = _seconds(60.0, "seconds a running search waits for a database that stopped answering")
    force_workers: bool = option("bool", False, "run the workers even beyond the CPU cores or available memory")
    artifacts: Path | None = option("text", None, "Optuna artifact store for trained weights, shared by all "
                                    "machines", nullable=True, none="ROOT/NAME/artifacts", also="a folder",
                                    metavar="DIR")

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
        """Every option its declaration refuses, then what only the options together can say."""
        out = problems_of(self) + problems_of(self.limits)
        bad = {p.split(":")[0] for p in out}
        if not bad & {"grace", "heartbeat"} and self.grace <= 2 * self.heartbeat:
            out.append(f"grace: must exceed twice the heartbeat ({self.heartbeat:g} s) (got {self.grace:g})")
        objs = [] if "objectives" in bad else list(self.objectives)
        if objs and objs[0] != "accuracy":
            out.append(f"objectives: must start with accuracy, e.g. accuracy,macs (got {','.join(objs)})")
        elif len(set(objs)) != len(objs):
            out.append(f"objectives: repeated ({','.join(objs)})")
        pruners = MULTI_PRUNERS if self.multi else SINGLE_PRUNERS
        if "pruner" not in bad and self.pruner_name not in pruners:
            kind = "multi-objective" if self.multi else "single-objective"
            out.append(f"pruner: a {kind} study takes one of {', '.join(pruners)} (got {self.pruner_name!r})")
        return out + train_problems(self.train)

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

    def to_json(self, spec: str | None = None) -> dict[str, Any]:
        """The config file's object: every option by name (limits among them), ``train``, and the spec as a
        file name relative to the config file (``spec``) or, without one, embedded."""
        out: dict[str, Any] = {"format": FORMAT, "spec": spec if spec is not None else to_dict(self.spec)}
        for holder in (self, self.limits):
            for o in options_of(type(holder)):
                value = getattr(holder, o.name)
                out[o.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(
                    value, tuple) else value
        out["train"] = dict(self.train)
        return out


def config_options() -> tuple[Option, ...]:
    """Every option a search config takes, its limits' among them (the CLI flags and file keys)."""
    return options_of(SearchConfig) + options_of(Limits)


def train_keys() -> list[str]:
    """The base training options ``train`` takes: the training options the search does not set itself."""
    return [name for name in TRAIN if name not in SEARCH_SET_TRAIN]


def train_problems(train: Any, where: str = "train") -> list[str]:
    """What is wrong with base training options, each named ``train.KEY``."""
    if not isinstance(train, dict):
        return [f"{where}: must be an object of training options (got {type(train).__name__})"]
    hint = {"epochs": "epochs", "device": "device", "seed": "seed", "threads": "workers"}
    out = []
    for key, value in train.items():
        if key in hint:
            out.append(f"{where}: {key!r} is set by the search ({hint[key]})")
        elif key not in TRAIN:
            out.append(f"{where}: unknown option {key!r}{did_you_mean(key, train_keys())} (valid: "
                       f"{', '.join(train_keys())})")
        elif why := TRAIN[key].check(value)[1]:
            out.append(f"{where}.{key}: {why}")
    return out


def read_config(path: str | Path) -> dict[str, Any]:
    """A search config file's JSON object (SearchError naming the file when it cannot be read)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SearchError(f"{p}: no such search config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SearchError(f"{p}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    except json.JSONDecodeError as e:
        raise SearchError(f"{p}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise SearchError(f"{p}: a search config is a JSON object (got {type(data).__name__})")
    if data.get("format", FORMAT) != FORMAT:
        raise SearchError(f"{p}: format: unsupported {data['format']!r} (this version reads {FORMAT!r})")
    return data


def load_config(path: str | Path | None, given: dict[str, Any], spec: Spec | None = None) -> SearchConfig:
    """A SearchConfig from a config file (None: none) with ``given`` options over it (the command line's) and
    ``spec`` over its spec; an error names the file and the key at fault."""
    data = dict(read_config(path)) if path is not None else {}
    where = str(path) if path is not None else "the command line"
    here = Path(path).parent if path is not None else Path(".")
    data.pop("format", None)
    raw_spec, train = data.pop("spec", None), data.pop("train", {})
    values = values_from(config_options(), data, where)
    for name in ("root", "artifacts"):  # folders in a file are relative to the file, on the command line to cwd
        if values.get(name) is not None:
            values[name] = here / values[name]
    values.update(given)
    if bad := train_problems(train, f"{where}: train"):
        raise SearchError(bad[0])
    if spec is None:
        spec = _spec(raw_spec, where, here)
    for name in ("data", "study"):
        if values.get(name) is None:
            raise SearchError(f"{where}: {name}: missing (give --{name} or set {name!r} in a --config file)")
    limits = Limits(**{k: values.pop(k) for k in list(values) if k in option_map(Limits)})
    for name in ("root", "artifacts"):
        if values.get(name) is not None:
            values[name] = Path(values[name])
    return SearchConfig(spec=spec, limits=limits, train={**train, **values.pop("train", {})}, **values)


def _spec(raw: Any, where: str, folder: Path) -> Spec:
    """The config's spec: a file name (relative to the config file), template:NAME, or the spec itself."""
    if raw is None:
        raise SearchError(f"{where}: spec: missing (give the spec on the command line or set 'spec' in the file)")
    if isinstance(raw, dict):
        return parse_spec(raw, f"{where}: spec")
    if not isinstance(raw, str) or not raw:
        raise SearchError(f"{where}: spec: must be a spec file name or a spec object (got {type(raw).__name__})")
    if raw.startswith("template:") or Path(raw).is_absolute():
        return resolve(raw)
    return resolve(str(folder / raw))

