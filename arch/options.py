"""Run options declared once. A config dataclass gives each field an ``Option`` (a typed ``Field`` plus how a
command line spells it), and its validation, argparse flags, JSON files, GUI forms and search knobs are all
derived from that one declaration, so they cannot disagree::

    @dataclass
    class TrainConfig:
        lr: float = option("float", 3e-3, "peak learning rate", min=1e-9, max=10.0, metavar="X")

Qt-free and torch-free (argparse is the standard library): ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, get_args

from arch.errors import ConvSmithError
from arch.fields import Field, FieldKind, did_you_mean, show

OwnKind = Literal["text", "list"]  # kinds an option has beyond a block field's: free text, a list of choices
OptionKind = FieldKind | OwnKind
OWN_KINDS: tuple[OwnKind, ...] = get_args(OwnKind)
KEY = "option"  # where a dataclass field keeps its Option (field metadata)


class ConfigError(ConvSmithError):
    """A run option out of range, unknown, or impossible on this machine (e.g. cuda without a GPU)."""


@dataclass(frozen=True)
class Option(Field):
    """A run option: a Field (kind, default, range, doc, ``when``) and how the CLI and the GUI show it."""

    kind: OptionKind  # type: ignore[assignment]  # a field's kinds, and text and list
    searchable: bool = False  # a search may vary it (``train.lr``); options opt in, block fields opt out
    flag: str = ""            # command-line flag ("": --name-with-dashes)
    metavar: str = ""
    pattern: str = ""         # a string matching this regex is valid too (a text option must match it)
    also: str = ""            # the pattern in words, for messages and help ("cuda:N")
    none: str = "none"        # what null means, in a word (the GUI's box beside a nullable editor)
    more: bool = False        # shown under "More options" in a GUI form rather than at the top
    counts: bool = False      # numbers may be written 300k, 2.5M, 1e9
    required: bool = False    # no default: the command line or the config file must give it

    def __post_init__(self) -> None:
        if self.kind not in OWN_KINDS:
            super().__post_init__()

    @property
    def cli(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Normalise a JSON value; (value, None) or (None, reason)."""
        if value is None:
            return (None, None) if self.nullable else (None, "must not be null")
        if self.kind == "text":
            return self._text(str(value) if isinstance(value, PurePath) else value)  # folders may be paths
        if self.kind == "list":
            return self._list(value)
        if self.kind == "choice" and self._matches(value):
            return value, None
        value, why = super().check(value)
        return (value, why.replace(" (got", f" or {self.also} (got") if why and self.also else why)

    def _matches(self, value: Any) -> bool:
        return isinstance(value, str) and bool(self.pattern) and re.fullmatch(self.pattern, value) is not None

    def _text(self, value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, str) or not value.strip() or (self.pattern and not self._matches(value)):
            return None, f"must be {self.describe()} (got {show(value)})"
        return value, None

    def _list(self, value: Any) -> tuple[Any, str | None]:
        items = tuple(value) if isinstance(value, (list, tuple)) else ()
        if not items or any(v not in self.choices for v in items):
            return None, f"must be {self.describe()} (got {show(items or value)})"
        return items, None

    def _range(self, v: float) -> str | None:
        if self.min is not None and self.max is not None and not self.min <= v <= self.max:
            return f"must be in [{_num(self.min)}, {_num(self.max)}] (got {_num(v)})"
        return super()._range(v)

    def describe(self) -> str:
        """Type and range in words, for --help, tooltips, messages and docs."""
        if self.kind == "text":
            return self.also or "text"
        if self.kind == "list":
            return "a list of " + ", ".join(show(c) for c in self.choices)
        if self.kind in ("int", "float") and self.min is not None and self.max is not None:
            return f"{'integer' if self.kind == 'int' else 'number'} in [{_num(self.min)}, {_num(self.max)}]"
        words = super().describe()
        return f"{words} or {self.also}" if self.also else words

    def shown(self, value: Any) -> str:
        """A value as a person reads it in help and forms (null as this option's word for it)."""
        if value is None:
            return self.none
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, (int, float)):
            return _num(value)
        return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

    def help(self) -> str:
        """The --help line: what it does, its values and its default."""
        values = "" if self.kind == "bool" or (self.kind == "text" and not self.pattern) else self.describe() + "; "
        default = "required" if self.required else "default " + self.shown(self.default)
        return f"{self.doc} ({values}{default})"


def _num(v: float) -> str:
    """1e-09, 0.5, 10, 1000000, 1e+09, 2147483647: short, and exact."""
    short = f"{v:g}"
    exact = float(v).is_integer() and (abs(v) < 1e7 or float(short) != v)
    return str(int(v)) if exact else short


def option(kind: OptionKind, default: Any, doc: str, **more: Any) -> Any:
    """A dataclass field declared by an Option (its name is the field's); ``required=True`` takes no default."""
    declared = Option("", kind, None if more.get("required") else default, doc, **more)
    if more.get("required"):
        return dataclasses.field(metadata={KEY: declared})
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={KEY: declared})
    return dataclasses.field(default=default, metadata={KEY: declared})


