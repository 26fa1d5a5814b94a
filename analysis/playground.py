"""The convolution playground's arithmetic: padding, convolution and pooling on a small matrix, with every
window traceable (its cells, the element-wise products and their sum). Plain Python, no torch, no Qt: the
GUI draws what this returns, and the tests hold every value to torch (F.pad, F.conv1d / F.conv2d, the pools).

A 1-D signal is a 1 x N matrix with a 1 x k kernel: one code path for both.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

Matrix = list[list[float]]
MODES = ("zeros", "reflect", "replicate", "circular")
AMOUNTS = ("valid", "same", "full")
POOLS = ("max", "avg", "nmax")


# ------------------------------------------------------------------------------------------ kernels
def _gaussian(size: int, sigma: float | None = None) -> list[float]:
    sigma = sigma or max(0.5, size / 6)
    c = (size - 1) / 2
    g = [math.exp(-((i - c) ** 2) / (2 * sigma * sigma)) for i in range(size)]
    total = sum(g)
    return [v / total for v in g]


def _box2(size: int) -> Matrix:
    return [[1 / (size * size)] * size for _ in range(size)]


def _gauss2(size: int) -> Matrix:
    g = _gaussian(size)
    return [[a * b for b in g] for a in g]


def _fixed(m: Matrix) -> Callable[[int], Matrix]:
    return lambda size: [row[:] for row in m]


def _identity2(size: int) -> Matrix:
    m = [[0.0] * size for _ in range(size)]
    m[size // 2][size // 2] = 1.0
    return m


# name -> (what it does, kernel of a given odd size; the fixed 3x3 ones ignore the size)
KERNELS_2D: dict[str, tuple[str, Callable[[int], Matrix]]] = {
    "box": ("box blur: the mean of the window", _box2),
    "gaussian": ("Gaussian blur (sigma = size / 6)", _gauss2),
    "sobel_x": ("Sobel x: horizontal gradient (vertical edges)", _fixed([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])),
    "sobel_y": ("Sobel y: vertical gradient (horizontal edges)", _fixed([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])),
    "laplacian": ("Laplacian: second derivative, blobs and edges", _fixed([[0, 1, 0], [1, -4, 1], [0, 1, 0]])),
    "sharpen": ("sharpen: identity plus a negative Laplacian", _fixed([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])),
    "identity": ("identity: copies the centre tap", _identity2),
}
KERNELS_1D: dict[str, tuple[str, Callable[[int], list[float]]]] = {
    "box": ("moving average", lambda size: [1 / size] * size),
    "gaussian": ("Gaussian smoothing (sigma = size / 6)", _gaussian),
    "derivative": ("central difference [-1, 0, 1]", lambda size: [-1.0, 0.0, 1.0]),
    "laplacian": ("second difference [1, -2, 1]", lambda size: [1.0, -2.0, 1.0]),
    "identity": ("identity", lambda size: [1.0 if i == size // 2 else 0.0 for i in range(size)]),
}


def kernel(name: str, size: int = 3, one_d: bool = False) -> Matrix:
    """A named kernel as a matrix (1 x k for 1-D)."""
    table = KERNELS_1D if one_d else KERNELS_2D
    if name not in table:
        raise ValueError(f"unknown kernel {name!r}; one of {', '.join(table)} or a custom grid")
    if size < 1:
        raise ValueError(f"kernel size must be >= 1 (got {size})")
    if one_d:
        return [list(map(float, KERNELS_1D[name][1](size)))]
    return [list(map(float, row)) for row in KERNELS_2D[name][1](size)]


def random_matrix(h: int, w: int, seed: int = 0, integers: bool = True) -> Matrix:
    rng = random.Random(seed)
    return [[float(rng.randint(0, 9)) if integers else round(rng.uniform(-1, 1), 3) for _ in range(w)]
            for _ in range(h)]


def parse_matrix(text: str) -> Matrix:
    """Rows on lines (or separated by ';'), values by spaces or commas; every row the same length."""
    rows = [r for r in (line.replace(",", " ").split() for line in text.replace(";", "\n").splitlines()) if r]
    if not rows:
        raise ValueError("the matrix is empty")
    try:
        m = [[float(v) for v in r] for r in rows]
    except ValueError as e:
        raise ValueError(f"not a number: {str(e).split(': ', 1)[-1]}") from None
    if len({len(r) for r in m}) != 1:
        raise ValueError(f"rows differ in length ({', '.join(str(len(r)) for r in m)})")
    return m


# ------------------------------------------------------------------------------------------ padding
def pads_for(amount: str | int, k: tuple[int, int], d: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): valid 0; same keeps the size at stride 1 (torch's split, extra at the end);
    full d(k - 1) on every side (every partial overlap); an int pads that much on every side."""
    if isinstance(amount, int):
        return (amount,) * 4
    th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
    if amount == "valid":
        return (0, 0, 0, 0)
    if amount == "same":
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    if amount == "full":
        return (th, th, tw, tw)
    raise ValueError(f"padding amount must be one of {', '.join(AMOUNTS)} or an integer (got {amount!r})")


