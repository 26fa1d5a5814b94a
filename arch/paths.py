"""Spec paths (``body[4].unit.kernel``): how the GUI, lint fixes and search name a field or block.

Grammar: ``body[i]`` is a block; ``.unit`` enters a stage's repeated block; ``.paths[p][j]`` enters
block j of path p of a branch; ``.first.FIELD`` is a first-repeat override; ``.FIELD`` is a field;
``body[i][r]`` (a stage repeat, as the graph names blocks) addresses the unit, with ``r == 0`` meaning
the unit plus its ``first`` overrides. Steps nest: ``body[3].paths[1][0].unit.kernel``.
This module is the one place that writes and reads these paths (``body``, ``item``, ``field``, ``in_path``,
``top_index``, ``split``...): callers never format or match them themselves.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from arch.errors import Problem, SpecError
from arch.registry import family
from arch.spec import BlockSpec, Spec

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_TOP = re.compile(r"body\[(\d+)\]")
_LANE = re.compile(r"(.*)\.paths\[(\d+)\]")
_IN_PATH = re.compile(r"(.*)\.paths\[(\d+)\]\[(\d+)\]")


def body(i: int) -> str:
    """The spec path of top-level block ``i``: ``body[4]``."""
    return f"body[{i}]"


def body_module(i: int) -> str:
    """Its module path in the built model: ``body.4``."""
    return f"body.{i}"


def item(parent: str, i: int) -> str:
    """Entry ``i`` of a list path: repeat ``i`` of a stage (``body[4][1]``) or block ``i`` of a path."""
    return f"{parent}[{i}]"


def field(block: str, name: str) -> str:
    """The path of field ``name`` of the block at ``block``: ``body[4].unit`` + ``kernel``."""
    return f"{block}.{name}"


def first_override(block: str, name: str) -> str:
    """A stage's first-repeat override of field ``name``: ``body[4].first.stride``."""
    return f"{block}.first.{name}"


def top_index(path: str) -> int | None:
    """The top-level block a path starts in: ``body[4][1]`` / ``body[4].unit.kernel`` -> 4; else None."""
    m = _TOP.match(path)
    return int(m.group(1)) if m else None


def top_split(path: str) -> tuple[int, str] | None:
    """``body[4].unit.kernel`` -> (4, ``.unit.kernel``): the top-level block and the rest; None elsewhere."""
    m = _TOP.match(path)
    return (int(m.group(1)), path[m.end():]) if m else None


def lane(branch: str, p: int) -> str:
    """The list of blocks of path ``p`` of the branch at ``branch``: ``body[3].paths[1]``."""
    return f"{branch}.paths[{p}]"


def lane_of(path: str) -> tuple[str, int] | None:
    """``body[3].paths[1]`` -> (``body[3]``, 1): a path's branch and number; None for anything else."""
    m = _LANE.fullmatch(path)
    return (m.group(1), int(m.group(2))) if m else None


def is_top(path: str) -> bool:
    """Whether ``path`` is exactly a top-level block, ``body[4]``."""
    return _TOP.fullmatch(path) is not None


def in_path(branch: str, p: int, j: int) -> str:
    """The spec path of block j of path p of the branch at ``branch``: ``body[3].paths[1][0]``."""
    return item(lane(branch, p), j)


def in_module(module: str, p: int, j: int) -> str:
    """Its module path in the built model: ``body.3.paths.1.0``."""
    return f"{module}.paths.{p}.{j}"


def path_of(path: str) -> tuple[str, int, int] | None:
    """``body[3].paths[1][0]`` -> (``body[3]``, 1, 0): the branch, path and position; None elsewhere."""
    m = _IN_PATH.fullmatch(path)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def innermost_in_path(path: str) -> str | None:
    """The deepest block in a branch's path that ``path`` lies in (``body[3].paths[1][0]`` for
    ``body[3].paths[1][0][2]`` or ``body[3].paths[1][0].kernel``); None outside every path."""
    m = _IN_PATH.match(path)
    return m.group(0) if m else None


