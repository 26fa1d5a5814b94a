"""Hypothesis strategies for specs, generated from the block registry's field declarations.

Shared by every package's tests. Two entry points, both small enough to build and run quickly
(input at most 3x40x40, channel fields at most 16, at most ``max_blocks`` top-level blocks):

* ``spec_documents()`` — decoded JSON dicts as a person might write them: mostly well-formed, but
  sometimes with out-of-range or wrong-typed values, unknown fields, unknown or misspelt blocks, a
  wrong format id, hostile names. Feed them to ``arch.spec.parse_spec``; expect a ``Spec`` or a
  ``SpecError``.
* ``valid_specs()`` — ``Spec`` objects whose ``build_graph`` has no problems. Blocks are drawn from
  every registered family with in-range values (dilation, 1x7 / 7x1 kernels, 'same' padding, padding
  modes, groups, inception, residual basic and bottleneck, inverted residual with SE, separable,
  max/avg/nmax pooling with ceil_mode and padding, global and adaptive pools, stages with ``first``
  overrides); a drawn block that does not fit the shape reaching it is left out, so every example is
  usable. ``head=True`` always ends with global pool, flatten and classifier (logits of num_classes);
  ``names=["pool", "conv"]`` draws the body from those families only.

Usage::

    from hypothesis import given, settings
    from tests.spec_strategies import valid_specs

    @settings(max_examples=50, deadline=None)
    @given(valid_specs())
    def test_something(spec): ...

Nothing here is hand-listed per family: a new block family is covered as soon as it is registered.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from arch.errors import SpecError
from arch.expand import build_graph
from arch.fields import PADDING_WORDS, Field
from arch.registry import families, family
from arch.spec import FORMAT, Spec, parse_spec

MAX_CHANNELS = 16  # channel fields stay tiny so every drawn network builds and runs in milliseconds
MAX_SIDE = 40
SPAN = {"int": 3, "pair": 6, "float": 5.0}  # valid draws stay within min + SPAN (small, fast networks)
HOSTILE_TEXT = ("x\"); __import__('os').system('touch pwned') #", "line\nbreak", "back\\slash", "tick`s",
                "'''", "\x00nul")
_TEXT_CHARS = st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="\"'\\`\x7f")
SAFE_TEXT = st.text(_TEXT_CHARS, max_size=24)  # what validation accepts in names and labels
NAMES = st.text(_TEXT_CHARS, min_size=1, max_size=24)


def _rare(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws; shrinks towards False (towards the valid document)."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


def _int_range(f: Field) -> tuple[int, int]:
    lo = int(f.min) if f.min is not None else 0
    cap = MAX_CHANNELS if f.channels else lo + SPAN[f.kind if f.kind == "pair" else "int"]
    hi = min(int(f.max), cap) if f.max is not None else cap
    return lo, max(lo, hi)


def _small_ints(f: Field) -> st.SearchStrategy[int]:
    lo, hi = _int_range(f)
    powers = [v for v in (1, 2, 4, 8, 16) if lo <= v <= hi]  # divisible widths make groups work
    return st.one_of(st.sampled_from([lo, *powers]), st.integers(lo, hi))


def _pair_or_int(ints: st.SearchStrategy[int], lo: int, hi: int) -> st.SearchStrategy[Any]:
    """An int, a random pair, or a lopsided pair such as a [1, 7] / [7, 1] kernel."""
    return st.one_of(ints, st.lists(ints, min_size=2, max_size=2), st.sampled_from([[lo, hi], [hi, lo]]))


def valid_value(f: Field, unit: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """An in-range JSON value for a field (``unit``: the unit document, for a stage's ``first``)."""
    if f.kind == "int":
        return _small_ints(f)
    if f.kind == "pair":
        values = _pair_or_int(_small_ints(f), *_int_range(f))
        return st.one_of(st.none(), values) if f.nullable else values
    if f.kind == "padding":
        return st.one_of(st.sampled_from(PADDING_WORDS), _pair_or_int(st.integers(0, 3), 0, 3))
    if f.kind == "float":
        lo = f.min if f.min is not None else 0.0
        hi = min(f.max, lo + SPAN["float"]) if f.max is not None else lo + SPAN["float"]
        nice = [v for v in (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0) if lo <= v <= hi]
        return st.one_of(st.sampled_from(nice or [lo]), st.floats(lo, hi, allow_nan=False))
    if f.kind == "bool":
        return st.one_of(st.none(), st.booleans()) if f.nullable else st.booleans()
    if f.kind == "choice":
        return st.sampled_from(f.choices)
    if f.kind == "block":
        return block_documents(_leaves())
    if f.kind == "overrides":
        return _overrides(unit)
    if f.kind == "paths":
        return st.lists(st.lists(block_documents(_leaves()), max_size=2), min_size=1, max_size=3)
    raise AssertionError(f"no strategy for field kind {f.kind}")


def invalid_value(f: Field) -> st.SearchStrategy[Any]:
    """A value the field must reject: wrong type, out of range, or an unknown choice."""
    wrong = {"bool": [1, "yes", None], "float": ["3", [], {}, True]}.get(f.kind, ["3", [], {}, [1, 2, 3], 1.5, True])
    wrong = [w for w in wrong if not (w is None and f.nullable)]
    wrong_type = st.sampled_from(wrong)
    options = [wrong_type]
    if f.kind in ("int", "pair", "float") and f.max is not None:
        options.append(st.integers(int(f.max) + 1, int(f.max) + 1000))
    if f.kind in ("int", "pair", "float", "padding") and f.min is not None:
        options.append(st.integers(int(f.min) - 100, int(f.min) - 1))
    if f.kind == "choice":
        options.append(st.sampled_from([f"{c}x" for c in f.choices]))
    if f.kind == "float":
        options.append(st.sampled_from([float("nan"), float("inf")]))
    return st.one_of(options)


@st.composite
def _overrides(draw: st.DrawFn, unit: dict[str, Any] | None) -> dict[str, Any]:
    fam = family(unit["block"]) if isinstance(unit, dict) and unit.get("block") in _names() else None
    if fam is None:
        return draw(st.dictionaries(st.sampled_from(["stride", "out"]), st.integers(1, 2), max_size=2))
    plain = [f for f in fam.fields if f.kind not in ("block", "overrides")]
    chosen = draw(st.lists(st.sampled_from(plain), max_size=2, unique_by=lambda f: f.name)) if plain else []
    return {f.name: draw(valid_value(f)) for f in chosen}


def _names() -> list[str]:
    return [fam.name for fam in families()]


def _leaves(names: Sequence[str] | None = None) -> list[str]:
    """Families that hold no block of their own (what a stage may repeat), among ``names``."""
    return [n for n in names or _names() if all(f.kind not in ("block", "paths") for f in family(n).fields)]


@st.composite
def block_documents(draw: st.DrawFn, names: Sequence[str] | None = None, invalid: bool = False) -> dict[str, Any]:
    """One block object of one of the families ``names`` (default: all); a stage repeats one of their
    leaves (or of all leaves). ``invalid=True`` sometimes breaks it (bad value, unknown field or block)."""
    names = list(names or _names())
    name = draw(st.sampled_from(names))
    if invalid and _rare(draw, 12):
        return {"block": draw(st.sampled_from([name + "x", name[:-1], "", 7, None]))}
    fam = family(name)
    doc: dict[str, Any] = {"block": name}
    if _rare(draw, 4):
        doc["label"] = draw(st.sampled_from(HOSTILE_TEXT)) if invalid and _rare(draw, 6) else draw(SAFE_TEXT)
    for f in fam.fields:
        required = f.kind in ("block", "paths")
        if not (required or draw(st.booleans())):
            continue
        if invalid and _rare(draw, 15):
            doc[f.name] = draw(invalid_value(f)) if f.kind not in ("block", "overrides", "paths") else "oops"
        elif f.kind == "block":
            doc[f.name] = draw(block_documents(_leaves(names) or _leaves()))
        else:
            doc[f.name] = draw(valid_value(f, doc.get("unit")))
    if invalid and _rare(draw, 15):
        doc[draw(st.sampled_from(["kernal", "strides", "outt", "color"]))] = 1
    return doc


@st.composite
def _input(draw: st.DrawFn, min_side: int) -> list[int]:
    return [draw(st.integers(1, 3)), draw(st.integers(min_side, MAX_SIDE)), draw(st.integers(min_side, MAX_SIDE))]


@st.composite
def spec_documents(draw: st.DrawFn, max_blocks: int = 6) -> dict[str, Any]:
    """A JSON spec document, valid or not (see the module docstring)."""
    doc: dict[str, Any] = {"format": FORMAT}
    if _rare(draw, 20):
        doc["format"] = draw(st.sampled_from(["convsmith/2", "convsmith", 1, None]))
    if _rare(draw, 30):
        del doc["format"]
    doc["name"] = draw(st.sampled_from(HOSTILE_TEXT)) if _rare(draw, 15) else draw(NAMES)
    if _rare(draw, 5):
        doc["description"] = draw(st.text(max_size=40))
    doc["input"] = draw(_input(1)) if not _rare(draw, 20) else draw(st.sampled_from([[3, 8], [0, 8, 8], "3x8x8"]))
    doc["num_classes"] = draw(st.integers(1, 10)) if not _rare(draw, 20) else draw(st.sampled_from([0, "10", 2.5]))
    if _rare(draw, 6):
        doc["width_mult"] = draw(st.sampled_from([0.5, 0.75, 1.25, 0.0, -1.0, "wide"]))
    if _rare(draw, 8):
        doc["bn_eps"] = draw(st.sampled_from([1e-3, 1e-5, 0.0, 2.0]))
    doc["body"] = draw(st.lists(block_documents(invalid=True), max_size=max_blocks))
    if _rare(draw, 20):
        doc["body"].append(draw(st.sampled_from([3, "conv", [], None])))
    if _rare(draw, 20):
        doc[draw(st.sampled_from(["bodies", "nam", "layers"]))] = []
    if _rare(draw, 30):
        del doc[draw(st.sampled_from(["name", "input", "num_classes", "body"]))]
    return doc


HEAD = [{"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]


@st.composite
def valid_specs(draw: st.DrawFn, max_blocks: int = 6, head: bool | None = None,
                names: Sequence[str] | None = None) -> Spec:
    """A Spec whose build_graph has no problems (see the module docstring); ``names`` limits the block
    families drawn for the body, e.g. ``valid_specs(names=["pool"])`` (the head is added regardless)."""
    top: dict[str, Any] = {"format": FORMAT, "name": draw(NAMES), "input": draw(_input(8)),
                           "num_classes": draw(st.integers(1, 10))}
    if _rare(draw, 5):
        top["width_mult"] = draw(st.sampled_from([0.5, 0.75]))
    if _rare(draw, 5):
        top["bn_eps"] = 1e-3
    with_head = draw(st.booleans()) if head is None else head
    tail = HEAD if with_head else []
    body: list[dict[str, Any]] = []
    room = max_blocks - len(tail)
    for raw in draw(st.lists(block_documents(names), min_size=min(2, room), max_size=room)):
        fixed = _repaired(draw, top, body, raw, tail)
        if fixed is not None:
            body.append(fixed)
    assume(body)  # rare: every drawn block was too big for the input
    return parse_spec({**top, "body": body + tail})


def _repaired(draw: st.DrawFn, top: dict[str, Any], body: list[dict[str, Any]], raw: dict[str, Any],
              tail: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``raw`` with the fields that clash with each other drawn again (a few times, then left out so their
    defaults apply), if it then fits the shape reaching it; None if it does not (a kernel larger than the
    feature map, say). Redrawing keeps rarer combinations, such as pooling with padding, reachable."""
    block = copy.deepcopy(raw)
    here = f"body[{len(body)}]"
    for attempt in range(6):
        try:
            spec = parse_spec({**top, "body": body + [block] + tail})
        except SpecError as e:
            steps = [p.path[len(here) + 1:].split(".") for p in e.problems if p.path.startswith(here + ".")]
            if len(steps) != len(e.problems) or not all(_redraw(draw, block, path, attempt < 3) for path in steps):
                return None
            continue
        return block if build_graph(spec).ok else None
    return None


def _redraw(draw: st.DrawFn, block: dict[str, Any], steps: list[str], again: bool) -> bool:
    """Draw the field at ``steps`` (``padding``, ``unit.kernel``, ``first.stride``) again, or remove it."""
    parent, owner = block, block
    for step in steps[:-1]:
        parent = parent.get(step) if isinstance(parent, dict) else None
        owner = parent if step == "unit" else owner.get("unit", owner) if step == "first" else owner
    name = steps[-1]
    if not isinstance(parent, dict) or name not in parent or name in ("block", "unit"):
        return False
    f = family(owner["block"]).field_map.get(name) if isinstance(owner, dict) else None
    if again and f is not None and f.kind not in ("block", "overrides"):
        parent[name] = draw(valid_value(f))
    else:
        del parent[name]
    return True
