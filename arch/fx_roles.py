"""Which axes of an fx-imported value are image positions, so the importer can tell an op that mixes
positions (its receptive field becomes global) from one that works per position (a channels-last linear,
a layer norm over channels).

A value's roles are one letter per axis (batch excluded): ``c`` not spatial, ``h`` / ``w`` the input's rows
/ columns (or a split of them), ``s`` spatial axes merged together or of unknown origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

Roles = tuple[str, ...]


def image(shape: Sequence[int]) -> Roles:
    """The network input: C x H x W, or all non-spatial for another rank."""
    return ("c", "h", "w") if len(shape) == 3 else ("c",) * len(shape)


def plain(rank: int) -> Roles:
    return ("c",) * rank


def spatial(roles: Roles, axes: Sequence[int]) -> bool:
    """Whether any of ``axes`` (negative allowed) holds image positions."""
    n = len(roles)
    return any(roles[a % n] != "c" for a in axes if n and -n <= a < n)


def any_spatial(roles: Roles) -> bool:
    return any(r != "c" for r in roles)


def _merge(group: Sequence[str]) -> str:
    found = {r for r in group if r != "c"}
    if not found:
        return "c"
    return found.pop() if len(found) == 1 else "s"


def reshape(src: Sequence[int], roles: Roles, dst: Sequence[int]) -> Roles:
    """Roles after a view / reshape / flatten: each output axis takes the roles of the input axes it
    merges or splits; a regrouping that both splits and merges marks its axes ``s``."""
    if prod(src) != prod(dst):
        return ("s",) * len(dst)
    out: list[str] = []
    i = j = 0
    src, dst = list(src), list(dst)
    while i < len(src) or j < len(dst):
        if i < len(src) and src[i] == 1 and (j >= len(dst) or dst[j] != 1):
            i += 1
            continue
        if j < len(dst) and dst[j] == 1 and (i >= len(src) or src[i] != 1):
            out.append("c")
            j += 1
            continue
        si, sj = i, j
        a, b = src[i], dst[j]
        i, j = i + 1, j + 1
        while a != b:
            if a < b:
                a *= src[i]
                i += 1
            else:
                b *= dst[j]
                j += 1
        group = roles[si:i]
        role = _merge(group) if (i - si == 1 or j - sj == 1) else ("s" if _merge(group) != "c" else "c")
        out.extend([role] * (j - sj))
    return tuple(out)


def permute(roles: Roles, dims: Sequence[int]) -> Roles:
    n = len(roles)
    return tuple(roles[d % n] for d in dims)


def swap(roles: Roles, a: int, b: int) -> Roles:
    out = list(roles)
    n = len(out)
    out[a % n], out[b % n] = out[b % n], out[a % n]
    return tuple(out)


def index(roles: Roles, shape: Sequence[int], key: object) -> tuple[Roles, bool] | None:
    """Roles after basic indexing ``x[key]`` (ints, slices, None, Ellipsis), and whether a spatial axis
    is sliced with a start or step (which moves or strides the grid); None for advanced indexing."""
    items = list(key) if isinstance(key, tuple) else [key]
    if any(not (it is None or it is Ellipsis or isinstance(it, (int, slice))) or isinstance(it, bool) for it in items):
        return None
    if sum(it is Ellipsis for it in items) > 1:
        return None
    real = sum(1 for it in items if it is not None and it is not Ellipsis)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + [slice(None)] * (len(roles) - real) + items[k + 1:]
    items += [slice(None)] * (len(roles) - sum(1 for it in items if it is not None))
    out: list[str] = []
    moved = False
    axis = 0
    for it in items:
        if it is None:
            out.append("c")
            continue
        role = roles[axis] if axis < len(roles) else "c"
        if isinstance(it, slice):
            out.append(role)
            start, _, step = it.indices(shape[axis] if axis < len(shape) else 1)
            moved = moved or (role != "c" and (start != 0 or step != 1))
        else:
            moved = moved or role != "c"
        axis += 1
    return tuple(out), moved
