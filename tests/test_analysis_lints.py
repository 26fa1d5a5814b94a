"""Lints fire on the designs they describe, name the right block, and their fixes apply and cure them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from analysis import analyze
from analysis.lints import field_path
from arch.expand import build_graph
from arch.paths import with_value
from arch.spec import Spec, parse_spec
from arch.templates import load_template
from tests.spec_strategies import valid_specs


def spec(body: list[dict], input_shape: list[int] | None = None) -> Spec:
    return parse_spec({"format": "convsmith/1", "name": "lint", "input": input_shape or [3, 32, 32],
                       "num_classes": 4, "body": body})


def lints(s: Spec, code: str, **options: object) -> list:
    return [x for x in analyze(s, **options).lints if x.code == code]


def applied(s: Spec, lint) -> Spec:  # noqa: ANN001
    assert lint.fix is not None, lint
    for path, value in lint.fix.edits:
        s = with_value(s, path, value)
    assert build_graph(s).ok
    return s


def test_small_receptive_field_with_a_dilation_fix() -> None:
    s = spec([{"block": "conv", "out": 8}, {"block": "conv", "out": 8}, {"block": "global_pool"}], [3, 16, 16])
    (lint,) = lints(s, "rf-small")
    assert lint.block == "body[1]" and "5x5" in lint.message and "16x16" in lint.message
    fixed = applied(s, lint)
    assert lint.fix.edits[0][0] == "body[1].dilation"
    assert not lints(fixed, "rf-small")
    assert analyze(fixed).receptive_field.size[0] >= 16
    assert lints(spec([{"block": "conv", "out": 8}] * 2), "rf-small")[0].fix is None  # 32x32: dilation 8 is not enough


def test_object_size_sets_the_bar() -> None:
    s = load_template("resnet20")  # field 81 on a 32x32 input
    assert not lints(s, "rf-small")
    (lint,) = lints(s, "rf-small", object_size=(100, 90))
    assert "object size 100x90" in lint.message
    assert lint.fix is None or not lints(applied(s, lint), "rf-small", object_size=(100, 90))


def test_stride_larger_than_kernel() -> None:
    s = spec([{"block": "conv", "out": 8, "kernel": 1, "stride": 2},
              {"block": "pool", "mode": "max", "kernel": 2, "stride": 3}])
    found = lints(s, "stride-gt-kernel")
    assert [x.block for x in found] == ["body[0]", "body[1]"]
    assert found[0].fix.edits == [("body[0].kernel", 2)] and found[1].fix.edits == [("body[1].kernel", 3)]
    for lint in found:
        assert lint.block not in {x.block for x in lints(applied(s, lint), "stride-gt-kernel")}


def test_projection_shortcut_is_not_skipped_pixels() -> None:
    """ResNet's 1x1/2 shortcut skips pixels, but the 3x3/2 path beside it reads them all."""
    assert not lints(load_template("resnet18"), "stride-gt-kernel")
    assert not lints(load_template("resnet50"), "stride-gt-kernel")


def test_early_collapse_to_1x1() -> None:
    s = spec([{"block": "conv", "out": 8, "kernel": 4, "stride": 4}, {"block": "conv", "out": 8, "stride": 8},
              {"block": "conv", "out": 8}, {"block": "conv", "out": 8}], [3, 32, 32])
    (lint,) = lints(s, "early-collapse")
    assert lint.block == "body[1]" and "8x8 -> 1x1" in lint.message and "2 later" in lint.message
    assert lint.fix.edits == [("body[1].stride", 1)]
    assert not lints(applied(s, lint), "early-collapse")


