"""Edits of the spec's ``search`` section, as the designer's other edits: pure ``Spec -> Edit`` functions
that validate the whole search space (``arch.search_space.parse_space``) before anything is applied, so
the undo history only ever holds valid spaces. Qt-free.
"""

from __future__ import annotations

import copy
from typing import Any

from arch import paths, search_space
from arch.errors import Problem, SpecError
from arch.fields import Field
from arch.paths import get_block, get_value, split
from arch.search_space import SPEC_KNOBS, TRAIN_KNOBS, knob_value, parse_space
from arch.spec import Spec, block_to_dict
from gui import edits
from gui.edits import Edit


def searchable_field(spec: Spec, name: str) -> Field:
    """The declaration a search name varies (``body[3].kernel``, ``width_mult``, ``train.lr``), or SpecError
    saying why it cannot be searched."""
    if name in SPEC_KNOBS:
        return SPEC_KNOBS[name]
    if name.startswith("train."):
        f = TRAIN_KNOBS.get(name[6:])
        if f is None:
            raise SpecError(Problem(name, f"unknown training knob (one of {', '.join(TRAIN_KNOBS)})"))
        return f
    if not name.startswith("body["):
        raise SpecError(Problem(name, "only block fields, width_mult, depth_mult, resolution and train.* knobs "
                                      "can be searched"))
    return search_space._field_of(spec, name)


def current_value(spec: Spec, name: str) -> Any:
    """The value a search name has in the base spec (the knob's default for ``train.*``)."""
    if name in SPEC_KNOBS:
        return knob_value(spec, name)
    if name.startswith("train."):
        return TRAIN_KNOBS[name[6:]].default
    return get_value(spec, name)


def slot_name(path: str) -> str | None:
    """The top-level block of a spec path (``body[2].unit.out`` -> ``body[2]``): where a family slot goes."""
    index = paths.top_index(path)
    return None if index is None else paths.body(index)


def set_search(spec: Spec, name: str, decl: dict[str, Any] | None) -> Edit:
    """Declare (or, with None, remove) one searched value; SpecError when the space would be invalid."""
    new = copy.deepcopy(spec)
    had = name in new.search
    if decl is None:
        if not had:
            raise SpecError(Problem(f"search.{name}", "is not searched"))
        del new.search[name]
        title = f"Stop searching {name}"
    else:
        if "blocks" not in decl:
            searchable_field(spec, name)  # the reason a field cannot be searched, before the range's
        new.search[name] = copy.deepcopy(decl)
        title = ("Edit search of " if had else "Search ") + (f"the family of {name}" if "blocks" in decl else name)
    parse_space(new)
    return Edit(new, title)


def slot_declaration(spec: Spec, path: str, names: list[str]) -> dict[str, Any]:
    """``{"blocks": [...]}`` for a slot at top-level ``path`` taking the given families: each alternative
    is the block changed to that family (fields both families have are kept, like the inspector's
    family picker), or the alternative already declared; the block's current family stays first."""
    split(path)
    current = get_block(spec, path).block
    existing = {b.get("block"): b for b in (spec.search.get(path) or {}).get("blocks", []) if isinstance(b, dict)}
    blocks = []
    for name in [current] + [n for n in names if n != current]:
        if name in existing:  # keep an alternative as declared (with its own searched fields)
            blocks.append(copy.deepcopy(existing[name]))
            continue
        changed = spec if name == current else edits.change_family(spec, path, name).spec
        blocks.append(block_to_dict(get_block(changed, path)))
    return {"blocks": blocks}


def space_summary(spec: Spec) -> str:
    """'3 dimensions, 24 configurations' / 'continuous' / the problem, for the search tab and tooltips."""
    try:
        space = parse_space(spec)
    except SpecError as e:
        return f"invalid: {e}"
    if not space:
        return "nothing searched yet: right-click a field in the inspector and choose “Make searchable…”"
    n, size = space.size()
    return f"{n} dimension{'s' if n != 1 else ''}, " + (f"{size:,} configurations" if size is not None
                                                         else "continuous (a float range without a step)")
