"""Every edit the designer can make, as a pure function ``Spec -> Edit`` (new spec + readable name).

Field values go through ``arch.paths.with_value`` and spec settings through ``arch.spec.parse_spec``,
so an edit either yields a field-valid spec or raises ``SpecError`` naming the field: the inspector
marks that field and applies nothing. Shape problems are not errors here; they are shown on the block.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from arch import paths
from arch.errors import Problem, SpecError
from arch.fields import show
from arch.paths import block_path, get_block, split, with_value
from arch.registry import family
from arch.spec import LABEL_MAX, BlockSpec, Spec, block_to_dict, check_text, parse_block, parse_spec, to_dict

# A stage dropped from the palette needs something to repeat; the selected block can be wrapped
# instead ("Wrap in stage"), and the inspector changes the unit's family.
DEFAULT_UNIT = "conv"
SETTINGS = ("name", "description", "input", "num_classes", "width_mult", "depth_mult", "bn_eps", "bn_momentum")


@dataclass(frozen=True)
class Edit:
    """The result of an edit: the new spec and the name the undo history shows."""

    spec: Spec
    title: str
    field: str = ""  # the one field it set: consecutive edits of one field merge into one undo step


def new_block(name: str) -> BlockSpec:
    """A block of a family with every field at its default (a stage gets a default unit)."""
    fam = family(name)
    params: dict[str, Any] = {}
    for f in fam.fields:
        if f.kind == "block" and f.default is None:
            params[f.name] = BlockSpec(DEFAULT_UNIT)
    return BlockSpec(name, params)


def _index(spec: Spec, index: int) -> int:
    if not 0 <= index < len(spec.body):
        raise SpecError(Problem(paths.body(index), f"no such block (the body has {len(spec.body)})"))
    return index


def _copy(spec: Spec) -> Spec:
    return copy.deepcopy(spec)


def insert_block(spec: Spec, block: BlockSpec, index: int | None = None) -> Edit:
    """Insert at ``index`` (default: the end), validating the block's fields first."""
    problems: list[Problem] = []
    at = len(spec.body) if index is None else max(0, min(index, len(spec.body)))
    parsed = parse_block(block_to_dict(block), paths.body(at), problems)
    if parsed is None:
        raise SpecError(problems)
    new = _copy(spec)
    new.body.insert(at, parsed)
    return Edit(new, f"Add {block.block}")


def add_family(spec: Spec, name: str, index: int | None = None) -> Edit:
    return insert_block(spec, new_block(name), index)


def remove_block(spec: Spec, index: int) -> Edit:
    new = _copy(spec)
    removed = new.body.pop(_index(spec, index))
    return Edit(new, f"Delete {paths.body(index)} ({removed.block})")


def move_block(spec: Spec, index: int, to: int) -> Edit:
    """Move body[index] so that it ends up at position ``to`` (clamped to the body)."""
    _index(spec, index)
    to = max(0, min(to, len(spec.body) - 1))
    if to == index:
        raise SpecError(Problem(paths.body(index), "is already there"))
    new = _copy(spec)
    new.body.insert(to, new.body.pop(index))
    where = "up" if to == index - 1 else "down" if to == index + 1 else f"to {paths.body(to)}"
    return Edit(new, f"Move {paths.body(index)} {where}")


def duplicate_block(spec: Spec, index: int) -> Edit:
    new = _copy(spec)
    new.body.insert(_index(spec, index) + 1, copy.deepcopy(spec.body[index]))
    return Edit(new, f"Duplicate {paths.body(index)}")


def wrap_in_stage(spec: Spec, index: int) -> Edit:
    """Replace body[index] by a stage of one repeat: the network stays exactly what it was.

    A stride moves into ``first``, so that raising ``repeat`` later down-samples once (as a ResNet stage
    does), not in every repeat.
    """
    new = _copy(spec)
    unit = new.body[_index(spec, index)]
    params: dict[str, Any] = {"repeat": 1, "unit": unit}
    stride = unit.params.get("stride")
    if stride is not None and stride not in (1, [1, 1]) and "stride" in family(unit.block).field_map:
        params["first"] = {"stride": unit.params.pop("stride")}
    new.body[index] = BlockSpec("stage", params)
    return Edit(new, f"Wrap {paths.body(index)} in a stage")


def unwrap_stage(spec: Spec, index: int) -> Edit:
    """Replace a stage by its repeats written out (``first`` merged into the first one)."""
    bs = spec.body[_index(spec, index)]
    if bs.block != "stage":
        raise SpecError(Problem(paths.body(index), f"is a {bs.block}, not a stage"))
    stage = family("stage")
    units = [copy.deepcopy(u) for u in stage.units(stage.resolve(bs.params))]
    new = _copy(spec)
    new.body[index:index + 1] = units
    return Edit(new, f"Unwrap stage {paths.body(index)}")


