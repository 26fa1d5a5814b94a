"""Export a trial's architecture (the best one unless a number is given) through arch.export."""

from __future__ import annotations

from pathlib import Path

from search.config import SearchError
from search.records import StudyView


def export_trial(view: StudyView, path: str | Path, number: int | None = None) -> tuple[int, int]:
    """Write the trial's spec as ``path``'s format (.json, .py, .onnx, .pt); returns (trial number, bytes)."""
    from arch.export import export, format_for

    fmt = format_for(path)
    if number is None:
        best = view.best()
        if not best:
            raise SearchError(f"study {view.name!r} has no complete trial yet; name one with --trial N")
        rec = best[0]
    else:
        rec = view.record(number)
    return rec.number, export(rec.spec(), fmt, path)