_DECLARED: dict[type, tuple[Option, ...]] = {}


def options_of(cls: type) -> tuple[Option, ...]:
    """The options a config dataclass declares, in declaration order."""
    if cls not in _DECLARED:
        _DECLARED[cls] = tuple(dataclasses.replace(f.metadata[KEY], name=f.name) for f in dataclasses.fields(cls)
                               if KEY in f.metadata)
    return _DECLARED[cls]


def option_map(cls: type) -> dict[str, Option]:
    return {o.name: o for o in options_of(cls)}


def problems_of(config: Any) -> list[str]:
    """Every option of ``config`` that its declaration refuses, as 'name: why'."""
    out = []
    for o in options_of(type(config)):
        _, why = o.check(getattr(config, o.name))
        if why:
            out.append(f"{o.name}: {why}")
    return out


def no_effect(config: Any, name: str) -> str | None:
    """Why option ``name`` changes nothing with the other options as they are (its ``when``), or None."""
    o = option_map(type(config)).get(name)
    return None if o is None else o.no_effect({n: getattr(config, n) for n in option_map(type(config))})


def values_from(options: tuple[Option, ...] | list[Option], data: Any, where: str) -> dict[str, Any]:
    """Options from a JSON object, checked: ConfigError names ``where`` (a file) and the key at fault."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a JSON object of options (got {type(data).__name__})")
    known = {o.name: o for o in options}
    out = {}
    for key, raw in data.items():
        o = known.get(key)
        if o is None:
            raise ConfigError(f"{where}: {key}: unknown option{did_you_mean(key, list(known))}")
        value, why = o.check(raw)
        if why:
            raise ConfigError(f"{where}: {key}: {why}")
        out[key] = value
    return out


# ------------------------------------------------------------------------------------------- argparse
def parse_number(text: str) -> float:
    """``3e6``, ``2.5M``, ``300k``, ``1G`` -> a number (for counts such as --max-macs)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)\s*[bB]?\s*", text)
    if not m:
        raise ValueError(f"expected a number such as 300k, 2.5M or 1e9 (got {text!r})")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2).lower()]
    return float(m.group(1)) * scale


def _read(o: Option, text: str) -> Any:
    """A flag's text as the option's JSON value (ValueError when it is not even of the right type)."""
    if o.kind == "int":
        number = parse_number(text) if o.counts else float(int(text))
        if number != int(number):
            raise ValueError(f"expected an integer (got {text!r})")
        return int(number)
    if o.kind == "float":
        return parse_number(text) if o.counts else float(text)
    if o.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if o.kind == "choice":
        return next((c for c in o.choices if str(c) == text), text)
    return text


def flag_type(o: Option) -> Any:
    """argparse ``type`` of an option: a malformed value or an unknown choice is a usage error (exit 2), a
    well-formed one out of range a ConfigError naming the option (exit 1, as any other bad value)."""

    def convert(text: str) -> Any:
        try:
            raw = _read(o, text)
        except ValueError:
            what = {"int": "an integer", "float": "a number"}.get(o.kind, o.describe())
            raise argparse.ArgumentTypeError(f"expected {what} (got {text!r})") from None
        value, why = o.check(raw)
        if why and o.kind in ("choice", "list") and not o.pattern:
            raise argparse.ArgumentTypeError(why)  # a name not among the choices: a usage error, as argparse's
        if why:
            raise ConfigError(f"{o.name}: {why}")
        return value

    convert.__name__ = o.kind  # argparse names the type in its messages
    return convert


def add_flags(parser: argparse.ArgumentParser | Any, options: tuple[Option, ...] | list[Option],
              given_only: bool = False) -> None:
    """One flag per option (dest: the option's name). ``given_only``: flags not given leave no attribute, so a
    config file's values are kept under them (``given``)."""
    for o in options:
        default = argparse.SUPPRESS if given_only else o.default
        text = o.help().replace("%", "%%")
        if o.kind == "bool" and not o.nullable and o.default is False:
            parser.add_argument(o.cli, dest=o.name, action="store_true", default=default, help=text)
        elif o.kind == "bool":
            parser.add_argument(o.cli, dest=o.name, action=argparse.BooleanOptionalAction, default=default,
                                help=text)
        else:
            metavar = o.metavar or ("{" + ",".join(map(str, o.choices)) + "}" if o.kind == "choice" and not
                                    o.pattern else o.name.upper())
            parser.add_argument(o.cli, dest=o.name, type=flag_type(o), default=default, help=text,
                                metavar=metavar)


def given(args: argparse.Namespace, options: tuple[Option, ...] | list[Option]) -> dict[str, Any]:
    """The options present in parsed arguments (all of them unless added with ``given_only``)."""
    return {o.name: getattr(args, o.name) for o in options if hasattr(args, o.name)}
