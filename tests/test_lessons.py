"""Lessons: each formula's prediction equals what the analysis of the two networks measures (exact where
the formula is exact), the networks are what the lesson says, and the gradient norms come from autograd."""

from __future__ import annotations

import math

import pytest
import torch

from analysis import lessons
from analysis.engine import analyze
from arch.builder import build
from arch.errors import ConvSmithError
from arch.templates import load_template
from training.gradients import gradient_norms


@pytest.mark.parametrize("template, path", [("lenet5", "body[2]"), ("resnet18", "body[0]"), ("cifar_cnn", "body[0]")])
def test_separable_ratio_is_one_over_n_plus_one_over_k2(template: str, path: str) -> None:
    spec = load_template(template)
    lesson = lessons.lesson("separable", spec, path)
    assert math.isclose(lesson.measured, lesson.predicted, rel_tol=1e-12)
    assert [b.block for b in lesson.b.body][0] == "separable"
    assert analyze(lesson.a).block("body[0]").out_shape == analyze(lesson.b).block("body[0]").out_shape


def test_gap_head_and_mlp_params_match_torch() -> None:
    spec = load_template("lenet5")
    gap = lessons.lesson("gap", spec, "body[2]")
    assert math.isclose(gap.measured, gap.predicted, rel_tol=1e-12)
    mlp = lessons.lesson("mlp", spec, "body[2]")
    assert math.isclose(mlp.measured, mlp.predicted, rel_tol=1e-12)
    conv, fc = build(mlp.b).body[0], build(mlp.a).body[1]
    assert sum(p.numel() for p in conv.parameters()) == 5 * 5 * 6 * 16 + 16
    assert sum(p.numel() for p in fc.parameters()) == 6 * 14 * 14 * 16 * 10 * 10 + 1600


def test_inception_naive_vs_reduced() -> None:
    spec = load_template("googlenet")
    lesson = lessons.lesson("inception", spec, "body[6]")
    assert math.isclose(lesson.measured, lesson.predicted, rel_tol=1e-12) and lesson.predicted < 0.5
    ra = analyze(lesson.a)
    assert ra.graph.output.shape == (spec.num_classes,)
    assert "output 672 channels" in lesson.formulas[0]


def test_residual_lesson_uses_shortcut_none_and_gradients_are_autograd() -> None:
    spec = load_template("resnet20")
    lesson = lessons.lesson("residual", spec, "body[1]")
    plain = [n for n in analyze(lesson.a).graph.nodes if n.op == "add"]
    assert plain == [] and [n for n in analyze(lesson.b).graph.nodes if n.op == "add"]
    norms = gradient_norms(lesson.b, batch=2)
    torch.manual_seed(0)
    model = build(lesson.b).train()
    x, y = torch.randn(2, *spec.input), torch.randint(0, spec.num_classes, (2,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    assert norms[0] == ("body.0.conv", pytest.approx(float(model.body[0].conv.weight.grad.norm())))
    assert len(norms) == sum(1 for r in analyze(lesson.b).layers if r.type in ("conv", "linear"))


def test_available_and_errors() -> None:
    spec = load_template("resnet18")
    assert lessons.available(spec, "body[2]") == ["gap", "residual"]
    assert lessons.available(spec, "body[0]") == ["separable", "gap", "mlp"]
    with pytest.raises(ConvSmithError, match="inception block"):
        lessons.lesson("inception", spec, "body[0]")
    with pytest.raises(ConvSmithError, match="unknown lesson"):
        lessons.lesson("dense", spec, "body[0]")
