"""The spec: a network as a JSON document, loaded into dataclasses and saved back byte-stable."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arch import io
from arch.errors import Problem, SpecError
from arch.fields import did_you_mean, show, to_json
from arch.limits import MAX_INPUT, MAX_NESTING, nesting_problem
from arch.migrate import CURRENT, KNOWN, upgrade
from arch.registry import REGISTRY, families
from arch.spec_keys import DEFAULTS, DESCRIPTION_MAX, KEYS, NAME_MAX, NUMBERS, TOP_KEYS

FORMAT = CURRENT
MAX_FILE_BYTES = 10 * 1024 * 1024
# Names and labels end up in reports, diagrams and exported code (in comments and docstrings only),
# so they may not carry quotes, backslashes, backticks or control characters.
_TEXT = re.compile(r"[^\x00-\x1f\x7f\"'\\`]*")
_PROSE = re.compile(r"[^\x00-\x1f\x7f]*")  # descriptions: any printable text
_SURROGATE = re.compile("[\ud800-\udfff]")  # a JSON "\\udc80" escape decodes to one: it cannot be printed
LABEL_MAX = 64


@dataclass
class BlockSpec:
    """One entry of the body: a block family and the fields written for it (not the defaults)."""

    block: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass
class Spec:
    """A whole network: input, classes and an ordered body of blocks."""

    name: str
    input: tuple[int, int, int]
    num_classes: int
    body: list[BlockSpec] = field(default_factory=list)
    description: str = ""
    width_mult: float = DEFAULTS["width_mult"]  # defaults and ranges: arch/spec_keys.py
    depth_mult: float = DEFAULTS["depth_mult"]  # stage repeats: ceil(repeat * depth_mult), as EfficientNet
    bn_eps: float = DEFAULTS["bn_eps"]
    bn_momentum: float = DEFAULTS["bn_momentum"]
    search: dict[str, Any] = field(default_factory=dict)
    dismissed_lints: list[str] = field(default_factory=list)  # "code@block" a person dismissed (the GUI)


def check_text(value: Any, what: str, limit: int, allow_empty: bool = False, prose: bool = False) -> str | None:
    if not isinstance(value, str):
        return f"{what} must be a string (got {show(value)})"
    if not value and not allow_empty:
        return f"{what} must not be empty"
    if len(value) > limit:
        return f"{what} must be at most {limit} characters (got {len(value)})"
    if (bad := _SURROGATE.search(value)) is not None:
        return f"{what} contains an invalid character: a lone surrogate U+{ord(bad.group()):04X} (not Unicode text)"
    if prose and not _PROSE.fullmatch(value):
        return f"{what} may not contain control characters (newlines, tabs)"
    if not prose and not _TEXT.fullmatch(value):
        return f"{what} may not contain quotes, backslashes, backticks or control characters"
    return None


# ------------------------------------------------------------------------------------------ parse
def _number(raw: Any, path: str, problems: list[Problem], lo: float, hi: float, integer: bool) -> Any:
    ok_type = (isinstance(raw, int) if integer else isinstance(raw, (int, float))) and not isinstance(raw, bool)
    if not ok_type:
        problems.append(Problem(path, f"must be {'an integer' if integer else 'a number'} (got {show(raw)})"))
        return None
    if not lo <= raw <= hi:
        problems.append(Problem(path, f"must be in [{lo}, {hi}] (got {raw})"))
        return None
    return raw


def parse_block(raw: Any, path: str, problems: list[Problem]) -> BlockSpec | None:
    """One block object -> BlockSpec, appending every problem found to ``problems``."""
    families()  # make sure the registry is filled
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"must be an object with a 'block' key (got {show(raw)})"))
        return None
    kind = raw.get("block")
    if not isinstance(kind, str):
        known = ", ".join(REGISTRY)
        problems.append(Problem(path, f"missing 'block' (one of {known})" if kind is None
                                else f"'block' must be a string (got {show(kind)})"))
        return None
    if kind not in REGISTRY:
        problems.append(Problem(path, f"unknown block {kind!r}{did_you_mean(kind, list(REGISTRY))}"))
        return None
    fam = REGISTRY[kind]
    start = len(problems)
    params: dict[str, Any] = {}
    label = ""
    for key, value in raw.items():
        here = f"{path}.{key}"
        if key == "block":
            continue
        if key == "label":
            bad = check_text(value, "a label", LABEL_MAX, allow_empty=True)
            if bad:
                problems.append(Problem(here, bad))
            else:
                label = value
            continue
        f = fam.field_map.get(key)
        if f is None:
            hint = did_you_mean(key, list(fam.field_map) + ["label"])
            problems.append(Problem(here, f"unknown field of {kind}{hint}"))
        elif f.kind == "block":
            unit = parse_block(value, here, problems)
            if unit is not None:
                params[key] = unit
        elif f.kind == "paths":
            lanes = _parse_paths(value, here, problems)
            if lanes is not None:
                params[key] = lanes
        elif f.kind != "overrides":
            v, err = f.check(value)
            if err:
                problems.append(Problem(here, err))
            else:
                params[key] = v
    for f in fam.fields:
        if f.kind == "overrides" and f.name in raw:
            over = _parse_overrides(raw[f.name], params.get("unit"), f"{path}.{f.name}", problems)
            if over is not None:
                params[f.name] = over
    if len(problems) == start:
        for fname, msg in fam.check(fam.resolve(params)):
            problems.append(Problem(f"{path}.{fname}", msg))
    return BlockSpec(kind, params, label) if len(problems) == start else None


def _parse_paths(raw: Any, path: str, problems: list[Problem]) -> list[list[BlockSpec]] | None:
    """A branch's ``paths``: a list of paths, each a list of blocks (``body[3].paths[1][0]``)."""
    if not isinstance(raw, list) or not all(isinstance(lane, list) for lane in raw):
        problems.append(Problem(path, f"must be a list of paths, each a list of blocks (got {show(raw)})"))
        return None
    from arch.paths import item  # paths reads specs: imported here, not at the top

    start = len(problems)
    lanes = [[parse_block(b, item(item(path, p), j), problems) for j, b in enumerate(lane)]
             for p, lane in enumerate(raw)]
    return lanes if len(problems) == start else None  # type: ignore[return-value]


