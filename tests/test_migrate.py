"""Spec format migration: every convsmith/1 file keeps its meaning under convsmith/2.

``tests/fixtures/spec_v1`` holds the templates (and the search example) exactly as they were committed in
convsmith/1; the shipped templates were rewritten to convsmith/2 and must analyse identically."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from analysis.engine import analyze
from arch.builder import build
from arch.migrate import CURRENT, upgrade
from arch.spec import FORMAT, dumps, load, loads, parse_block, parse_spec
from arch.templates import load_template
from tests.conftest import ROOT

V1 = ROOT / "tests" / "fixtures" / "spec_v1"
V1_TEMPLATES = sorted(p.stem for p in V1.glob("*.json") if not p.stem.startswith("search_"))


def _layers(report) -> list[tuple]:
    """Every layer's figures in network order; names left out: a rewrite may nest a block in a stage of
    one repeat (EfficientNet-B0, so depth_mult can scale it), which renames modules, not what they compute."""
    return [(r.type, r.in_shape, r.out_shape, r.params, r.macs, r.flops, r.activation_bytes, r.rf_size, r.rf_jump,
             r.rf_offset) for r in report.layers]


def _same_analysis(a, b) -> None:
    ra, rb = analyze(a), analyze(b)
    assert dataclasses.asdict(ra.totals) == dataclasses.asdict(rb.totals)
    assert _layers(ra) == _layers(rb)
    assert (ra.receptive_field.size, ra.receptive_field.jump) == (rb.receptive_field.size, rb.receptive_field.jump)


def test_format_is_current() -> None:
    assert FORMAT == CURRENT == "convsmith/2"


@pytest.mark.parametrize("name", V1_TEMPLATES)
def test_v1_template_keeps_its_analysis(name: str) -> None:
    """The committed v1 file, migrated on load, analyses exactly as the rewritten v2 template."""
    old = load(V1 / f"{name}.json")
    assert json.loads((V1 / f"{name}.json").read_text())["format"] == "convsmith/1"
    new = load_template(name)
    _same_analysis(old, new)


def test_v1_fixtures_cover_every_template_of_v1() -> None:
    assert len(V1_TEMPLATES) == 13  # the templates shipped in convsmith/1


def test_v1_conv_without_bias_gets_bias_false() -> None:
    doc = {"format": "convsmith/1", "name": "t", "input": [1, 28, 28], "num_classes": 10, "body": [
        {"block": "conv", "out": 20, "kernel": 5, "norm": "none"},
        {"block": "stage", "repeat": 2, "unit": {"block": "conv", "out": 20, "norm": "none"}},
        {"block": "conv", "out": 20, "bias": True, "norm": "none"},
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]}
    before = copy.deepcopy(doc)
    up, notes = upgrade(doc)
    assert doc == before  # the caller's document is left alone
    assert up["format"] == "convsmith/2"
    assert up["body"][0]["bias"] is False and up["body"][1]["unit"]["bias"] is False
    assert up["body"][2]["bias"] is True
    assert len(notes) == 2 and notes[0].startswith("convsmith/1 -> convsmith/2: body[0]")
    spec = parse_spec(doc)
    assert spec.body[0].params["bias"] is False
    model = build(spec)
    assert sum(p.numel() for p in model.body[0].parameters()) == 500  # v1 meaning: no bias
    # saved again, it is a v2 file that says so explicitly and loads to the same network
    again = loads(dumps(spec))
    assert again == spec and '"format": "convsmith/2"' in dumps(spec)


def test_v2_conv_learns_a_bias_without_norm_like_nn_conv2d() -> None:
    """Copying nn.Conv2d(1, 20, 5) (no norm) gives its 520 parameters."""
    doc = {"format": FORMAT, "name": "t", "input": [1, 28, 28], "num_classes": 10, "body": [
        {"block": "conv", "out": 20, "kernel": 5, "padding": "valid", "norm": "none", "activation": "none"},
        {"block": "conv", "out": 8, "kernel": 3},  # batch norm follows: no bias, as before
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]}
    spec = parse_spec(doc)
    report = analyze(spec)
    torch_conv = torch.nn.Conv2d(1, 20, 5)
    assert report.layer("body.0.conv").params == sum(p.numel() for p in torch_conv.parameters()) == 520
    assert report.layer("body.1.conv").params == 8 * 20 * 9
    model = build(spec)
    assert model.body[0].conv.bias is not None and model.body[1].conv.bias is None
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert "bias" not in dumps(spec)  # defaults are not written


def test_search_example_alternatives_keep_their_meaning() -> None:
    """The search example's slot alternatives (blocks inside ``search``) are migrated as well."""
    old = load(V1 / "search_mnist_space.json")
    new = load(ROOT / "search" / "examples" / "mnist_space.json")
    _same_analysis(old, new)
    for key, decl in old.search.items():
        for a, b in zip(decl.get("blocks", ()), new.search[key].get("blocks", ())):
            i = int(key[len("body["):-1])
            pa = parse_block({k: v for k, v in a.items() if k != "search"}, key, [])
            pb = parse_block({k: v for k, v in b.items() if k != "search"}, key, [])
            body_a, body_b = list(old.body), list(new.body)
            body_a[i], body_b[i] = pa, pb
            _same_analysis(dataclasses.replace(old, body=body_a), dataclasses.replace(new, body=body_b))


def test_unknown_format_is_not_touched() -> None:
    doc = {"format": "convsmith/9", "body": []}
    assert upgrade(doc) == (doc, [])


def test_cli_validate_reads_v1(tmp_path: Path) -> None:
    from main import main

    assert main(["validate", str(V1 / "lenet5.json")]) == 0