def test_channels_not_multiples_of_8() -> None:
    s = spec([{"block": "conv", "out": 6},
              {"block": "stage", "repeat": 2, "unit": {"block": "conv", "out": 12}, "first": {"out": 10}},
              {"block": "inception", "c1": 5, "c3r": 8, "c3": 8, "c5r": 8, "c5": 8, "pool_proj": 8},
              {"block": "global_pool"}, {"block": "flatten"}, {"block": "linear", "out": 20},
              {"block": "classifier"}])
    found = {x.block: x for x in lints(s, "channels-not-multiple-of-8")}
    assert sorted(found) == ["body[0]", "body[1][0]", "body[1][1]", "body[2]", "body[5]"]  # not the classifier
    assert found["body[0]"].fix.edits == [("body[0].out", 8)]
    assert found["body[1][0]"].fix.edits == [("body[1].first.out", 16)]
    assert found["body[1][1]"].fix.edits == [("body[1].unit.out", 16)]
    assert found["body[2]"].fix.edits == [("body[2].c1", 8)]
    assert found["body[5]"].fix.edits == [("body[5].out", 24)]
    for block, lint in found.items():
        assert block not in {x.block for x in lints(applied(s, lint), "channels-not-multiple-of-8")}
    assert all(x.severity == "info" for x in found.values())


def test_width_multiplier_is_respected_by_channel_fixes() -> None:
    s = spec([{"block": "conv", "out": 20}])
    s.width_mult = 0.75  # 20 -> 15 channels
    (lint,) = lints(s, "channels-not-multiple-of-8")
    fixed = applied(s, lint)
    assert analyze(fixed).layers[0].out_shape[0] % 8 == 0


def test_residual_projection() -> None:
    rep = analyze(load_template("resnet18"))
    found = [x for x in rep.lints if x.code == "residual-projection"]
    assert [x.block for x in found] == ["body[3][0]", "body[4][0]", "body[5][0]"]
    assert all(x.fix is None and x.severity == "info" for x in found)
    assert "64 -> 128 channels, stride 2x2): 8,448 params" in found[0].message  # 1x1 conv + its batch norm
    forced = spec([{"block": "conv", "out": 8}, {"block": "residual", "out": 8, "shortcut": "projection"}])
    (lint,) = lints(forced, "residual-projection")
    assert lint.fix.edits == [("body[1].shortcut", "auto")]
    assert not lints(applied(forced, lint), "residual-projection")


def test_inverted_residual_skip_is_not_a_projection() -> None:
    assert not lints(load_template("mobilenet_v2"), "residual-projection")


def test_bias_before_batch_norm() -> None:
    s = spec([{"block": "conv", "out": 8, "bias": True},
              {"block": "stage", "repeat": 2, "unit": {"block": "conv", "out": 8, "bias": True}},
              {"block": "conv", "out": 8, "bias": True, "norm": "none"}])
    found = lints(s, "bn-after-bias")
    assert [x.block for x in found] == ["body[0]", "body[1][0]", "body[1][1]"]
    assert found[1].fix.edits == [("body[1].unit.bias", False)]
    assert not lints(applied(s, found[1]), "bn-after-bias")[1:]
    first = spec([{"block": "stage", "repeat": 2, "unit": {"block": "conv", "out": 8}, "first": {"bias": True}}])
    (lint,) = lints(first, "bn-after-bias")
    assert lint.block == "body[0][0]" and lint.fix.edits == [("body[0].first.bias", False)]
    assert not lints(applied(first, lint), "bn-after-bias")


def test_field_paths() -> None:
    s = load_template("resnet18")
    assert field_path(s, "body[3][0]", "stride") == ("body[3].first.stride", 2)
    assert field_path(s, "body[3][1]", "stride") == ("body[3].unit.stride", 1)
    assert field_path(s, "body[3][0]", "out") == ("body[3].unit.out", 128)
    assert field_path(s, "body[0]", "kernel") == ("body[0].kernel", 7)
    assert field_path(s, "body[0]", "nonsense") is None and field_path(s, "layer1.0", "out") is None


def test_clean_templates() -> None:
    for name in ("resnet50", "mobilenet_v2", "googlenet", "efficientnet_b0"):
        assert all(x.code == "residual-projection" for x in analyze(load_template(name)).lints), name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_every_offered_fix_applies_and_validates(s: Spec) -> None:
    rep = analyze(s)
    paths = {b.path for b in rep.blocks}
    for lint in rep.lints:
        assert lint.block in paths and lint.message
        if lint.fix is not None:
            applied(s, lint)
