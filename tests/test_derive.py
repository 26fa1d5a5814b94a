"""Derivations: every number a derivation prints equals the analysis record, for every layer of every
template and of random specs; output sizes and params also against torch."""

from __future__ import annotations

import json
import random

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from analysis import derive
from analysis.engine import analyze
from arch.builder import build
from arch.spec import FORMAT, parse_spec
from arch.templates import load_template, names
from main import main
from tests.spec_strategies import valid_specs


def _all_agree(report) -> int:
    checked = 0
    for layer in report.layers:
        d = derive.derive(report, layer.name)
        assert derive.check(report, d) == []
        recorded = {(s.record, s.index) for s in d.steps if s.record}
        assert ("params", None) in recorded and ("macs", None) in recorded and ("activation_bytes", None) in recorded
        if len(layer.out_shape) == 3:
            assert {("rf_size", 0), ("rf_size", 1), ("rf_jump", 0), ("rf_offset", 1)} <= recorded, layer.name
        if layer.type in ("conv", "maxpool", "avgpool", "nmaxpool"):
            assert {("out_shape", 1), ("out_shape", 2)} <= recorded
        checked += len(recorded)
    return checked


@pytest.mark.parametrize("name", names())
def test_every_derived_number_of_every_template_equals_the_analysis(name: str) -> None:
    assert _all_agree(analyze(load_template(name))) > 0


