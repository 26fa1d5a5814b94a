"""Filters, feature maps and the effective receptive field, each checked against an independent
computation (the weights themselves, a direct convolution, the analytic receptive field of analysis)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from analysis import analyze
from arch.builder import build
from tests.test_training_support import tiny_source, tiny_spec
from training.data import load_data
from training.errors import ConfigError
from training.visualize import conv_layers, effective_rf, feature_grid, feature_maps, filter_grid


def _scaled(w: np.ndarray) -> np.ndarray:
    return (w - w.min()) / (w.max() - w.min())


def _tile(img: np.ndarray, r: int, c: int, kh: int, kw: int, pad: int = 1) -> np.ndarray:
    return img[pad + r * (kh + pad): pad + r * (kh + pad) + kh, pad + c * (kw + pad): pad + c * (kw + pad) + kw]


def test_rgb_first_layer_grid_matches_the_weights() -> None:
    torch.manual_seed(0)
    model = build(tiny_spec())
    grid = filter_grid(model)
    w = model.body[0].conv.weight.detach().numpy()  # (8, 3, 3, 3)
    assert grid.layer == "body.0.conv" and grid.rgb and (grid.rows, grid.cols) == (3, 3)
    assert grid.image.shape == (3 * 4 + 1, 3 * 4 + 1, 3) and grid.total == (8, 3) and grid.kernel == (3, 3)
    for i in range(8):
        r, c = divmod(i, 3)
        np.testing.assert_allclose(_tile(grid.image, r, c, 3, 3), _scaled(w[i]).transpose(1, 2, 0), rtol=1e-6)
    assert (_tile(grid.image, 2, 2, 3, 3) == 1.0).all()  # the ninth slot is empty


def test_deeper_layer_grid_has_a_tile_per_filter_and_channel() -> None:
    model = build(tiny_spec())
    grid = filter_grid(model, "body.2.conv")
    w = model.body[2].conv.weight.detach().numpy()  # (16, 8, 3, 3)
    assert not grid.rgb and (grid.rows, grid.cols) == (16, 8) and grid.image.shape == (16 * 4 + 1, 8 * 4 + 1)
    for r, c in ((0, 0), (5, 7), (15, 3)):
        np.testing.assert_allclose(_tile(grid.image, r, c, 3, 3), _scaled(w[r])[c], rtol=1e-6)
    capped = filter_grid(model, "body.2.conv", max_filters=4, max_channels=2)
    assert capped.shown == (4, 2) and capped.total == (16, 8) and capped.image.shape == (4 * 4 + 1, 2 * 4 + 1)


def test_depthwise_and_bad_layers() -> None:
    spec = tiny_spec(body=[{"block": "conv", "out": 6, "kernel": 1}, {"block": "conv", "out": 6, "kernel": 5,
                                                                      "groups": 6},
                           {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}])
    model = build(spec)
    grid = filter_grid(model, "body.1.conv")
    assert not grid.rgb and (grid.rows, grid.cols) == (2, 3) and grid.image.shape == (2 * 6 + 1, 3 * 6 + 1)
    assert conv_layers(model) == ["body.0.conv", "body.1.conv"]
    with pytest.raises(ConfigError, match="not a convolution"):
        filter_grid(model, "body.1.bn")
    with pytest.raises(ConfigError, match="did you mean 'body.1.conv'"):
        filter_grid(model, "body.1.cnv")


def test_feature_maps_equal_a_direct_convolution() -> None:
    model = build(tiny_spec())
    x = torch.randn(3, 16, 16)
    conv = model.body[0].conv
    direct = F.conv2d(x[None], conv.weight, conv.bias, padding=1)[0].detach().numpy()
    np.testing.assert_allclose(feature_maps(model, "body.0.conv", x), direct, rtol=1e-5, atol=1e-6)
    assert model.training  # restored after the eval-mode probe
    grid = feature_grid(feature_maps(model, "body.2.conv", x))
    assert grid.shape == (4 * 9 + 1, 4 * 9 + 1)  # 16 maps of 8x8 in a 4x4 grid


RF_BODY = [{"block": "conv", "out": 8, "kernel": 3}, {"block": "conv", "out": 8, "kernel": 3, "stride": 2},
           {"block": "pool", "mode": "max", "kernel": 2}, {"block": "conv", "out": 8, "kernel": 5},
           {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]


@pytest.mark.parametrize("layer", ["body.0.conv", "body.1.act", "body.3.conv"])
def test_effective_rf_is_centred_inside_the_analytic_field(layer: str) -> None:
    spec = tiny_spec(size=32, body=RF_BODY)
    torch.manual_seed(0)
    model = build(spec)
    data = load_data(tiny_source(n=40, size=32, channels=3))
    x, _ = next(data.batches("val", 8, data.normalizer(data.device)))
    erf = effective_rf(model, layer, x)
    rec = analyze(spec).layer(layer)
    assert erf.out_hw == tuple(rec.out_shape[1:]) and erf.map.shape == (32, 32) and erf.map.max() == 1.0
    top, bottom, left, right = erf.support
    for axis, (lo, hi) in enumerate(((top, bottom), (left, right))):
        centre = rec.rf_offset[axis] + erf.unit[axis] * rec.rf_jump[axis]
        half = (rec.rf_size[axis] - 1) / 2
        # every pixel with a gradient lies inside the analytic field (clipped to the image) and fills it
        assert (lo, hi) == (max(0, int(np.ceil(centre - half))), min(31, int(np.floor(centre + half))))
        assert abs(erf.centroid[axis] - centre) <= max(1.0, rec.rf_jump[axis] / 2)
