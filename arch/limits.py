"""Size limits of a spec, checked before anything is expanded or allocated, so a hostile or mistaken file
gets one clear error instead of a RecursionError or MemoryError minutes later (docs/spec-format.md).

* ``MAX_INPUT``: channels, height and width of the input, each in [1, MAX_INPUT].
* ``MAX_NESTING``: blocks inside blocks (stages, branches) at most this deep.
* ``MAX_EXPANDED_BLOCKS``: blocks once every stage is repeated (``repeat`` x ``depth_mult``) at most this
  many: counted from the spec alone, before expansion.
* ``MAX_BUILD_PARAMS``: a built ``nn.Module`` holds at most this many parameters (float32: 8 GiB);
  analysis, which allocates nothing, has no such limit.
"""

from __future__ import annotations

import math
from typing import Any

MAX_INPUT = 16384  # each of channels, height and width of the input (spec field and --input)
MAX_NESTING = 32
MAX_EXPANDED_BLOCKS = 20_000
MAX_BUILD_PARAMS = 2_000_000_000


def nesting_problem(body: Any) -> str | None:
    """How a raw (decoded JSON) body breaks ``MAX_NESTING``, walked without recursion; None when it is fine."""
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if "block" in value:
                depth += 1
                if depth > MAX_NESTING:
                    return (f"blocks are nested more than {MAX_NESTING} deep (stages or branches inside each "
                            "other); the limit keeps expansion and reports bounded")
            stack.extend((v, depth) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth) for v in value)
    return None


def expanded_blocks(body: list[Any], depth_mult: float = 1.0) -> int:
    """Blocks the body expands to (a stage counts itself and every repeat of its unit), from the spec
    alone in one pass over it (repeats multiply, nothing is expanded). Children are found generically: any
    field holding blocks or lists (of lists) of blocks."""
    from arch.spec import BlockSpec

    total = 0
    stack: list[tuple[Any, int]] = [(bs, 1) for bs in body]
    while stack:
        item, times = stack.pop()
        if isinstance(item, list):
            stack.extend((x, times) for x in item)
            continue
        if not isinstance(item, BlockSpec):
            continue
        total += times
        repeat = item.params.get("repeat") if item.block == "stage" else None
        inner = times * (math.ceil(repeat * depth_mult) if isinstance(repeat, int) else 1)
        for key, value in item.params.items():
            if key != "first" and isinstance(value, (BlockSpec, list)):
                stack.append((value, inner))
    return total


def too_many_blocks(n: int) -> str | None:
    """The problem of a body that expands to ``n`` blocks (None within the limit)."""
    if n > MAX_EXPANDED_BLOCKS:
        return (f"expands to {n:,} blocks (stage repeats multiplied out); a network may have at most "
                f"{MAX_EXPANDED_BLOCKS:,} (arch/limits.py)")
    return None