def _parse_overrides(raw: Any, unit: BlockSpec | None, path: str, problems: list[Problem]) -> dict | None:
    """A stage's ``first``: fields of its unit that differ in the first repeat (stride, width)."""
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"must be an object of field overrides (got {show(raw)})"))
        return None
    if unit is None:
        return None
    fam = REGISTRY[unit.block]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        f = fam.field_map.get(key)
        if f is None or f.kind in ("block", "overrides"):
            problems.append(Problem(f"{path}.{key}", f"not a field of {unit.block}"
                                    f"{did_you_mean(key, list(fam.field_map))}"))
            continue
        v, err = f.check(value)
        if err:
            problems.append(Problem(f"{path}.{key}", err))
        else:
            out[key] = v
    merged = {**unit.params, **out}
    for fname, msg in fam.check(fam.resolve(merged)):
        problems.append(Problem(f"{path}.{fname}", msg))
    return {k: out[k] for k in fam.field_map if k in out}


def parse_spec(data: Any, source: str = "") -> Spec:
    """A decoded JSON document -> Spec, or SpecError listing every problem at once."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise SpecError(Problem("", f"a spec must be a JSON object (got {type(data).__name__})"), source)
    if (deep := nesting_problem(data.get("body"))) is not None:  # before anything recurses into it
        raise SpecError(Problem("body", deep), source)
    data, _ = upgrade(data)  # older formats keep their meaning (arch/migrate.py)
    fmt = data.get("format")
    if fmt is None:
        problems.append(Problem("format", f"missing (expected {FORMAT!r})"))
    elif fmt != FORMAT:
        problems.append(Problem("format", f"unsupported {show(fmt)} (this version reads "
                                          f"{', '.join(map(repr, KNOWN))})"))
    for key in data:
        if key not in KEYS:
            problems.append(Problem(key, f"unknown top-level key{did_you_mean(key, list(KEYS))}"))
    for top in TOP_KEYS:
        if top.required and top.name != "format" and top.name not in data:
            problems.append(Problem(top.name, "missing"))
    name = data.get("name", "")
    if "name" in data and (bad := check_text(name, "the name", NAME_MAX)):
        problems.append(Problem("name", bad))
    description = data.get("description", "")
    if bad := check_text(description, "the description", DESCRIPTION_MAX, allow_empty=True, prose=True):
        problems.append(Problem("description", bad))
    shape: tuple[int, int, int] = (1, 1, 1)
    if "input" in data:
        raw = data["input"]
        if not (isinstance(raw, list) and len(raw) == 3):
            problems.append(Problem("input", f"must be [channels, height, width] (got {show(raw)})"))
        else:
            dims = [_number(v, f"input[{i}]", problems, 1, MAX_INPUT, True) for i, v in enumerate(raw)]
            if None not in dims:
                shape = (dims[0], dims[1], dims[2])
    numbers: dict[str, Any] = {}
    for key, o in NUMBERS.items():  # num_classes, width_mult, ...: checked by their declarations
        if key in data:
            v, why = o.check(data[key])
            if why:
                problems.append(Problem(key, why))
            else:
                numbers[key] = v
    num_classes = numbers.pop("num_classes", 1)
    body: list[BlockSpec] = []
    raw_body = data.get("body", [])
    if not isinstance(raw_body, list):
        problems.append(Problem("body", f"must be a list of blocks (got {show(raw_body)})"))
    else:
        from arch.paths import body as body_path  # paths reads specs: imported here, not at the top

        for i, raw in enumerate(raw_body):
            bs = parse_block(raw, body_path(i), problems)
            if bs is not None:
                body.append(bs)
    search = data.get("search", {})
    if not isinstance(search, dict):
        problems.append(Problem("search", f"must be an object (got {show(search)})"))
        search = {}
    dismissed = data.get("dismissed_lints", [])
    if not (isinstance(dismissed, list) and all(isinstance(d, str) and not check_text(d, "", 200)
                                                for d in dismissed)):
        problems.append(Problem("dismissed_lints", f"must be a list of 'code@block' strings (got {show(dismissed)})"))
        dismissed = []
    if problems:
        raise SpecError(problems, source)
    spec = Spec(name=name, input=shape, num_classes=num_classes, body=body, description=description,
                search=search, dismissed_lints=list(dismissed), **numbers)
    if search:
        from arch.search_space import parse_space

        try:
            parse_space(spec)
        except SpecError as e:
            raise SpecError(e.problems, source) from None
    return spec


# ------------------------------------------------------------------------------------------- dump
def block_to_dict(bs: BlockSpec) -> dict[str, Any]:
    fam = REGISTRY[bs.block]
    out: dict[str, Any] = {"block": bs.block}
    if bs.label:
        out["label"] = bs.label
    for f in fam.fields:
        if f.name not in bs.params:
            continue
        v = bs.params[f.name]
        if f.kind == "block":
            out[f.name] = block_to_dict(v)
        elif f.kind == "paths":
            out[f.name] = [[block_to_dict(b) for b in lane] for lane in v]
        elif f.kind == "overrides":
            out[f.name] = {k: to_json(x) for k, x in v.items()}
        else:
            out[f.name] = to_json(v)
    return out


def to_dict(spec: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "name": spec.name}
    if spec.description:
        out["description"] = spec.description
    out["input"] = list(spec.input)
    out["num_classes"] = spec.num_classes
    for key, default in DEFAULTS.items():  # numbers left out at their defaults
        if getattr(spec, key) != default:
            out[key] = getattr(spec, key)
    out["body"] = [block_to_dict(b) for b in spec.body]
    if spec.search:
        out["search"] = spec.search
    if spec.dismissed_lints:
        out["dismissed_lints"] = list(spec.dismissed_lints)
    return out


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps(spec: Spec) -> str:
    """Canonical text: top-level keys one per line, each block on one line. Byte-stable."""
    d = to_dict(spec)
    parts = []
    for key, value in d.items():
        if key == "body":
            rows = ",\n".join(f"    {_line(b)}" for b in value)
            parts.append(f'  "body": [\n{rows}\n  ]' if rows else '  "body": []')
        elif key == "search":
            rows = ",\n".join(f"    {_line(k)}: {_line(v)}" for k, v in value.items())
            parts.append(f'  "search": {{\n{rows}\n  }}')
        else:
            parts.append(f"  {_line(key)}: {_line(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# ----------------------------------------------------------------------------------------- files
def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def loads(text: str, source: str = "") -> Spec:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise SpecError(Problem("", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"),
                        source) from None
    except ValueError as e:
        raise SpecError(Problem("", f"invalid spec: {e}"), source) from None
    except RecursionError:
        raise SpecError(Problem("", "invalid JSON: nested too deeply to read (a spec nests blocks at most "
                                    f"{MAX_NESTING} deep)"), source) from None
    return parse_spec(data, source)


def load(path: str | Path) -> Spec:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(Problem("", f"file is {size} bytes; a spec is at most {MAX_FILE_BYTES}"), str(p))
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(Problem("", "no such file"), str(p)) from None
    except IsADirectoryError:
        raise SpecError(Problem("", "is a folder, not a spec file"), str(p)) from None
    except PermissionError:
        raise SpecError(Problem("", "permission denied"), str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(Problem("", f"not UTF-8 text (byte {e.start})"), str(p)) from None
    return loads(text, str(p))


def save(spec: Spec, path: str | Path) -> None:
    """Validate fields, then write atomically: a failed save leaves the old file intact."""
    text = dumps(spec)
    parse_spec(json.loads(text), str(path))
    io.write_text(path, text)


def resolve(source: str) -> Spec:
    """A spec from a file path or ``template:NAME``."""
    if source.startswith("template:"):
        from arch.templates import load_template

        return load_template(source.split(":", 1)[1])
    return load(source)
