"""The spec's top-level keys, declared once: which exist, which are required, and for the numbers their type,
default and range. Parsing and saving (arch/spec.py: unknown keys, missing keys, number checks, defaults not
written), the search's spec-wide knobs (arch/search_space.py) and the format reference (arch/docs.py) read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from arch.limits import MAX_INPUT
from arch.migrate import CURRENT
from arch.options import Option

NAME_MAX, DESCRIPTION_MAX = 80, 2000


@dataclass(frozen=True)
class TopKey:
    """One top-level key: whether a spec must have it, what it means, and (numbers) its declaration."""

    name: str
    required: bool
    doc: str
    option: Option | None = None  # a number checked by its declaration, left out of saved files at its default

    def describe(self) -> str:
        """Its line in the format reference."""
        if self.option is None:
            return self.doc
        o = self.option
        default = "" if o.default is None else f" (default {o.shown(o.default)})"
        return f"{o.describe()}{default}: {self.doc}"


def _number(name: str, kind: Literal["int", "float"], default: Any, lo: float, hi: float, doc: str,
            required: bool = False) -> TopKey:
    return TopKey(name, required, doc, Option(name, kind, default, doc, min=lo, max=hi))


TOP_KEYS: tuple[TopKey, ...] = (
    TopKey("format", True, f'`"{CURRENT}"`'),
    TopKey("name", True, f"1 to {NAME_MAX} characters; no quotes, backslashes, backticks or control characters"),
    TopKey("description", False, f"free text on one line (at most {DESCRIPTION_MAX} characters)"),
    TopKey("input", True, f"`[channels, height, width]`, each in [1, {MAX_INPUT}]"),
    _number("num_classes", "int", None, 1, 1_000_000, "the width of `classifier`", required=True),
    _number("width_mult", "float", 1.0, 0.05, 8.0, "width multiplier over every channel count (multiples of 8 "
            "stay multiples of 8)"),
    _number("depth_mult", "float", 1.0, 0.1, 8.0, "depth multiplier over every stage's repeats: ceil(repeat x "
            "depth_mult) (`scale`)"),
    _number("bn_eps", "float", 1e-5, 1e-12, 1.0, "batch-norm epsilon of the whole network"),
    _number("bn_momentum", "float", 0.1, 0.0, 1.0, "batch-norm momentum of the whole network"),
    TopKey("body", True, "the ordered list of blocks"),
    TopKey("search", False, "an object kept for the search engine (its own format)"),
    TopKey("dismissed_lints", False, "lints a person dismissed in the app, as `\"code@block\"` strings; they "
           "change nothing built"),
)
KEYS: dict[str, TopKey] = {k.name: k for k in TOP_KEYS}
NUMBERS: dict[str, Option] = {k.name: k.option for k in TOP_KEYS if k.option is not None}
DEFAULTS: dict[str, Any] = {name: o.default for name, o in NUMBERS.items() if o.default is not None}