def split(path: str) -> list[str | int]:
    """``body[4].unit.kernel`` -> ['body', 4, 'unit', 'kernel']."""
    if not path.startswith("body"):
        raise SpecError(Problem(path, "a spec path starts with body[i]"))
    rest = path[4:]
    steps: list[str | int] = ["body"]
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
    index = steps[1]
    assert isinstance(index, int)
    out = body(index)
    for k, s in enumerate(steps[2:], start=2):
        ahead = steps[k + 1:k + 3]
        into_path = s == "paths" and len(ahead) == 2 and all(isinstance(t, int) for t in ahead)
        if s == "first" or (isinstance(s, str) and s != "unit" and not into_path):
            break
        out = item(out, s) if isinstance(s, int) else field(out, s)
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
        if bs.block == "branch" and head == "paths" and len(rest) >= 3 and isinstance(rest[1], int) \
                and isinstance(rest[2], int):
            p, j = rest[1], rest[2]
            lanes = bs.params.get("paths") or []
            if p >= len(lanes):
                raise SpecError(Problem(path, f"the branch has {len(lanes)} paths"))
            if j >= len(lanes[p]):
                raise SpecError(Problem(path, f"paths[{p}] of the branch has {len(lanes[p])} blocks"))
            bs, rest, first = lanes[p][j], rest[3:], {}
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
    steps = split(path)
    if len(steps) < 3 or not isinstance(steps[-1], str):
        raise SpecError(Problem(path, "names a block, not a field"))
    new = _with_own_block(spec, steps[1], path)
    bs, rest, first = _walk(new, steps[:-1], path)  # stop above the last step: ``.unit`` may be the field
    rest = [*rest, steps[-1]]
    fam = family(bs.block)
    if len(rest) == 1 and rest[0] in first:
        f = fam.field_map[str(rest[0])]
        first[f.name] = _checked(f, value, path)
        problems = [Problem(field(block_path(path), name), msg)
                    for name, msg in fam.check(fam.resolve({**bs.params, **first}))]
        if problems:
            raise SpecError(problems)
        return new
    if len(rest) == 2 and rest[0] == "first" and bs.block == "stage":
        unit = bs.params["unit"]
        of_unit = family(unit.block).field_map.get(str(rest[1]))
        if of_unit is None:
            raise SpecError(Problem(path, f"not a field of {unit.block}"))
        f = of_unit
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
    if f.kind == "paths":
        if not (isinstance(value, list) and all(isinstance(one, list) and
                                                all(isinstance(b, BlockSpec) for b in one) for one in value)):
            raise SpecError(Problem(path, "must be a list of paths, each a list of blocks"))
        bs.params[f.name] = copy.deepcopy(value)
    elif f.kind == "block":
        if not isinstance(value, BlockSpec):
            raise SpecError(Problem(path, "must be a block"))
        bs.params[f.name] = copy.deepcopy(value)
    else:
        bs.params[f.name] = _checked(f, value, path)
    problems = [Problem(field(block_path(path), name), msg) for name, msg in fam.check(fam.resolve(bs.params))]
    if problems:
        raise SpecError(problems)
    return new


def _with_own_block(spec: Spec, index: Any, path: str) -> Spec:
    """A copy of ``spec`` that owns (deep-copies) top-level block ``index`` and shares the others: an edit
    changes one block, and copying a whole network of nested branches on every keystroke is what costs."""
    if not isinstance(index, int) or index >= len(spec.body):
        raise SpecError(Problem(path, f"no block {index} (the body has {len(spec.body)})"))
    new = copy.copy(spec)
    new.body = list(spec.body)
    new.body[index] = copy.deepcopy(spec.body[index])
    return new


def with_block(spec: Spec, path: str, block: BlockSpec) -> Spec:
    """A copy of ``spec`` with the block at ``path`` (``body[2]``, ``body[3].paths[1][0]``, ``body[4].unit``)
    replaced by ``block``."""
    steps = split(path)
    if len(steps) == 2:
        new = copy.deepcopy(spec)
        index = int(steps[1])
        if index >= len(new.body):
            raise SpecError(Problem(path, f"no block {index} (the body has {len(new.body)})"))
        new.body[index] = copy.deepcopy(block)
        return new
    if steps[-1] == "unit":
        return with_value(spec, path, block)
    where = path_of(path)
    if where is None:
        raise SpecError(Problem(path, "names no replaceable block (body[i], .unit or .paths[p][j])"))
    branch, p, j = where
    get_block(spec, path)  # the block exists
    lanes = [list(one) for one in get_block(spec, branch).params["paths"]]
    lanes[p][j] = block
    return with_value(spec, field(branch, "paths"), lanes)


def _checked(f: Any, value: Any, path: str) -> Any:
    v, err = f.check(value)
    if err:
        raise SpecError(Problem(path, err))
    return v
