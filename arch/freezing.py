"""What the training option ``freeze`` (``body[N]``) holds fixed: every parameter of the top-level blocks
``body[0]`` .. ``body[N]`` (stage repeats and branch paths inside them included; a spec has no stem outside
``body``). Training sets ``requires_grad`` by this and the analysis counts by it, so the trainable and frozen
figures a report shows are the ones a run trains with. Pure data, no torch."""

from __future__ import annotations

from arch.options import ConfigError
from arch.paths import body, top_index


def frozen_blocks(freeze: str, blocks: int) -> range:
    """The indices of the top-level blocks ``freeze`` holds fixed in a network of ``blocks`` top-level blocks;
    ConfigError (one line) for anything but ``body[N]`` with N below ``blocks``."""
    n = top_index(freeze) if isinstance(freeze, str) else None
    if n is None or freeze != body(n):
        raise ConfigError(f"freeze: {freeze!r}: expected body[N]")
    if n >= blocks:
        have = (f"{blocks} body blocks ({body(0)} .. {body(blocks - 1)})" if blocks > 1
                else f"one body block ({body(0)})" if blocks else "no body blocks")
        raise ConfigError(f"freeze: {freeze}: the network has {have}")
    return range(n + 1)


def is_frozen(path: str, frozen: range) -> bool:
    """Whether the block at a spec or graph path (``body[3]``, ``body[3][1]``, ``body[3].paths[0][1]``) lies in
    one of the ``frozen`` top-level blocks."""
    index = top_index(path)
    return index is not None and index in frozen
