"""Autosave and crash recovery, Qt-free: each open document with unsaved changes is written to a
recovery file; a clean exit removes them, so files left by a process that is gone mean a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from arch import io
from arch.spec import Spec, dumps


@dataclass(frozen=True)
class Recovered:
    file: Path  # the recovery file
    name: str
    source: str | None  # the document's own file, if it had one
    saved_at: float
    text: str  # the spec as saved


def _alive(pid: int) -> bool:
    """Whether the process that wrote a recovery file still runs (then it is not a crash)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would signal the process there: assume it is gone
        return False
    from search.liveness import pid_alive  # shared with the search workers' liveness check

    return pid_alive(pid)


class RecoveryStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def write(self, key: str, spec: Spec, source: Path | None) -> None:
        record = {"pid": os.getpid(), "name": spec.name, "source": str(source) if source else None,
                  "saved_at": time.time(), "spec": dumps(spec)}
        io.write_text(self._file(key), json.dumps(record))

    def discard(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._file(key).unlink()

    def remove(self, entry: Recovered) -> None:
        with contextlib.suppress(FileNotFoundError):
            entry.file.unlink()

    def orphans(self) -> list[Recovered]:
        """Recovery files of processes that no longer run (unreadable files are skipped and removed)."""
        if not self.folder.is_dir():
            return []
        found = []
        for file in sorted(self.folder.glob("*.json")):
            try:
                record = json.loads(file.read_text(encoding="utf-8"))
                pid, text = int(record["pid"]), str(record["spec"])
            except (OSError, ValueError, KeyError, TypeError):
                with contextlib.suppress(OSError):
                    file.unlink()
                continue
            if not _alive(pid):
                found.append(Recovered(file, str(record.get("name", file.stem)), record.get("source"),
                                       float(record.get("saved_at", 0.0)), text))
        return found