def set_field(spec: Spec, path: str, value: Any) -> Edit:
    """Set a field (``body[3].kernel``, ``body[2].unit.out``, ``body[2].first.stride``)."""
    if value is None and ".first." in path:
        return Edit(with_value(spec, path, None), f"Clear {path}", path)
    return Edit(with_value(spec, path, value), f"Set {path} to {show(value)}", path)


def reset_field(spec: Spec, path: str) -> Edit:
    """Remove a written field so its default applies again (checked like any other edit)."""
    if ".first." in path:
        return Edit(with_value(spec, path, None), f"Clear {path}")
    steps = split(path)
    target = block_path(path)
    new = _copy(spec)
    block = get_block(new, target)
    name = str(steps[-1])
    fam = family(block.block)
    if name not in fam.field_map:
        raise SpecError(Problem(path, f"not a field of {block.block}"))
    if fam.field_map[name].kind == "block":
        raise SpecError(Problem(path, "a stage always has a unit"))
    block.params.pop(name, None)
    problems = [Problem(paths.field(target, n), msg) for n, msg in fam.check(fam.resolve(block.params))]
    if problems:
        raise SpecError(problems)
    return Edit(new, f"Reset {path}")


def set_label(spec: Spec, path: str, label: str) -> Edit:
    bad = check_text(label, "a label", LABEL_MAX, allow_empty=True)
    if bad:
        raise SpecError(Problem(paths.field(path, "label"), bad))
    new = _copy(spec)
    get_block(new, path).label = label
    return Edit(new, f"Label {path} {label!r}" if label else f"Clear label of {path}")


def change_family(spec: Spec, path: str, name: str) -> Edit:
    """Give a block (usually a stage's unit) another family, keeping fields both families accept."""
    new = _copy(spec)
    old = get_block(new, path)
    fam = family(name)
    kept = {}
    for key, value in old.params.items():
        f = fam.field_map.get(key)
        if f is not None and f.kind not in ("block", "overrides") and f.check(value)[1] is None:
            kept[key] = value
    replacement = new_block(name)
    replacement.params.update(kept)
    replacement.label = old.label
    if fam.check(fam.resolve(replacement.params)):
        replacement.params = new_block(name).params
    old.block, old.params = replacement.block, replacement.params
    _prune_first(new, path, fam)
    return Edit(new, f"Change {path} to {name}")


def _prune_first(spec: Spec, unit_path: str, fam: Any) -> None:
    """Drop a stage's ``first`` overrides the new unit family does not have."""
    if not unit_path.endswith(".unit"):
        return
    stage = get_block(spec, unit_path[: -len(".unit")])
    first = {k: v for k, v in (stage.params.get("first") or {}).items()
             if k in fam.field_map and fam.field_map[k].check(v)[1] is None}
    if first:
        stage.params["first"] = first
    else:
        stage.params.pop("first", None)


def set_setting(spec: Spec, key: str, value: Any) -> Edit:
    """Set a top-level setting (name, input, num_classes, width_mult, ...), validated like a file."""
    if key not in SETTINGS:
        raise SpecError(Problem(key, "not a spec setting"))
    data = to_dict(spec)
    data[key] = list(value) if isinstance(value, tuple) else value
    new = parse_spec(data)
    new.search = copy.deepcopy(spec.search)  # parse_spec shares the dict; snapshots must not
    return Edit(new, f"Set {key} to {show(tuple(value) if isinstance(value, list) else value)}", key)


def fit_to_data(spec: Spec, shape: tuple[int, int, int], classes: int) -> Edit:
    """The network's input and classes set to the data's (one step): training then adapts nothing."""
    data = to_dict(spec)
    data["input"], data["num_classes"] = list(shape), classes
    new = parse_spec(data)
    new.search = copy.deepcopy(spec.search)
    return Edit(new, f"Fit to the data: input {'x'.join(map(str, shape))}, {classes} classes")


def set_dismissed(spec: Spec, keys: list[str]) -> Edit:
    """The lints dismissed for this network ("code@block"); saved with it, nothing built changes."""
    new = _copy(spec)
    new.dismissed_lints = sorted(set(keys))
    added = set(keys) - set(spec.dismissed_lints)
    return Edit(new, f"Dismiss {', '.join(sorted(added))}" if added else "Restore dismissed lints")


def apply_fix(spec: Spec, description: str, edits: list[tuple[str, Any]]) -> Edit:
    """A lint's suggested fix: all its field edits as one step."""
    new = spec
    for path, value in edits:
        new = with_value(new, path, value)
    return Edit(new, f"Apply fix: {description}")
