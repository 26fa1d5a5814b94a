"""Typed block fields: the one declaration that validation, the GUI inspector and search all read."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal, get_args

from arch import activations

Pair = tuple[int, int]
PADDING_WORDS = ("auto", "same", "valid")
FieldKind = Literal["int", "float", "bool", "choice", "pair", "padding", "block", "overrides", "paths"]
KINDS: tuple[FieldKind, ...] = get_args(FieldKind)
# kinds holding blocks or overrides: parsed by the spec, never searched
NESTED: tuple[FieldKind, ...] = ("block", "overrides", "paths")


def as_pair(value: int | Pair | list[int]) -> Pair:
    """An int or [h, w] as (h, w)."""
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (int(h), int(w))


def show(value: Any) -> str:
    """A value as it is written in the JSON spec, for messages."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Field:
    """A block field: its type, default, valid range and whether a search may vary it."""

    name: str
    kind: FieldKind
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    channels: bool = False  # a channel count: scaled by the spec's width multiplier
    searchable: bool = True
    nullable: bool = False  # null allowed (meaning documented in doc)
    when: tuple[str, tuple[Any, ...]] | None = None  # has an effect only while field X is one of (...)

    def no_effect(self, values: dict[str, Any]) -> str | None:
        """Why this field changes nothing for a block's other values (the GUI greys it), or None."""
        if self.when is None:
            return None
        other, active = self.when
        if values.get(other) in active:
            return None
        return f"no effect while {other} is {show(values.get(other))}: used only with {other} " + " or ".join(
            show(v) for v in active)

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Normalise a JSON value; return (value, None) or (None, reason)."""
        if value is None:
            return (None, None) if self.nullable else (None, "must not be null")
        kind = self.kind
        if kind == "int":
            if not _is_int(value):
                return None, f"must be an integer (got {show(value)})"
            return value, self._range(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None, f"must be a number (got {show(value)})"
            if value != value or value in (float("inf"), float("-inf")):
                return None, f"must be a finite number (got {value})"
            return float(value), self._range(value)
        if kind == "bool":
            if not isinstance(value, bool):
                return None, f"must be true or false (got {show(value)})"
            return value, None
        if kind == "choice":
            for c in self.choices:
                if value == c and type(value) is type(c):
                    return value, None
            options = ", ".join(show(c) for c in self.choices)
            hint = did_you_mean(value, [str(c) for c in self.choices]) if isinstance(value, str) else ""
            return None, f"must be one of {options} (got {show(value)}){hint}"
        if kind == "pair":
            return self._pair(value, "an integer or a pair [h, w]")
        if kind == "padding":
            if isinstance(value, str):
                if value in PADDING_WORDS:
                    return value, None
                return None, (f"must be an integer, a pair [h, w], 'auto', 'same' or 'valid' "
                              f"(got {show(value)}){did_you_mean(value, PADDING_WORDS)}")
            return self._pair(value, "an integer, a pair [h, w], 'auto', 'same' or 'valid'")
        raise TypeError(f"field kind {kind} is checked by its block family")

    def _range(self, v: float) -> str | None:
        if self.min is not None and v < self.min:
            return f"must be >= {show(self.min)} (got {show(v)})"
        if self.max is not None and v > self.max:
            return f"must be <= {show(self.max)} (got {show(v)})"
        return None

    def _pair(self, value: Any, what: str) -> tuple[Any, str | None]:
        if _is_int(value):
            return value, self._range(value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
            pair = (value[0], value[1])
            for v in pair:
                bad = self._range(v)
                if bad:
                    return None, bad.replace(f"(got {v})", f"(got {show(pair)})")
            return pair, None
        return None, f"must be {what} (got {show(value)})"

    def describe(self) -> str:
        """Type and range in words, for --help, tooltips and docs."""
        if self.kind in ("int", "float", "pair"):
            lo = "" if self.min is None else show(self.min)
            hi = "" if self.max is None else show(self.max)
            rng = f" in [{lo}, {hi}]" if (lo or hi) else ""
            base = {"int": "integer", "float": "number", "pair": "integer or [h, w]"}[self.kind]
            return base + rng
        if self.kind == "choice":
            return "one of " + ", ".join(show(c) for c in self.choices)
        if self.kind == "padding":
            rng = f" in [{show(self.min)}, {show(self.max)}]" if self.min is not None and self.max is not None else ""
            return f"integer or [h, w]{rng}, 'auto', 'same' or 'valid'"
        return self.kind


def to_json(value: Any) -> Any:
    """A normalised field value back into JSON form (pairs as lists)."""
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    return value


# Shared declarations, so families spell common fields the same way.
ACTIVATIONS = (*activations.NAMES, "none")  # the spec's choices: arch.activations, or none
GATES = ("sigmoid", "hardsigmoid")
MAX_CHANNELS = 16384


def out_channels(default: int = 64, doc: str = "output channels") -> Field:
    return Field("out", "int", default, doc, min=1, max=MAX_CHANNELS, channels=True)


def attention() -> Field:
    """Attention inside a block's branch (before the merge), as SE-ResNet and CBAM-ResNet place it."""
    return Field("attention", "choice", "none", "attention on the branch before the shortcut is added: "
                 "squeeze-excitation or CBAM (channel, then spatial attention)", choices=("none", "se", "cbam"))


def attention_ratio() -> Field:
    return Field("attention_ratio", "float", 0.0625, "hidden width of the attention MLP / channels (1/16)",
                 min=0.001, max=1.0, when=("attention", ("se", "cbam")))


def activation(default: str = "relu") -> Field:
    return Field("activation", "choice", default, "activation after the normalisation", choices=ACTIVATIONS)


def norm(default: str = "batch") -> Field:
    return Field("norm", "choice", default, "normalisation after the convolution", choices=("batch", "none"))


def kernel(default: int = 3) -> Field:
    return Field("kernel", "pair", default, "kernel size (k or [h, w], e.g. [1, 7])", min=1, max=31)


def stride(default: int = 1) -> Field:
    return Field("stride", "pair", default, "stride (s or [h, w])", min=1, max=16)
