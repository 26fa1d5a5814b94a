"""Search spaces declared on the spec: which fields may vary, and over what.

The ``search`` section of a spec maps a name to a declaration::

    "body[1].out":      {"int": [16, 64], "step": 16}
    "body[1].kernel":   {"choices": [3, 5, [1, 7]]}
    "body[2].repeat":   {"int": [1, 3]}                    (a stage's repeat count)
    "body[3].se_ratio": {"float": [0.0, 0.5]}              ("log": true for a log scale)
    "width_mult":       {"float": [0.5, 1.5], "step": 0.25} (every channel count)
    "depth_mult":       {"float": [1.0, 2.0], "step": 0.1}  (every stage's repeats, rounded up)
    "resolution":       {"choices": [224, 240, 288]}       (the input's height and width)
    "body[4]":          {"blocks": [{"block": "residual", "out": 64, "search": {"kind": {"choices": [...]}}},
                                    {"block": "inverted_residual", "out": 64}]}   (the slot's family)
    "body[3].paths[1][0].kernel": {"choices": [3, 5]}      (a field inside a branch's path)
    "body[3].paths[1][0]": {"blocks": [...]}               (a path's block as a family slot)
    "train.lr":         {"float": [1e-4, 1e-2], "log": true} (training hyperparameters, see TRAIN_KNOBS)

The body itself stays a concrete, valid network (the base); a trial replaces the declared values.
Parameter names are the spec paths, so optuna-dashboard shows them readably; the fields of a slot's
alternatives are named ``body[4].residual.kind``. Declarations are validated like the rest of the spec:
an empty range or a choice outside a field's valid values is a SpecError naming ``search.<name>``.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

from arch import paths
from arch.errors import Problem, SpecError
from arch.fields import NESTED, Field, show
from arch.options import options_of
from arch.registry import family
from arch.spec import BlockSpec, Spec, parse_block
from arch.spec_keys import NUMBERS
from arch.train_options import TrainConfig

# Training hyperparameters a search may vary: the training options declared searchable (arch/train_options.py).
TRAIN_KNOBS: dict[str, Field] = {o.name: o for o in options_of(TrainConfig) if o.searchable}
WIDTH_MULT, DEPTH_MULT = NUMBERS["width_mult"], NUMBERS["depth_mult"]  # the spec's own keys (arch/spec_keys.py)
RESOLUTION = Field("resolution", "int", 224, "input height and width in pixels (compound scaling's third "
                   "dimension)", min=8, max=4096)
SPEC_KNOBS: dict[str, Field] = {f.name: f for f in (WIDTH_MULT, DEPTH_MULT, RESOLUTION)}  # spec-wide settings


def knob_value(spec: Spec, name: str) -> Any:
    """The value a spec-wide knob has in ``spec`` (resolution: the input height)."""
    return spec.input[1] if name == "resolution" else getattr(spec, name)


def with_knob(spec: Spec, name: str, value: Any) -> Spec:
    """``spec`` (a copy already) with a spec-wide knob set in place."""
    if name == "resolution":
        spec.input = (spec.input[0], int(value), int(value))
    else:
        setattr(spec, name, float(value))
    return spec
_PRIMITIVE = (bool, int, float, str)


@dataclass(frozen=True)
class Dimension:
    """One searched value. ``options`` are Optuna-safe (primitives); ``decode`` maps back to JSON."""

    name: str
    kind: str  # "int", "float" or "categorical"
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def options(self) -> tuple[Any, ...]:
        return tuple(c if isinstance(c, _PRIMITIVE) else json.dumps(c) for c in self.choices)

    def decode(self, value: Any) -> Any:
        if self.kind != "categorical":
            return value
        return self.choices[self.options.index(value)]

    @property
    def cardinality(self) -> int | None:
        if self.kind == "categorical":
            return len(self.choices)
        if self.kind == "int":
            return int((self.high - self.low) // (self.step or 1)) + 1
        if self.step:
            return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return None

    def describe(self) -> str:
        if self.kind == "categorical":
            return "{" + ", ".join(show(c) if not isinstance(c, list) else json.dumps(c) for c in self.choices) + "}"
        step = f" step {self.step:g}" if self.step else ""
        return f"[{self.low:g}, {self.high:g}]{step}{' log' if self.log else ''}"


@dataclass
class Alternative:
    """One family a slot may take: its base block and the dimensions of its own fields."""

    block: BlockSpec
    dims: list[Dimension] = field(default_factory=list)  # names relative to the block: "kind", "unit.out"


@dataclass
class Slot:
    """A body position whose block family is itself a choice."""

    name: str  # "body[4]"
    alternatives: list[Alternative]

    @property
    def choice(self) -> Dimension:
        return Dimension(f"{self.name}.block", "categorical",
                         choices=tuple(a.block.block for a in self.alternatives))

    def field_name(self, alt: Alternative, dim: Dimension) -> str:
        return f"{self.name}.{alt.block.block}.{dim.name}"


@dataclass
class SearchSpace:
    dims: list[Dimension] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dims or self.slots)

    def size(self) -> tuple[int, int | None]:
        """(number of dimensions, number of distinct configurations or None when continuous)."""
        n = len(self.dims)
        total: int | None = 1
        for d in self.dims:
            c = d.cardinality
            total = total * c if (c is not None and total is not None) else None
        for s in self.slots:
            n += 1 + max((len(a.dims) for a in s.alternatives), default=0)
            options: int | None = 0
            for a in s.alternatives:
                sub: int | None = 1
                for d in a.dims:
                    c = d.cardinality
                    sub = sub * c if (c is not None and sub is not None) else None
                options = options + sub if (sub is not None and options is not None) else None
            total = total * options if (total is not None and options is not None) else None
        return n, total

    def apply(self, spec: Spec, values: dict[str, Any]) -> tuple[Spec, dict[str, Any]]:
        """The concrete spec for sampled ``values`` (decoded), and the training overrides.

        Raises SpecError when the combination is invalid (e.g. groups no longer divide the width).
        """
        out = copy.deepcopy(spec)
        out.search = {}
        train: dict[str, Any] = {}
        for s in self.slots:
            chosen = values.get(s.choice.name, s.alternatives[0].block.block)
            alt = next(a for a in s.alternatives if a.block.block == chosen)
            holder = Spec("slot", out.input, out.num_classes, [copy.deepcopy(alt.block)])
            for d in alt.dims:
                key = s.field_name(alt, d)
                if key in values:
                    holder = paths.with_value(holder, paths.field(paths.body(0), d.name), values[key])
            out = paths.with_block(out, s.name, holder.body[0])  # body[4], or a path's block body[3].paths[1][0]
        for d in self.dims:
            if d.name not in values:
                continue
            v = values[d.name]
            if d.name.startswith("train."):
                train[d.name[6:]] = v
            elif d.name in SPEC_KNOBS:
                out = with_knob(out, d.name, v)
            else:
                out = paths.with_value(out, d.name, v)
        return out, train


def _dimension(name: str, decl: Any, f: Field, where: str, problems: list[Problem]) -> Dimension | None:
    """One declaration checked against the field it varies."""
    if not isinstance(decl, dict):
        problems.append(Problem(where, f"must be an object such as {{\"choices\": [...]}} (got {show(decl)})"))
        return None
    kinds = [k for k in ("int", "float", "choices") if k in decl]
    extra = set(decl) - {"int", "float", "choices", "step", "log"}
    if len(kinds) != 1 or extra:
        problems.append(Problem(where, "needs exactly one of 'int', 'float', 'choices' (plus optional "
                                       f"'step', 'log'); got keys {sorted(decl)}"))
        return None
    kind = kinds[0]
    if kind == "choices":
        raw = decl["choices"]
        if not isinstance(raw, list) or not raw:
            problems.append(Problem(where, f"choices must be a non-empty list (got {show(raw)})"))
            return None
        choices = []
        for i, c in enumerate(raw):
            v, err = f.check(c)
            if err:
                problems.append(Problem(f"{where}.choices[{i}]", err))
            else:
                choices.append(list(v) if isinstance(v, tuple) else v)
        if len(choices) != len(raw):
            return None
        if len({json.dumps(c) for c in choices}) != len(choices):
            problems.append(Problem(where, "choices repeat a value"))
            return None
        return Dimension("", "categorical", choices=tuple(choices))
    allowed = {"int": ("int", "pair"), "float": ("float",)}[kind]
    if f.kind not in allowed:
        better = {"int": "int", "pair": "int", "float": "float"}.get(f.kind, "choices")
        problems.append(Problem(where, f"{f.name} is {f.describe()}: declare it with '{better}'"))
        return None
    rng = decl[kind]
    numeric = isinstance(rng, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng)
    if not (numeric and len(rng) == 2):
        problems.append(Problem(where, f"{kind} must be a range [low, high] (got {show(rng)})"))
        return None
    lo, hi = rng
    if kind == "int" and not (isinstance(lo, int) and isinstance(hi, int)):
        problems.append(Problem(where, f"int range needs integers (got {show(rng)})"))
        return None
    if lo > hi:
        problems.append(Problem(where, f"empty range [{lo}, {hi}]"))
        return None
    for v in (lo, hi):
        _, err = f.check(v)
        if err:
            problems.append(Problem(where, f"range [{lo}, {hi}] leaves the valid values: {err}"))
            return None
    step, log = decl.get("step"), decl.get("log", False)
    if not isinstance(log, bool):
        problems.append(Problem(where, f"log must be true or false (got {show(log)})"))
        return None
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0 or (
                kind == "int" and not isinstance(step, int)):
            problems.append(Problem(where, f"step must be a positive {'integer' if kind == 'int' else 'number'} "
                                           f"(got {show(step)})"))
            return None
        if log:
            problems.append(Problem(where, "step and log cannot be combined"))
            return None
    if log and lo <= 0:
        problems.append(Problem(where, f"a log range needs low > 0 (got {lo})"))
        return None
    return Dimension("", kind, lo, hi, step, log)


def _field_of(spec: Spec, path: str) -> Field:
    """The declaration of the field a spec path names (SpecError when it names none)."""
    steps = paths.split(path)
    bs = paths.get_block(spec, paths.block_path(path))
    name = str(steps[-1])
    fam = family(bs.block)
    if len(steps) >= 2 and steps[-2] == "first":
        fam = family(bs.params["unit"].block) if bs.block == "stage" else fam
    f = fam.field_map.get(name)
    if f is None or f.kind in NESTED:
        raise SpecError(Problem(path, f"not a searchable field of {bs.block}"))
    if not f.searchable:
        raise SpecError(Problem(path, f"{f.name} of {bs.block} cannot be searched"))
    return f


def _slot(name: str, decl: dict, spec: Spec, problems: list[Problem]) -> Slot | None:
    where = f"search.{name}"
    raw = decl.get("blocks")
    if set(decl) != {"blocks"} or not isinstance(raw, list) or len(raw) < 2:
        problems.append(Problem(where, "a slot needs {\"blocks\": [two or more block objects]}"))
        return None
    alts: list[Alternative] = []
    for i, item in enumerate(raw):
        here = f"{where}.blocks[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, f"must be a block object (got {show(item)})"))
            continue
        own = item.get("search", {})
        bs = parse_block({k: v for k, v in item.items() if k != "search"}, here, problems)
        if bs is None:
            continue
        holder = Spec("slot", spec.input, spec.num_classes, [bs])
        alt = Alternative(bs)
        if not isinstance(own, dict):
            problems.append(Problem(f"{here}.search", f"must be an object (got {show(own)})"))
            continue
        for rel, sub in own.items():
            try:
                f = _field_of(holder, paths.field(paths.body(0), rel))
            except SpecError as e:
                problems += [Problem(f"{here}.search.{rel}", p.message) for p in e.problems]
                continue
            d = _dimension(rel, sub, f, f"{here}.search.{rel}", problems)
            if d is not None:
                alt.dims.append(Dimension(rel, d.kind, d.low, d.high, d.step, d.log, d.choices))
        alts.append(alt)
    families_seen = [a.block.block for a in alts]
    if len(set(families_seen)) != len(families_seen):
        problems.append(Problem(where, "each alternative must be a different block family"))
        return None
    return Slot(name, alts) if len(alts) == len(raw) else None


def parse_space(spec: Spec) -> SearchSpace:
    """The spec's search section as dimensions and slots, or SpecError listing every problem."""
    problems: list[Problem] = []
    space = SearchSpace()
    slot_names = {k for k, v in spec.search.items() if isinstance(v, dict) and "blocks" in v}
    for name, decl in spec.search.items():
        where = f"search.{name}"
        if name in slot_names:
            slot = _slot(name, decl, spec, problems)
            if slot is not None:
                try:
                    paths.get_block(spec, name)
                except SpecError as e:
                    problems += [Problem(where, p.message) for p in e.problems]
                    continue
                space.slots.append(slot)
            continue
        try:
            if name.startswith("train."):
                f = TRAIN_KNOBS.get(name[6:])
                if f is None:
                    raise SpecError(Problem(name, f"unknown training knob (one of {', '.join(TRAIN_KNOBS)})"))
            elif name in SPEC_KNOBS:
                f = SPEC_KNOBS[name]
            else:
                if any(name == s or name.startswith(s + ".") or name.startswith(s + "[") for s in slot_names):
                    raise SpecError(Problem(name, "is inside a block-choice slot: declare it in the slot's "
                                                  "alternatives"))
                f = _field_of(spec, name)
        except SpecError as e:
            problems += [Problem(where, p.message) for p in e.problems]
            continue
        d = _dimension(name, decl, f, where, problems)
        if d is not None:
            space.dims.append(Dimension(name, d.kind, d.low, d.high, d.step, d.log, d.choices))
    if problems:
        raise SpecError(problems)
    return space
