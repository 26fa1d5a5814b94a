"""Lint ``stride-drops-pixels``: flagged exactly when a gradient probe shows input rows / columns that no
output depends on, with a fix that makes every pixel count."""

from __future__ import annotations

import pytest
import torch

from analysis.engine import analyze
from arch.builder import build
from arch.paths import with_value
from arch.spec import FORMAT, parse_spec
from arch.templates import load_template, names

CODE = "stride-drops-pixels"


def _spec(*body: dict, size: int = 224) -> object:
    return parse_spec({"format": FORMAT, "name": "s", "input": [3, size, size], "num_classes": 2,
                       "body": [*body, {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]})


def _unread(spec) -> tuple[int, int]:
    """Trailing input rows and columns whose gradient is zero (no output reads them)."""
    torch.manual_seed(0)
    model = build(spec).eval()
    x = torch.randn(1, *spec.input, requires_grad=True)
    model.body[0](x).sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows = int((g.sum(dim=1) == 0).flip(0).int().cumprod(0).sum())
    cols = int((g.sum(dim=0) == 0).flip(0).int().cumprod(0).sum())
    return rows, cols


def test_alexnet_conv1_without_padding() -> None:
    spec = _spec({"block": "conv", "out": 8, "kernel": 11, "stride": 4, "padding": 0, "norm": "none"})
    lints = [lint for lint in analyze(spec).lints if lint.code == CODE]
    assert len(lints) == 1 and lints[0].block == "body[0]"
    assert "the last 1 row and 1 column of 3x224x224 are never read" in lints[0].message
    assert "213 leaves 1 over stride 4" in lints[0].message
    assert _unread(spec) == (1, 1)  # the gradient probe agrees
    assert lints[0].fix is not None and lints[0].fix.edits == [("body[0].padding", 2)]  # torchvision's padding
    fixed = with_value(spec, *lints[0].fix.edits[0])
    assert not [lint for lint in analyze(fixed).lints if lint.code == CODE]
    assert _unread(fixed) == (0, 0)


@pytest.mark.parametrize("size,kernel,stride,dilation,padding", [
    (31, 3, 2, 1, 0), (32, 3, 2, 1, 0), (30, 5, 3, 2, 1), (17, [3, 4], [2, 3], 1, 0), (40, 2, 4, 1, 0),
])
def test_flagged_exactly_when_the_gradient_probe_finds_unread_pixels(size, kernel, stride, dilation, padding) -> None:
    spec = _spec({"block": "conv", "out": 4, "kernel": kernel, "stride": stride, "dilation": dilation,
                  "padding": padding, "norm": "none"}, size=size)
    rows, cols = _unread(spec)
    lints = [lint for lint in analyze(spec).lints if lint.code == CODE]
    if rows or cols:
        assert len(lints) == 1
        assert f"the last {rows} row" in lints[0].message or not rows
        assert f"{cols} column" in lints[0].message or not cols
    else:
        assert not lints


def test_pool_fix_is_ceil_mode() -> None:
    spec = _spec({"block": "pool", "kernel": 3, "stride": 2}, size=54)
    lint = next(lint for lint in analyze(spec).lints if lint.code == CODE)
    assert lint.fix.edits == [("body[0].ceil_mode", True)]
    fixed = with_value(spec, "body[0].ceil_mode", True)
    assert not [x for x in analyze(fixed).lints if x.code == CODE]


def test_not_flagged_when_another_reader_reads_the_rest() -> None:
    """A ResNet projection shortcut (1x1/2) leaves the last row, but the 3x3/2 beside it reads it."""
    spec = _spec({"block": "residual", "out": 8, "stride": 2}, size=56)
    assert not [lint for lint in analyze(spec).lints if lint.code == CODE]


@pytest.mark.parametrize("name", names())
def test_templates_drop_no_pixels(name: str) -> None:
    assert not [lint for lint in analyze(load_template(name)).lints if lint.code == CODE]
