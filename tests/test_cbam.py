"""CBAM: the block computes the paper's attention (checked against a direct formula), counts like torch,
composes inside other blocks (a residual branch, a stage unit) and is searchable."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from analysis.engine import analyze
from arch.builder import build
from arch.export import render
from arch.search_space import parse_space
from arch.spec import FORMAT, dumps, loads, parse_spec

torch.set_num_threads(2)


def _spec(*body: dict, size: int = 12):
    return parse_spec({"format": FORMAT, "name": "c", "input": [3, size, size], "num_classes": 5,
                       "body": [*body, {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]})


def test_cbam_is_the_papers_attention() -> None:
    spec = _spec({"block": "conv", "out": 32, "norm": "none", "activation": "none"}, {"block": "cbam"})
    torch.manual_seed(0)
    model = build(spec).eval()
    x = torch.randn(2, 3, 12, 12)
    f = model.body[0](x)
    gate = model.body[1].channel
    w1, b1, w2, b2 = gate.fc1.weight[:, :, 0, 0], gate.fc1.bias, gate.fc2.weight[:, :, 0, 0], gate.fc2.bias

    def mlp(v: torch.Tensor) -> torch.Tensor:
        return F.linear(F.relu(F.linear(v, w1, b1)), w2, b2)

    mc = torch.sigmoid(mlp(f.mean((2, 3))) + mlp(f.amax((2, 3))))[:, :, None, None]
    f1 = f * mc
    pooled = torch.stack([f1.mean(1), f1.amax(1)], 1)
    ms = torch.sigmoid(F.conv2d(pooled, model.body[1].spatial.conv.weight, padding=3))
    with torch.no_grad():
        assert torch.allclose(model.body[1](f), f1 * ms, atol=1e-6)
    r = analyze(spec)
    c, hidden = 32, 2  # ratio 1/16
    assert r.block("body[1]").params == 2 * c * hidden + hidden + c + 2 * 7 * 7
    assert r.block("body[1]").params == sum(p.numel() for p in model.body[1].parameters())
    assert r.block("body[1]").macs == 4 * c * hidden + 12 * 12 * 2 * 49


def test_cbam_inside_a_residual_branch_and_a_stage_exports_and_runs(tmp_path) -> None:
    spec = _spec({"block": "conv", "out": 16},
                 {"block": "branch", "merge": "add", "paths": [[{"block": "conv", "out": 16}, {"block": "cbam"}], []]},
                 {"block": "stage", "repeat": 2, "unit": {"block": "cbam", "ratio": 0.25, "kernel": 3}})
    """(test_export runs a CBAM exported to .py in a fresh process against the built model.)"""
    torch.manual_seed(0)
    model = build(spec).eval()
    code = render(spec, "py").decode()
    assert "class ChannelGate(nn.Module)" in code and "class SpatialGate(nn.Module)" in code
    with torch.no_grad():
        assert model(torch.randn(1, 3, 12, 12)).shape == (1, 5)
    r = analyze(spec)
    assert r.totals.params == sum(p.numel() for p in model.parameters())
    assert [b.family for b in r.blocks if b.family == "cbam"] == ["cbam"] * 3  # in the branch and both repeats


def test_cbam_is_searchable() -> None:
    spec = _spec({"block": "conv", "out": 16}, {"block": "conv", "out": 16})
    spec.search = {"body[1]": {"blocks": [{"block": "conv", "out": 16},
                                          {"block": "cbam", "search": {"ratio": {"choices": [0.125, 0.25]},
                                                                      "kernel": {"choices": [3, 7]}}}]}}
    space = parse_space(loads(dumps(spec)))
    trial, _ = space.apply(spec, {"body[1].block": "cbam", "body[1].cbam.ratio": 0.25, "body[1].cbam.kernel": 3})
    assert trial.body[1].block == "cbam" and trial.body[1].params == {"ratio": 0.25, "kernel": 3}
    assert analyze(trial).block("body[1]").params == 2 * 16 * 4 + 4 + 16 + 2 * 9


def test_attention_inside_residual_and_mbconv_is_the_hand_composed_branch() -> None:
    """``attention: cbam`` on a residual block computes exactly the branch a user would draw
    (conv, bn, relu, conv, bn, CBAM on one path, the identity on the other, add, relu), and SE / CBAM
    inside both block families count like torch (params, MACs by FlopCounterMode, shapes, FLOPs)."""
    from tests.test_analysis_counts import check

    conv = {"block": "conv", "out": 16}
    block = _spec(conv, {"block": "residual", "out": 16, "attention": "cbam"})
    drawn = _spec(conv, {"block": "branch", "merge": "add", "activation": "relu", "paths": [[
        {"block": "conv", "out": 16}, {"block": "conv", "out": 16, "activation": "none"}, {"block": "cbam"}], []]})
    torch.manual_seed(0)
    a, b = build(block).eval(), build(drawn).eval()
    values = list(a.state_dict().values())
    assert [v.shape for v in values] == [v.shape for v in b.state_dict().values()]
    b.load_state_dict(dict(zip(b.state_dict(), values)))
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert analyze(block).totals.macs == analyze(drawn).totals.macs
    for extra in ({"block": "residual", "out": 32, "stride": 2, "kind": "bottleneck", "expansion": 2,
                   "attention": "se", "attention_ratio": 0.25},
                  {"block": "inverted_residual", "out": 16, "se_ratio": 0.25, "attention": "cbam"},
                  {"block": "inverted_residual", "out": 16, "se_ratio": 0.25}):
        check(_spec(conv, extra))


def test_attention_field_is_searchable_and_defaults_keep_old_meaning() -> None:
    plain = _spec({"block": "residual", "out": 16})
    assert "cbam" not in dumps(plain) and "attention" not in dumps(plain)
    mbconv = build(_spec({"block": "inverted_residual", "out": 16, "se_ratio": 0.25}))
    assert "body.0.se" in dict(mbconv.named_modules())  # se_ratio alone still means squeeze-excitation
    spec = _spec({"block": "conv", "out": 16}, {"block": "residual", "out": 16})
    spec.search = {"body[1].attention": {"choices": ["none", "se", "cbam"]}}
    space = parse_space(loads(dumps(spec)))
    trial, _ = space.apply(spec, {"body[1].attention": "cbam"})
    assert trial.body[1].params["attention"] == "cbam"
    assert analyze(trial).totals.params > analyze(spec).totals.params
