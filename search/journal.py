"""The journal file storage, guarded against a write cut mid-line (a crash, a full disk, a killed NFS client).

Optuna's JournalFileBackend skips a partial last line when reading, but the next append lands on that
line and turns it into permanent corruption (every later read fails with JSONDecodeError). Here every
append first looks, under the journal's own lock, at the file's last byte: a partial last line is cut
off and kept in ``journal.log.cut-TIME`` beside it, then the append starts on a fresh line. A journal
whose *complete* lines are not JSON is refused with the line number; nothing is written onto it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.storages.journal._file import get_lock_file

from search.config import SearchError


def _tail_start(fh: Any, size: int) -> int:
    """Offset just after the last newline of the file (0 when it has none)."""
    pos, block = size, 1 << 16
    while pos > 0:
        step = min(block, pos)
        fh.seek(pos - step)
        chunk = fh.read(step)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return pos - step + i + 1
        pos -= step
    return 0


def repair_tail(path: Path) -> Path | None:
    """Cut a partial last line off ``path`` (call under the journal lock); returns the backup it wrote."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return None
        start = _tail_start(fh, size)
        fh.seek(start)
        cut = fh.read()
        backup = path.with_name(f"{path.name}.cut-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        backup.write_bytes(cut)
        fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    return backup


def first_bad_line(path: Path) -> tuple[int, str] | None:
    """(1-based line number, start of the text) of the first complete line that is not JSON."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                return None  # a partial last line: repaired on the next write
            try:
                json.loads(line)
            except ValueError:
                return number, line[:60].decode("utf-8", "replace")
    return None


def refuse_if_corrupt(path: Path) -> None:
    bad = first_bad_line(path)
    if bad is not None:
        raise SearchError(f"journal {path} is corrupt at line {bad[0]} ({bad[1]!r} is not JSON); ConvSmith will "
                          "not write onto it: restore the file from a backup, or cut it before that line")


class SafeJournalFileBackend(JournalFileBackend):
    """Optuna's journal file backend whose appends never land on a partial line (see the module docstring)."""

    def __init__(self, file_path: str) -> None:
        super().__init__(file_path, JournalFileOpenLock(file_path))
        self.repairs: list[Path] = []

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        with get_lock_file(self._lock):
            backup = repair_tail(Path(self._file_path))
            if backup is not None:
                self.repairs.append(backup)
            text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            with open(self._file_path, "ab") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
