"""fvcore's FlopCountAnalysis agrees with our MACs on conv and linear layers (fvcore counts one
multiply-add as one flop; it is an independent, jit-trace based count)."""

from __future__ import annotations

import logging
import math
from collections import Counter

import pytest
import torch
from fvcore.nn import FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape
from hypothesis import HealthCheck, given, settings

from analysis import analyze
from arch.builder import build
from arch.spec import Spec
from arch.templates import load_template
from tests.spec_strategies import valid_specs

torch.set_num_threads(2)
logging.getLogger("fvcore").setLevel(logging.ERROR)  # it warns about every op it skips


def _conv_mode(inputs: list, outputs: list) -> Counter:
    """fvcore has no handle for aten::_convolution_mode (a conv with padding='same'): output values times
    the weight's k_h k_w C_in / groups, from the traced shapes."""
    out, weight = get_shape(outputs[0]), get_shape(inputs[1])
    return Counter({"conv": math.prod(out) * math.prod(weight[1:])})


def fvcore_conv_linear(spec: Spec, input_shape: tuple[int, int, int] | None = None) -> int:
    model = build(spec, input_shape).eval()
    x = torch.zeros(1, *(input_shape or spec.input))
    counts = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    counts.set_op_handle("aten::_convolution_mode", _conv_mode)
    by_op = counts.by_operator()
    return by_op.get("conv", 0) + by_op.get("linear", 0) + by_op.get("addmm", 0) + by_op.get("matmul", 0)


def our_conv_linear(spec: Spec, input_shape: tuple[int, int, int] | None = None) -> int:
    rep = analyze(spec, input_shape)
    convs = ("conv", "linear", "channel_gate", "spatial_gate")  # CBAM's gates are convs inside
    assert rep.totals.macs == sum(r.macs for r in rep.layers if r.type in convs)
    return rep.totals.macs


@pytest.mark.parametrize("name, shape", [("lenet5", None), ("resnet20", None), ("cifar_cnn", None),
                                         ("mobilenet_mnist", None), ("googlenet", (3, 64, 64)),
                                         ("efficientnet_b0", (3, 64, 64))])
def test_templates_agree_with_fvcore(name: str, shape: tuple[int, int, int] | None) -> None:
    spec = load_template(name)
    assert fvcore_conv_linear(spec, shape) == our_conv_linear(spec, shape)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_random_specs_agree_with_fvcore(spec: Spec) -> None:
    assert fvcore_conv_linear(spec) == our_conv_linear(spec)