def _random_doc(rng: random.Random) -> dict:
    """Conv / pool stacks with odd kernels, strides, dilations, paddings, ceil_mode and merges."""
    body = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["conv", "conv", "pool", "separable", "residual", "inception", "se", "cbam", "lrn"])
        if kind == "conv":
            kernel = [rng.randint(1, 5), rng.randint(1, 5)]
            body.append({"block": "conv", "out": rng.choice([4, 6, 8]), "kernel": kernel,
                         "stride": rng.randint(1, 3), "dilation": rng.randint(1, 2),
                         "padding": rng.choice(["auto", "valid", rng.randint(0, 2)]),
                         "norm": rng.choice(["batch", "none"]), "groups": rng.choice([1, 2])})
        elif kind == "pool":
            k = rng.randint(1, 4)
            body.append({"block": "pool", "mode": rng.choice(["max", "avg", "nmax"]), "kernel": k, "n": 1,
                         "stride": rng.randint(1, 3), "padding": rng.randint(0, k // 2),
                         "ceil_mode": rng.random() < 0.5})
        elif kind == "separable":
            body.append({"block": "separable", "out": 8, "kernel": 3, "stride": rng.randint(1, 2)})
        elif kind == "residual":
            body.append({"block": "residual", "out": 8, "stride": rng.randint(1, 2)})
        elif kind == "inception":
            body.append({"block": "inception", "c1": 2, "c3r": 2, "c3": 4, "c5r": 2, "c5": 2, "pool_proj": 2})
        elif kind == "cbam":
            body.append({"block": "cbam", "ratio": 0.5, "kernel": rng.choice([3, 5, 7])})
        elif kind == "lrn":
            body.append({"block": "lrn", "size": rng.randint(1, 5)})
        else:
            body.append({"block": "se", "ratio": 0.5})
    body += [{"block": "adaptive_pool", "size": rng.choice([1, 2, 3])}, {"block": "flatten"},
             {"block": "linear", "out": 6, "bias": rng.random() < 0.5}, {"block": "classifier"}]
    size = rng.randint(9, 40)
    return {"format": FORMAT, "name": "r", "input": [rng.choice([1, 2, 4]), size, rng.randint(9, 40)],
            "num_classes": 3, "body": body}


def test_random_specs_derive_like_the_analysis_and_torch() -> None:
    rng = random.Random(16)
    done = 0
    for _ in range(300):
        try:
            spec = parse_spec(_random_doc(rng))
            report = analyze(spec, batch=rng.choice([1, 3]), dtype=rng.choice(["float32", "float16"]))
        except Exception:  # shapes that do not work: skip, only valid networks are derived
            continue
        _all_agree(report)
        if done < 12:  # output sizes and params once more against a real forward pass
            torch.manual_seed(0)
            model = build(spec).eval()
            seen: dict[str, tuple[int, ...]] = {}
            hooks = [m.register_forward_hook(lambda mod, i, o, n=n, seen=seen: seen.__setitem__(n, tuple(o.shape[1:])))
                     for n, m in model.named_modules() if n]
            with torch.no_grad():
                model(torch.zeros(1, *spec.input))
            for h in hooks:
                h.remove()
            for layer in report.layers:
                if layer.type in ("conv", "maxpool", "avgpool") and layer.name in seen:
                    d = derive.derive(report, layer.name)
                    sizes = [s.value for s in d.steps if s.record == "out_shape"]
                    assert tuple(sizes) == seen[layer.name][1:], layer.name
                    params = next(s.value for s in d.steps if s.record == "params")
                    assert params == sum(p.numel() for p in model.get_submodule(layer.name).parameters())
        done += 1
    assert done >= 60


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_hypothesis_specs_derive_like_the_analysis(spec) -> None:
    try:
        report = analyze(spec)
    except Exception:
        return
    _all_agree(report)


def test_ceil_mode_variant_is_shown_with_torch_rule() -> None:
    """A 3/2 pool on 8 rows: floor gives 3, ceil 4; with padding 1 the last ceil window would start in the
    padding, so torch drops it."""
    spec = parse_spec({"format": FORMAT, "name": "p", "input": [1, 8, 8], "num_classes": 2, "body": [
        {"block": "pool", "kernel": 3, "stride": 2, "ceil_mode": True},
        {"block": "pool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True},
        {"block": "flatten"}, {"block": "classifier"}]})
    report = analyze(spec)
    d = derive.derive(report, "body.0.pool")
    by_name = {s.quantity: s for s in d.steps}
    assert by_name["H_out (ceil_mode)"].value == 4 and by_name["H_out (floor, for comparison)"].value == 3
    x = torch.zeros(1, 1, 8, 8)
    assert torch.nn.functional.max_pool2d(x, 3, 2, ceil_mode=True).shape[-1] == 4
    d2 = derive.derive(report, "body.1.pool")
    step = next(s for s in d2.steps if s.quantity == "H_out (ceil_mode)")
    y = torch.nn.functional.max_pool2d(torch.zeros(1, 1, 4, 4), 2, 2, 1, ceil_mode=True)
    assert step.value == y.shape[-1] == 3 and "starts in the padding" not in step.working
    assert derive.check(report, d2) == []


def test_alexnet_conv1_without_padding_notes_dropped_rows() -> None:
    spec = parse_spec({"format": FORMAT, "name": "a", "input": [3, 224, 224], "num_classes": 2, "body": [
        {"block": "conv", "out": 8, "kernel": 11, "stride": 4, "padding": 0},
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]})
    d = derive.derive(analyze(spec), "body.0.conv")
    assert "H: (213) mod 4 = 1: 1 input rows at the far end are never read" in d.notes


def test_cli_explain_formats(capsys, tmp_path) -> None:
    assert main(["explain", "template:lenet5", "--layer", "body.0.conv"]) == 0
    out = capsys.readouterr().out
    assert "(5·5·1 / 1 + 1) · 6 = 156" in out and "r_in + (k - 1) d j_in" in out
    assert main(["explain", "template:lenet5", "--layer", "body[2]", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["layer"] for d in data["layers"]] == ["body.2.conv", "body.2.act"]
    assert data["layers"][0]["steps"][0]["value"] == 10
    target = tmp_path / "x.md"
    assert main(["explain", "template:resnet18", "--layer", "body.0.conv", "--format", "md", "-o", str(target)]) == 0
    assert target.read_text().startswith("### `body.0.conv`")
    assert main(["explain", "template:lenet5", "--layer", "body.99"]) == 1
    assert "no layer or block 'body.99'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["explain", "template:lenet5", "--format", "pdf"])
    assert e.value.code == 2
