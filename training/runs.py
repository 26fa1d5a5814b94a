"""Run directories: what a training run leaves behind, and reading it back.

Layout of a run directory (every file written atomically, so at any moment each file is whole)::

    spec.json      the network (absent when a plain nn.Module was trained)
    config.json    training options, dataset summary (with adaptations), device
    run.json       status (running / completed / cancelled / diverged / time_budget / oom / error), figures
    history.csv    one row per epoch
    history.json   {"epochs": [...], "steps": [...]}: epoch rows and step records
    final.pt       the latest weights (rewritten after every epoch and when the run stops)
    best.pt        the weights with the best validation accuracy so far
    histograms.json  per layer and epoch: weight and gradient histograms and norms (``training.interpret.histograms``)
    inspect/       pictures and numbers of ``convsmith inspect`` and the app's Inspect area

run.json is written last after each epoch, so its ``epochs`` always matches the history and checkpoints.
"""

from __future__ import annotations

import csv
import io as _io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arch import io
from training.errors import RunError
from training.records import DoneRecord, EpochRecord, StepRecord

DEFAULT_ROOT = Path("runs")  # where the CLI and the GUI put run directories (relative to the working directory)
EPOCH_COLUMNS = ("epoch", "step", "elapsed", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_top5",
                 "val_f1", "val_map", "best_val_acc", "images_per_s", "train_time", "eval_time", "complete")
EPOCH_LISTS = ("per_class_acc",)  # epoch fields kept in history.json only (a list does not fit a CSV cell)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


class RunWriter:
    """Keeps a run directory current while a run goes on. Refuses a directory that already holds a run."""

    def __init__(self, path: str | Path, spec_text: str | None, config: dict[str, Any], data: dict[str, Any],
                 extra: dict[str, Any]) -> None:
        self.path = Path(path)
        if (self.path / "run.json").exists():
            raise RunError(f"{self.path}: already holds a run; choose another output directory")
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path}: exists and is not a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self.epochs: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {"status": "running", "message": "", "started": time.time(), "finished": None,
                                      "epochs": 0, "steps": 0, "best_val_acc": None, "best_epoch": None,
                                      "final_val_acc": None, "final_val_top5": None,
                                      "elapsed": 0.0, "checkpoints": {}, **extra}
        if spec_text is not None:
            io.write_text(self.path / "spec.json", spec_text)
        io.write_text(self.path / "config.json", _json({"train": config, "data": data, **extra}))
        self._write_history()
        io.write_text(self.path / "run.json", _json(self.state))

    def step(self, rec: StepRecord) -> None:
        self.steps.append({k: v for k, v in rec.to_dict().items() if k != "kind"})

    def epoch(self, rec: EpochRecord, checkpoints: dict[str, str]) -> None:
        """Record a finished epoch (its checkpoints already written) and bring run.json up to date."""
        row = rec.to_dict()
        self.epochs.append({c: row[c] for c in (*EPOCH_COLUMNS, *EPOCH_LISTS)})
        self._write_history()
        complete = sum(1 for row in self.epochs if row["complete"])
        self.state.update(epochs=complete, steps=rec.step, best_val_acc=rec.best_val_acc, elapsed=rec.elapsed,
                          final_val_acc=rec.val_acc, final_val_top5=rec.val_top5, checkpoints=checkpoints)
        if rec.is_best:
            self.state["best_epoch"] = rec.epoch
        io.write_text(self.path / "run.json", _json(self.state))

    def finish(self, done: DoneRecord, checkpoints: dict[str, str]) -> None:
        self._write_history()
        self.state.update(status=done.status, message=done.message, finished=time.time(), steps=done.steps,
                          elapsed=done.elapsed, checkpoints=checkpoints)
        io.write_text(self.path / "run.json", _json(self.state))

    def fail(self, message: str) -> None:
        """An unexpected error stopped the run: say so in run.json (the history so far stays)."""
        self.state.update(status="error", message=message, finished=time.time())
        io.write_text(self.path / "run.json", _json(self.state))

    def _write_history(self) -> None:
        buf = _io.StringIO()
        w = csv.DictWriter(buf, fieldnames=EPOCH_COLUMNS, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(self.epochs)
        io.write_text(self.path / "history.csv", buf.getvalue())
        io.write_text(self.path / "history.json", _json({"epochs": self.epochs, "steps": self.steps}))


@dataclass
class RunInfo:
    """One row of a run listing (the GUI's run picker, ``list_runs``)."""

    path: Path
    status: str
    spec_name: str
    data: str
    started: float
    epochs: int
    best_val_acc: float | None
    final_val_acc: float | None
    elapsed: float
    final_val_top5: float | None = None  # None: 5 classes or fewer (or a run from before it was recorded)


@dataclass
class History:
    """A run's records read back: for overlaid curves and for continuing a run."""

    path: Path
    run: dict[str, Any]
    config: dict[str, Any]
    epochs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)

    def column(self, name: str) -> list[Any]:
        return [row[name] for row in self.epochs]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.parent}: not a run directory (no {path.name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path}: unreadable ({e})") from None


def load_history(run_dir: str | Path) -> History:
    p = Path(run_dir)
    run = _read_json(p / "run.json")
    config = _read_json(p / "config.json")
    hist = _read_json(p / "history.json")
    if not (isinstance(hist, dict) and isinstance(hist.get("epochs"), list) and isinstance(hist.get("steps"), list)):
        raise RunError(f"{p / 'history.json'}: expected {{'epochs': [...], 'steps': [...]}}")
    return History(p, run, config, hist["epochs"], hist["steps"])


def list_runs(root: str | Path = DEFAULT_ROOT) -> list[RunInfo]:
    """Every run directory directly under ``root``, oldest first; folders that are not runs are skipped."""
    base = Path(root)
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.iterdir()):
        if not (p / "run.json").is_file():
            continue
        try:
            run, config = _read_json(p / "run.json"), _read_json(p / "config.json")
        except RunError:
            continue
        source = config.get("data", {}).get("source", "")
        out.append(RunInfo(p, run.get("status", "?"), run.get("spec_name", ""), source,
                           float(run.get("started") or 0.0), int(run.get("epochs") or 0), run.get("best_val_acc"),
                           run.get("final_val_acc"), float(run.get("elapsed") or 0.0), run.get("final_val_top5")))
    return sorted(out, key=lambda r: r.started)
