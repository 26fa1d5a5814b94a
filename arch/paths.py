"""Spec paths (``body[4].unit.kernel``): how the GUI, lint fixes and search name a field or block.

Grammar: ``body[i]`` is a block; ``.unit`` enters a stage's repeated block; ``.first.FIELD`` is a
first-repeat override; ``.FIELD`` is a field; ``body[i][r]`` (a stage repeat, as the graph names
blocks) addresses the unit, with ``r == 0`` meaning the unit plus its ``first`` overrides.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from arch.errors import Problem, SpecError
from arch.registry import family
from arch.spec import BlockSpec, Spec

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def split(path: str) -> list[str | int]:
    """``body[4].unit.kernel`` -> ['body', 4, 'unit', 'kernel']."""
    if not path.startswith("body"):
        raise SpecError(Problem(path, "a spec path starts with body[i]"))
    rest, steps = path[4:], ["body"]
    pos = 0
    for m in _STEP.finditer(rest):
        if m.start() != pos:
            break
        steps.append(m.group(1) if m.group(1) else int(m.group(2)))
        pos = m.end()
    if pos != len(rest) or len(steps) < 2 or not isinstance(steps[1], int):
        raise SpecError(Problem(path, "not a spec path (expected e.g. body[3] or body[4].unit.kernel)"))
    return steps


def block_path(path: str) -> str:
    """The block part of a field path: ``body[4].unit.kernel`` -> ``body[4].unit``."""
    steps = split(path)
    out = f"body[{steps[1]}]"
    for s in steps[2:]:
        if s in ("first",) or (isinstance(s, str) and s != "unit"):
            break
        out += f"[{s}]" if isinstance(s, int) else f".{s}"
    return out


def _walk(spec: Spec, steps: list[str | int], path: str) -> tuple[BlockSpec, list[str | int], dict[str, Any]]:
    """Follow block steps; return the innermost block, the steps left (a field, or first.field) and
    the stage's ``first`` overrides that apply to it (only for a first repeat, ``body[i][0]``)."""
    index = steps[1]
    assert isinstance(index, int)
    if index >= len(spec.body):
        raise SpecError(Problem(path, f"no block {index} (the body has {len(spec.body)})"))
    bs, rest = spec.body[index], steps[2:]
    first: dict[str, Any] = {}
    while rest:
        head = rest[0]
        if bs.block == "stage" and (head == "unit" or isinstance(head, int)):
            if isinstance(head, int) and head >= bs.params.get("repeat", 2):
                raise SpecError(Problem(path, f"the stage has {bs.params.get('repeat', 2)} repeats"))
            first = (bs.params.get("first") or {}) if head == 0 else {}
            bs, rest = bs.params["unit"], rest[1:]
            continue
        break
    return bs, rest, first


def get_block(spec: Spec, path: str) -> BlockSpec:
    """The block at ``path``; for a first repeat (``body[i][0]``) a copy with the overrides applied."""
    bs, rest, first = _walk(spec, split(path), path)
    if rest:
        raise SpecError(Problem(path, "names a field, not a block"))
    return BlockSpec(bs.block, {**bs.params, **first}, bs.label) if first else bs


def get_value(spec: Spec, path: str) -> Any:
    """The value of a field: written (or overridden, for ``body[i][0]``), else its default."""
    bs, rest, first = _walk(spec, split(path), path)
    fam = family(bs.block)
    if len(rest) == 2 and rest[0] == "first":
        return (bs.params.get("first") or {}).get(str(rest[1]))
    if len(rest) != 1 or rest[0] not in fam.field_map:
        raise SpecError(Problem(path, f"not a field of {bs.block}"))
    name = str(rest[0])
    return first[name] if name in first else bs.params.get(name, fam.field_map[name].default)


def with_value(spec: Spec, path: str, value: Any) -> Spec:
    """A copy of ``spec`` with one field set (checked against the field's declaration).

    Setting a field to its default still writes it explicitly; ``None`` on a first-override removes it.
    On a first repeat (``body[i][0].stride``) a field the stage overrides is set in its ``first``,
    so the addressed block really changes; any other field is set on the unit (every repeat).
    """
    new = copy.deepcopy(spec)
    steps = split(path)
    if len(steps) < 3 or not isinstance(steps[-1], str):
        raise SpecError(Problem(path, "names a block, not a field"))
    bs, rest, first = _walk(new, steps[:-1], path)  # stop above the last step: ``.unit`` may be the field
    rest = [*rest, steps[-1]]
    fam = family(bs.block)
    if len(rest) == 1 and rest[0] in first:
        f = fam.field_map[str(rest[0])]
        first[f.name] = _checked(f, value, path)
        problems = [Problem(f"{block_path(path)}.{name}", msg)
                    for name, msg in fam.check(fam.resolve({**bs.params, **first}))]
        if problems:
            raise SpecError(problems)
        return new
    if len(rest) == 2 and rest[0] == "first" and bs.block == "stage":
        unit = bs.params["unit"]
        f = family(unit.block).field_map.get(str(rest[1]))
        if f is None:
            raise SpecError(Problem(path, f"not a field of {unit.block}"))
        first = dict(bs.params.get("first") or {})
        if value is None:
            first.pop(f.name, None)
        else:
            first[f.name] = _checked(f, value, path)
        if first:
            bs.params["first"] = first
        else:
            bs.params.pop("first", None)
        return new
    if len(rest) != 1 or rest[0] not in fam.field_map:
        raise SpecError(Problem(path, f"not a field of {bs.block}"))
    f = fam.field_map[str(rest[0])]
    if f.kind == "block":
        if not isinstance(value, BlockSpec):
            raise SpecError(Problem(path, "must be a block"))
        bs.params[f.name] = copy.deepcopy(value)
    else:
        bs.params[f.name] = _checked(f, value, path)
    problems = [Problem(f"{block_path(path)}.{name}", msg) for name, msg in fam.check(fam.resolve(bs.params))]
    if problems:
        raise SpecError(problems)
    return new


def _checked(f: Any, value: Any, path: str) -> Any:
    v, err = f.check(value)
    if err:
        raise SpecError(Problem(path, err))
    return v
