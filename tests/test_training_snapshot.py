"""The one snapshot of what a model learned (training.snapshot), used by the loop, the app and the CLI:
each part equals the extraction it is made of, and what does not apply is said, never raised."""

from __future__ import annotations

import numpy as np
import torch

from arch.builder import build
from tests.test_training_support import tiny_spec
from training.images import hot
from training.snapshot import snapshot
from training.visualize import conv_layers, effective_rf, feature_grid, feature_maps, filter_grid

BODY = [{"block": "conv", "out": 4, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 6, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
        {"block": "classifier"}]


def model_and_images() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    return build(tiny_spec(body=BODY)).eval(), torch.randn(5, 3, 16, 16)


def test_a_conv_layer_snapshot_equals_its_parts() -> None:
    model, x = model_and_images()
    first, second = conv_layers(model)[:2]
    snap = snapshot(model, second, x, sample=2, erf_images=3, step=7, epoch=1)
    assert (snap.layer, snap.step, snap.epoch, snap.sample, snap.problems) == (second, 7, 1, 2, [])
    assert np.array_equal(snap.first.image, filter_grid(model, first).image)
    assert np.array_equal(snap.filters.image, filter_grid(model, second).image)
    maps = feature_maps(model, second, x[2])
    assert np.array_equal(snap.maps, maps) and snap.channels == 6
    assert np.array_equal(snap.features, feature_grid(maps))
    erf = effective_rf(model, second, x[:3])
    assert snap.erf.images == 3 and np.array_equal(snap.erf.map, erf.map)
    assert np.array_equal(snap.erf_rgb, hot(erf.map))


def test_defaults_and_what_does_not_apply() -> None:
    model, x = model_and_images()
    first = conv_layers(model)[0]
    assert snapshot(model, None, x).layer == first          # None: the first conv layer
    only = snapshot(model, "", x)                             # "": only the first layer's filters
    assert only.first is not None and only.maps is None and only.erf is None and not only.problems
    no_images = snapshot(model, first, None)
    assert no_images.filters is not None and no_images.maps is None and no_images.erf is None
    assert snapshot(model, first, x, erf_images=0).erf is None and snapshot(model, first, x).erf.images == 5
    pool = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.MaxPool2d))
    pooled = snapshot(model, pool, x)
    assert pooled.filters is None and pooled.maps is not None and pooled.erf is not None  # no filters, not an error
    flat = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Flatten))
    flat_snap = snapshot(model, flat, x)
    assert flat_snap.features is None and flat_snap.erf is None and "flat output" in flat_snap.problems[0]
    missing = snapshot(model, "body.9.conv", x)
    assert missing.first is not None and "no layer 'body.9.conv'" in missing.problems[0]
