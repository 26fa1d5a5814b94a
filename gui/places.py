"""Where things are kept (the runs folder, the studies folder, the last dataset), always as absolute paths,
and remembered between sessions: a relative path would point somewhere else when the app starts from
another folder, so "close the window and reopen it, it is still there" would not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from training.errors import DataError
from training.source import parse_source


def absolute(text: str, default: str) -> Path:
    """A folder typed in a field (``~`` expanded, relative to the current directory) as an absolute path."""
    return Path(text.strip() or default).expanduser().resolve()


def absolute_source(text: str) -> str:
    """A dataset string with its path made absolute (``idx:data/mnist`` -> ``idx:/home/me/data/mnist``);
    synthetic data and strings that do not parse are returned as they are."""
    try:
        src = parse_source(text)
    except DataError:
        return text
    if src.kind == "synthetic":
        return text
    head, sep, query = text.strip().partition("?")
    where = Path(src.where).expanduser()
    if where.is_absolute():
        return text
    return f"{src.kind}:{quote(str(where.resolve()), safe='/~:.-_ ')}" + (sep + query)


KEYS = ("places/runs", "places/studies", "places/dataset")


def remembered(settings: Any) -> dict[str, str]:
    """The places saved by the last session (only those it saved)."""
    out = {}
    for key in KEYS:
        value = settings.value(key)
        if isinstance(value, str) and value:
            out[key] = value
    return out
