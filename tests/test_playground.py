"""The playground's arithmetic against torch: F.pad, F.conv1d / F.conv2d (and a flipped kernel for true
convolution), max / average / N-max pooling, over random sizes, modes, amounts, strides and dilations."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from analysis import playground as pg
from arch.ops import NMaxPool2d

torch.set_num_threads(1)


def _t(m) -> torch.Tensor:
    return torch.tensor(m, dtype=torch.float64)


def _case(rng: random.Random):
    h, w = rng.randint(1, 9), rng.randint(1, 9)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    return h, w, kh, kw, rng.randint(1, 3), rng.randint(1, 3), rng.choice(pg.MODES), rng.choice(pg.AMOUNTS)


def test_conv2d_equals_torch_over_random_cases() -> None:
    rng = random.Random(0)
    checked = 0
    for _ in range(600):
        h, w, kh, kw, s, d, mode, amount = _case(rng)
        x = pg.random_matrix(h, w, seed=rng.randint(0, 10**6), integers=False)
        k = pg.random_matrix(kh, kw, seed=rng.randint(0, 10**6), integers=False)
        pads = pg.pads_for(amount, (kh, kw), (d, d))
        if pg.check_pads(h, w, pads, mode) or pg.out_size(h, kh, s, d, *pads[:2]) < 1 \
                or pg.out_size(w, kw, s, d, *pads[2:]) < 1:
            with pytest.raises(ValueError):
                pg.convolve(x, k, s, d, amount, mode)
            continue
        flip = rng.random() < 0.3
        res = pg.convolve(x, k, s, d, amount, mode, flip=flip)
        top, bottom, left, right = pads
        padded = F.pad(_t(x)[None, None], (left, right, top, bottom), mode="constant" if mode == "zeros" else mode)
        assert torch.allclose(_t(res.padded), padded[0, 0])
        weight = _t(k).flip(0, 1) if flip else _t(k)
        ref = F.conv2d(padded, weight[None, None], stride=s, dilation=d)[0, 0]
        assert torch.allclose(_t(res.output), ref, atol=1e-9), (h, w, kh, kw, s, d, mode, amount)
        mask = _t(res.padding_mask)
        assert int(mask.sum()) == padded.numel() - h * w
        i, j = rng.randrange(len(res.output)), rng.randrange(len(res.output[0]))
        win = res.window(i, j)
        assert win.total == pytest.approx(res.output[i][j]) and len(win.products) == kh * kw
        checked += 1
    assert checked > 300


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_same_padding_matches_torch_padding_same() -> None:
    rng = random.Random(1)
    for _ in range(100):
        h, w, kh, kw = rng.randint(3, 9), rng.randint(3, 9), rng.randint(1, 4), rng.randint(1, 4)
        d = rng.randint(1, 2)
        x, k = pg.random_matrix(h, w, seed=rng.randint(0, 999)), pg.random_matrix(kh, kw, seed=rng.randint(0, 999))
        res = pg.convolve(x, k, 1, d, "same")
        ref = F.conv2d(_t(x)[None, None], _t(k)[None, None], padding="same", dilation=d)[0, 0]
        assert torch.allclose(_t(res.output), ref)


def test_conv1d_equals_torch() -> None:
    rng = random.Random(2)
    checked = 0
    for _ in range(300):
        n, k_len, s, d = rng.randint(1, 16), rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 3)
        mode, amount = rng.choice(pg.MODES), rng.choice(pg.AMOUNTS)
        x = pg.random_matrix(1, n, seed=rng.randint(0, 999), integers=False)
        k = pg.random_matrix(1, k_len, seed=rng.randint(0, 999), integers=False)
        pads = pg.pads_for(amount, (1, k_len), (1, d))
        try:
            res = pg.convolve(x, k, (1, s), (1, d), amount, mode)
        except ValueError:
            continue
        padded = F.pad(_t(x[0])[None, None], pads[2:], mode="constant" if mode == "zeros" else mode)
        ref = F.conv1d(padded, _t(k[0])[None, None], stride=s, dilation=d)[0, 0]
        assert torch.allclose(_t(res.output[0]), ref)
        checked += 1
    assert checked > 150


def test_named_kernels() -> None:
    assert pg.kernel("sobel_x") == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert sum(map(sum, pg.kernel("gaussian", 5))) == pytest.approx(1)
    assert pg.kernel("identity", 3)[1][1] == 1 and sum(map(sum, pg.kernel("identity", 3))) == 1
    img = pg.random_matrix(6, 6, seed=3)
    assert pg.convolve(img, pg.kernel("identity"), padding="same").output == img
    assert pg.kernel("derivative", one_d=True) == [[-1.0, 0.0, 1.0]]
    # Sobel x as cross-correlation vs true convolution: the sign flips
    ramp = [[float(c) for c in range(5)] for _ in range(5)]
    assert pg.convolve(ramp, pg.kernel("sobel_x")).output[0][0] == 8
    assert pg.convolve(ramp, pg.kernel("sobel_x"), flip=True).output[0][0] == -8
    with pytest.raises(ValueError, match="unknown kernel"):
        pg.kernel("blur")


def test_pools_equal_torch() -> None:
    rng = random.Random(4)
    checked = 0
    for _ in range(400):
        h, w, k = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 4)
        s, p, ceil = rng.randint(1, 3), rng.randint(0, k // 2), rng.random() < 0.5
        kind, n = rng.choice(pg.POOLS), rng.randint(1, k * k)
        x = pg.random_matrix(h, w, seed=rng.randint(0, 999), integers=False)
        try:
            out, formula = pg.pool(x, kind, k, s, p, n, ceil)
        except ValueError:
            continue
        t = _t(x)[None, None]
        if kind == "max":
            ref = F.max_pool2d(t, k, s, p, ceil_mode=ceil)
        elif kind == "avg":
            ref = F.avg_pool2d(t, k, s, p, ceil_mode=ceil)
        else:
            ref = NMaxPool2d(k, s, p, ceil, n)(t)
        assert torch.allclose(_t(out), ref[0, 0]), (h, w, k, s, p, ceil, kind, n)
        assert formula[0].endswith(f"= {ref.shape[-2]}")
        checked += 1
    assert checked > 200


def test_pad_modes_and_mask() -> None:
    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    padded, mask = pg.pad(x, (1, 1, 2, 2), "reflect")
    assert padded[0] == [6.0, 5.0, 4.0, 5.0, 6.0, 5.0, 4.0]
    assert mask[1] == [True, True, False, False, False, True, True]
    with pytest.raises(ValueError, match="reflect padding must be smaller"):
        pg.pad(x, (2, 2, 0, 0), "reflect")
    assert pg.parse_matrix("1 2; 3,4") == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="rows differ"):
        pg.parse_matrix("1 2\n3")
