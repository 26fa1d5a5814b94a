"""Structural diff of two specs: which top-level blocks were added, removed or changed (with every field
that differs, defaults filled in so that writing a default changes nothing), the network-level fields
that differ, and what each change does to parameters, MACs and the receptive field (from the analyses).

Blocks are aligned with difflib's longest matching runs, first of whole blocks (all fields), then, between
those, of block families: inserting one block shows as one addition rather than a change of every block
after it, and a block whose fields changed is paired with its counterpart of the same family.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.records import Report
from arch import paths
from arch.registry import family
from arch.spec import BlockSpec, Spec, block_to_dict

NETWORK_FIELDS = ("input", "num_classes", "width_mult", "bn_eps", "bn_momentum")


@dataclass(frozen=True)
class FieldChange:
    path: str        # a spec path: "input", "body[3].kernel", "body[4].unit.out"
    before: Any
    after: Any


@dataclass(frozen=True)
class BlockChange:
    kind: str        # "added", "removed" or "changed"
    before: str      # the block's path in the first spec ("" when added)
    after: str       # its path in the second ("" when removed)
    family: str
    fields: tuple[FieldChange, ...]
    d_params: int
    d_macs: int
    rf_before: tuple[float, float] | None  # the field at the block's output (None: absent, or whole input)
    rf_after: tuple[float, float] | None


@dataclass(frozen=True)
class Diff:
    base: str
    other: str
    network: tuple[FieldChange, ...]
    blocks: tuple[BlockChange, ...]
    d_params: int
    d_macs: int
    rf_before: tuple[float, float]
    rf_after: tuple[float, float]

    @property
    def field_paths(self) -> list[str]:
        """Every changed field, network and block level, as spec paths (of the second spec for blocks)."""
        return [c.path for c in self.network] + [c.path for b in self.blocks for c in b.fields]


def _plain(value: Any) -> Any:
    if isinstance(value, BlockSpec):
        return block_to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def block_fields(b: BlockSpec, prefix: str = "") -> dict[str, Any]:
    """Every field of a block with defaults filled in, nested stage units flattened to ``unit.FIELD``."""
    out: dict[str, Any] = {}
    for f in family(b.block).fields:
        value = b.params.get(f.name, f.default)
        if f.kind == "block" and isinstance(value, BlockSpec):
            out[f"{prefix}{f.name}.block"] = value.block
            out.update(block_fields(value, f"{prefix}{f.name}."))
        elif f.kind == "overrides":
            for k, v in sorted((value or {}).items()):
                out[f"{prefix}{f.name}.{k}"] = _plain(v)
        else:
            out[f"{prefix}{f.name}"] = _plain(value)
    return out


def _field_changes(a: dict[str, Any], b: dict[str, Any], where: str) -> tuple[FieldChange, ...]:
    """Fields that differ; where a nested unit changed family, only its family and the fields both have."""
    swapped = tuple(k[:-len("block")] for k in a if k.endswith(".block") and k in b and a[k] != b[k])
    keys = list(a) + [k for k in b if k not in a]
    return tuple(FieldChange(f"{where}.{k}", a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)
                 and not (k.startswith(swapped) and (k not in a or k not in b)))


def _rf(report: Report, path: str) -> tuple[float, float] | None:
    rec = report.block(path)
    return None if rec.rf_whole_input or len(rec.out_shape) != 3 else rec.rf_size


def _change(kind: str, a: Spec, b: Spec, ra: Report, rb: Report, i: int | None, j: int | None) -> BlockChange:
    pa, pb = (paths.body(i) if i is not None else ""), (paths.body(j) if j is not None else "")
    ba, bb = (a.body[i] if i is not None else None), (b.body[j] if j is not None else None)
    fa = block_fields(ba) if ba else {}
    fb = block_fields(bb) if bb else {}
    fields = _field_changes(fa, fb, pb or pa) if kind == "changed" else ()
    params_a, macs_a = (ra.block(pa).params, ra.block(pa).macs) if pa else (0, 0)
    params_b, macs_b = (rb.block(pb).params, rb.block(pb).macs) if pb else (0, 0)
    either = bb or ba
    assert either is not None  # a change has a block on at least one side
    return BlockChange(kind, pa, pb, either.block, fields, params_b - params_a, macs_b - macs_a,
                       _rf(ra, pa) if pa else None, _rf(rb, pb) if pb else None)


def _signature(b: BlockSpec) -> str:
    return json.dumps(block_fields(b), sort_keys=True, default=str)


def _opcodes(a: list[str], b: list[str]) -> Sequence[tuple[str, int, int, int, int]]:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _same(ra: Report, rb: Report, i: int, j: int) -> bool:
    """Same fields, and the same figures (a width multiplier or an input change shows up here)."""
    x, y = ra.block(paths.body(i)), rb.block(paths.body(j))
    return (x.params, x.macs, x.rf_size) == (y.params, y.macs, y.rf_size)


def diff(a: Spec, b: Spec, ra: Report, rb: Report) -> Diff:
    """How ``b`` differs from ``a`` (``ra``, ``rb``: their analyses at the compared input)."""
    network = tuple(FieldChange(name, _plain(getattr(a, name)), _plain(getattr(b, name)))
                    for name in NETWORK_FIELDS if _plain(getattr(a, name)) != _plain(getattr(b, name)))
    blocks: list[BlockChange] = []
    sig_a, sig_b = [_signature(x) for x in a.body], [_signature(x) for x in b.body]
    for op, i1, i2, j1, j2 in _opcodes(sig_a, sig_b):
        if op == "equal":  # same fields: listed only when its figures differ (a width or input change)
            blocks += [_change("changed", a, b, ra, rb, i, j) for i, j in zip(range(i1, i2), range(j1, j2))
                       if not _same(ra, rb, i, j)]
            continue
        fam_a, fam_b = [x.block for x in a.body[i1:i2]], [x.block for x in b.body[j1:j2]]
        for op2, k1, k2, l1, l2 in _opcodes(fam_a, fam_b):
            if op2 == "equal":
                blocks += [_change("changed", a, b, ra, rb, i1 + k, j1 + m) for k, m in zip(range(k1, k2),
                                                                                           range(l1, l2))]
                continue
            blocks += [_change("removed", a, b, ra, rb, i1 + k, None) for k in range(k1, k2)]
            blocks += [_change("added", a, b, ra, rb, None, j1 + m) for m in range(l1, l2)]
    return Diff(ra.name, rb.name, network, tuple(blocks), rb.totals.params - ra.totals.params,
                rb.totals.macs - ra.totals.macs, ra.receptive_field.size, rb.receptive_field.size)