def _source(i: int, n: int, mode: str) -> int | None:
    """Index into a length-n axis that padded position i (relative to the first real one) copies."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: mirror without repeating the edge
    if period == 0:
        return 0
    i = abs(i) % period
    return i if i < n else period - i


def check_pads(h: int, w: int, pads: tuple[int, int, int, int], mode: str) -> str | None:
    """Why torch would refuse this padding (reflect needs pad < size, circular pad <= size), or None."""
    top, bottom, left, right = pads
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        return f"reflect padding must be smaller than the input ({h}x{w}) on each side"
    if mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
        return f"circular padding may be at most the input size ({h}x{w}) on each side"
    return None


def pad(x: Matrix, pads: tuple[int, int, int, int], mode: str = "zeros", value: float = 0.0
        ) -> tuple[Matrix, list[list[bool]]]:
    """The padded matrix as torch's F.pad makes it, and which cells are padding."""
    if mode not in MODES:
        raise ValueError(f"padding mode must be one of {', '.join(MODES)} (got {mode!r})")
    h, w = len(x), len(x[0])
    bad = check_pads(h, w, pads, mode)
    if bad:
        raise ValueError(bad)
    top, bottom, left, right = pads
    out, mask = [], []
    for i in range(-top, h + bottom):
        si = _source(i, h, mode)
        row, mrow = [], []
        for j in range(-left, w + right):
            sj = _source(j, w, mode)
            row.append(value if si is None or sj is None else x[si][sj])
            mrow.append(not (0 <= i < h and 0 <= j < w))
        out.append(row)
        mask.append(mrow)
    return out, mask


def out_size(n: int, k: int, s: int, d: int, before: int, after: int, ceil_mode: bool = False) -> int:
    span = n + before + after - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + before:  # torch: the last window must start inside input or left pad
        out -= 1
    return out


# ----------------------------------------------------------------------------------------- windows
@dataclass(frozen=True)
class Window:
    """One output value: the padded cells it reads (row, col), their values, the kernel taps, products, sum."""

    cells: list[tuple[int, int]]
    values: list[float]
    weights: list[float]
    products: list[float]
    total: float


@dataclass(frozen=True)
class Result:
    padded: Matrix
    padding_mask: list[list[bool]]
    kernel: Matrix  # as applied (flipped for true convolution)
    output: Matrix
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]
    formula: list[str]  # the output size per axis, numbers filled in

    def window(self, i: int, j: int) -> Window:
        kh, kw = len(self.kernel), len(self.kernel[0])
        (sh, sw), (dh, dw) = self.stride, self.dilation
        cells = [(i * sh + a * dh, j * sw + b * dw) for a in range(kh) for b in range(kw)]
        values = [self.padded[r][c] for r, c in cells]
        weights = [self.kernel[a][b] for a in range(kh) for b in range(kw)]
        products = [v * k for v, k in zip(values, weights)]
        return Window(cells, values, weights, products, sum(products))


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def size_formula(n: int, k: int, s: int, d: int, before: int, after: int, axis: str, ceil_mode: bool = False) -> str:
    rnd = "ceil" if ceil_mode else "floor"
    out = out_size(n, k, s, d, before, after, ceil_mode)
    return (f"{axis}_out = {rnd}(({axis} + p_before + p_after - d(k - 1) - 1) / s) + 1 = "
            f"{rnd}(({n} + {before} + {after} - {d}·({k} - 1) - 1) / {s}) + 1 = {out}")


