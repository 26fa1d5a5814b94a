"""Output-size arithmetic of convolution and pooling, exactly as PyTorch computes it."""

from __future__ import annotations

from typing import Any

from arch.fields import as_pair


def conv_pads(kernel: Any, dilation: Any, padding: Any) -> tuple[tuple[int, int, int, int], Any]:
    """Padding as (top, bottom, left, right) and as the torch Conv2d argument.

    'auto' pads (k - 1) * d // 2 on each side (keeps the size of odd kernels at stride 1);
    'same' pads d * (k - 1) in total with the extra pixel at the bottom/right, as torch does.
    """
    (kh, kw), (dh, dw) = as_pair(kernel), as_pair(dilation)
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2), "same"
    if padding == "valid":
        ph = pw = 0
    elif padding == "auto":
        ph, pw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
    else:
        ph, pw = as_pair(padding)
    return (ph, ph, pw, pw), (ph, pw)


def conv_out(size: int, k: int, s: int, d: int, before: int, after: int) -> int:
    return (size + before + after - d * (k - 1) - 1) // s + 1


def pool_out(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape: with ceil_mode the last window must start inside the input."""
    span = size + 2 * p - (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def rows_left_over(size: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """Rows of the padded input after the last window (floor rounding): (H + p_b + p_a - d(k-1) - 1) mod s."""
    return (size + before + after - d * (k - 1) - 1) % s


def pixels_dropped(size: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """Input rows (not padding) that no window reads at the far end: the left-over rows minus the padding."""
    return max(0, rows_left_over(size, k, s, d, before, after) - after)
