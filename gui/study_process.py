"""Running a study from the GUI as its own process: ``convsmith search`` started detached, so the study
keeps running when the window closes, and any window (this one reopened, or another) finds it again.

The study itself lives in its Optuna storage (that is what the search tab reads); beside it, in the study
folder, the GUI keeps the search config it launched (``gui-search-config.json``, run as ``convsmith search
--config FILE``) and its spec (``gui-spec.json``), the coordinator's output
(``gui-search.log``) and who runs it (``gui-search.json``: pid, host, storage), so a reopened window can
show that the study runs and stop it. Qt-free.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from arch import io
from arch.spec import save
from search.config import SearchConfig
from search.liveness import pid_alive
from search.storage import JOURNAL_NAME

MAIN = Path(__file__).resolve().parent.parent / "main.py"
SPEC_FILE, CONFIG_FILE = "gui-spec.json", "gui-search-config.json"
LOG_FILE, RUN_FILE = "gui-search.log", "gui-search.json"
NICENESS = 10


def command(config_path: Path) -> list[str]:
    """The ``convsmith search`` command line that runs a saved search config."""
    return [sys.executable, str(MAIN), "search", "--config", str(config_path)]


def save_config(config: SearchConfig, folder: Path) -> Path:
    """The spec and the search config the GUI launches, saved in the study folder (atomically); the config's
    path. The root is stored absolute, so the process finds the study whatever its working directory."""
    save(config.spec, folder / SPEC_FILE)
    data = replace(config, root=Path(config.root).resolve()).to_json(spec=SPEC_FILE)
    path = (folder / CONFIG_FILE).resolve()
    io.write_text(path, json.dumps(data, indent=2) + "\n")
    return path


@dataclass
class Coordinator:
    """A study's coordinator process as a window sees it."""

    study: str
    folder: Path
    pid: int
    host: str
    storage: str | None
    started: float
    process: subprocess.Popen | None = None  # only in the window that launched it

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.host == socket.gethostname() and pid_alive(self.pid) and _is_search(self.pid, self.folder)

    def stop(self) -> None:
        """Ask it to stop like Ctrl-C: running trials are recorded as interrupted (and retried on resume)."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)

    def log_tail(self, lines: int = 12) -> str:
        try:
            text = (self.folder / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def _is_search(pid: int, folder: Path) -> bool:
    """Whether a live pid is still the coordinator of the study in ``folder`` (not a recycled pid): a search
    of its saved config (or, launched by an older version, of its name); True where /proc is missing."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True
    try:
        parts = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    config = str((folder / CONFIG_FILE).resolve()).encode()
    return b"search" in parts and (config in parts or folder.name.encode() in parts)


def launch(config: SearchConfig) -> Coordinator:
    """Start ``convsmith search`` for ``config`` in its own session (it outlives the window)."""
    folder = Path(config.root) / config.study
    folder.mkdir(parents=True, exist_ok=True)
    config_path = save_config(config, folder)
    with open(folder / LOG_FILE, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} started from the GUI\n".encode())
        log.flush()
        process = subprocess.Popen(command(config_path), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    if hasattr(os, "setpriority"):  # a study runs in the background: the window's thread goes first on a busy
        with contextlib.suppress(OSError):  # machine (its workers fork later and inherit the priority)
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
    coordinator = Coordinator(config.study, folder, process.pid, socket.gethostname(), config.storage, time.time(),
                              process)
    io.write_text(folder / RUN_FILE, json.dumps({"study": config.study, "pid": process.pid, "host": coordinator.host,
                                                 "storage": config.storage, "started": coordinator.started},
                                                indent=2) + "\n")
    return coordinator


@dataclass
class StudyEntry:
    """A study found in a studies folder."""

    name: str
    folder: Path
    storage: str | None      # None: the default journal file in the folder
    coordinator: Coordinator | None


def _read_run(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def find_studies(root: str | Path) -> list[StudyEntry]:
    """Studies under ``root``: folders with a journal file or one the GUI launched (any storage)."""
    base = Path(root)
    if not base.is_dir():
        return []
    out = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        run = _read_run(folder)
        if run is None and not (folder / JOURNAL_NAME).exists():
            continue
        coordinator = None
        if run is not None and isinstance(run.get("pid"), int):
            coordinator = Coordinator(folder.name, folder, run["pid"], str(run.get("host", "")), run.get("storage"),
                                      float(run.get("started") or 0.0))
        storage = run.get("storage") if run else None
        out.append(StudyEntry(folder.name, folder, storage, coordinator))
    return out