def convolve(x: Matrix, k: Matrix, stride: int | tuple[int, int] = 1, dilation: int | tuple[int, int] = 1,
             padding: str | int | tuple[int, int, int, int] = "valid", mode: str = "zeros",
             flip: bool = False) -> Result:
    """Cross-correlation (what F.conv2d computes), or true convolution with ``flip`` (kernel rotated 180°)."""
    s, d = _pair(stride), _pair(dilation)
    if min(*s, *d) < 1:
        raise ValueError("stride and dilation must be >= 1")
    kk = [row[::-1] for row in k[::-1]] if flip else [row[:] for row in k]
    kh, kw = len(kk), len(kk[0])
    pads = padding if isinstance(padding, tuple) else pads_for(padding, (kh, kw), d)
    padded, mask = pad(x, pads, mode)
    h, w = len(x), len(x[0])
    oh = out_size(h, kh, s[0], d[0], pads[0], pads[1])
    ow = out_size(w, kw, s[1], d[1], pads[2], pads[3])
    if oh < 1 or ow < 1:
        raise ValueError(f"the kernel ({d[0] * (kh - 1) + 1}x{d[1] * (kw - 1) + 1} with dilation) is larger than "
                         f"the padded input ({len(padded)}x{len(padded[0])})")
    res = Result(padded, mask, kk, [], s, d, pads,
                 [size_formula(h, kh, s[0], d[0], pads[0], pads[1], "H"),
                  size_formula(w, kw, s[1], d[1], pads[2], pads[3], "W")])
    res.output.extend([[res.window(i, j).total for j in range(ow)] for i in range(oh)])
    return res


def pool(x: Matrix, kind: str, k: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
         padding: int | tuple[int, int] = 0, n: int = 2, ceil_mode: bool = False) -> tuple[Matrix, list[str]]:
    """Max / average (padding counted as zeros, torch's default) / N-max (the mean of the n largest real
    values, as arch.ops.NMaxPool2d) pooling, and the output-size formulas."""
    if kind not in POOLS:
        raise ValueError(f"pooling must be one of {', '.join(POOLS)} (got {kind!r})")
    (kh, kw), (sh, sw), (ph, pw) = _pair(k), _pair(stride if stride is not None else k), _pair(padding)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding must be at most half the window ({kh}x{kw})")
    h, w = len(x), len(x[0])
    oh, ow = out_size(h, kh, sh, 1, ph, ph, ceil_mode), out_size(w, kw, sw, 1, pw, pw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"the window {kh}x{kw} is larger than the padded input")
    out = []
    for i in range(oh):
        row = []
        for j in range(ow):
            real, cells = [], 0
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh + a - ph, j * sw + b - pw
                    if r >= h + ph or c >= w + pw:  # beyond the padding: the ceil_mode tail, never counted
                        continue
                    cells += 1
                    if 0 <= r < h and 0 <= c < w:
                        real.append(x[r][c])
            if kind == "max":
                row.append(max(real))
            elif kind == "avg":
                row.append(sum(real) / cells)
            else:
                top = sorted(real, reverse=True)[:n]
                row.append(sum(top) / len(top))
        out.append(row)
    return out, [size_formula(h, kh, sh, 1, ph, ph, "H", ceil_mode), size_formula(w, kw, sw, 1, pw, pw, "W", ceil_mode)]
