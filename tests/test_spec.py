"""The spec file format: byte-stable round trips, every problem reported at once with its path,
bad files of every kind, and saves that never damage a good file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings

from arch import io
from arch.errors import SpecError
from arch.expand import build_graph
from arch.registry import families
from arch.spec import FORMAT, BlockSpec, dumps, load, loads, parse_spec, save, to_dict
from arch.templates import load_template, names, template_text
from main import main
from tests.conftest import ROOT
from tests.spec_strategies import valid_specs


def _doc(*body: dict, **top) -> dict:
    return {"format": FORMAT, "name": "t", "input": [3, 16, 16], "num_classes": 4, "body": list(body), **top}


def _problems(doc: dict) -> list[str]:
    with pytest.raises(SpecError) as e:
        parse_spec(doc)
    return [str(p) for p in e.value.problems]


# ------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", names())
def test_template_round_trip_is_byte_identical(name: str, tmp_path: Path) -> None:
    spec = load_template(name)
    assert dumps(spec) == template_text(name)
    save(spec, tmp_path / "t.json")
    again = load(tmp_path / "t.json")
    assert again == spec
    assert (tmp_path / "t.json").read_text(encoding="utf-8") == template_text(name)


@settings(max_examples=60, deadline=None)
@given(valid_specs())
def test_random_spec_round_trip(spec) -> None:
    text = dumps(spec)
    again = loads(text)
    assert again == spec
    assert dumps(again) == text
    assert json.loads(text) == to_dict(spec)


# ------------------------------------------------------------------------------------- validation
def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = _problems(_doc(
        {"block": "conv", "kernel": 0, "out": "64"},
        {"block": "convv"},
        {"block": "pool", "mode": "maxx", "strides": 2},
        {"block": "stage", "unit": {"block": "residual", "kind": "basic"}, "first": {"strid": 2}},
        {"block": "inverted_residual", "kernel": 4},
        num_classes=0,
    ))
    assert problems == [
        "num_classes: must be in [1, 1000000] (got 0)",
        "body[0].kernel: must be >= 1 (got 0)",
        "body[0].out: must be an integer (got '64')",
        "body[1]: unknown block 'convv' (did you mean 'conv'?)",
        "body[2].mode: must be one of 'max', 'avg', 'nmax' (got 'maxx') (did you mean 'max'?)",
        "body[2].strides: unknown field of pool (did you mean 'stride'?)",
        "body[3].first.strid: not a field of residual (did you mean 'stride'?)",
        "body[4].kernel: must be one of 3, 5, 7 (got 4)",
    ]


@pytest.mark.parametrize("doc, expected", [
    ({"name": "t", "input": [3, 8, 8], "num_classes": 2, "body": []}, "format: missing (expected 'convsmith/2')"),
    (_doc(format="convsmith/3"), "format: unsupported 'convsmith/3' (this version reads 'convsmith/1', 'convsmith/2')"),
    (_doc(format=1), "format: unsupported 1 (this version reads 'convsmith/1', 'convsmith/2')"),
    ({"format": FORMAT, "input": [3, 8, 8], "num_classes": 2, "body": []}, "name: missing"),
    (_doc(input=[3, 8]), "input: must be [channels, height, width] (got [3, 8])"),
    (_doc(input=[3, 0, 8]), "input[1]: must be in [1, 16384] (got 0)"),
    (_doc(input=[3, 8.5, 8]), "input[1]: must be an integer (got 8.5)"),
    (_doc(body={"block": "conv"}), "body: must be a list of blocks (got {'block': 'conv'})"),
    (_doc(layers=[]), "layers: unknown top-level key"),
    (_doc(nmae="x"), "nmae: unknown top-level key (did you mean 'name'?)"),
    (_doc(width_mult="wide"), "width_mult: must be a number (got 'wide')"),
    (_doc(3), "body[0]: must be an object with a 'block' key (got 3)"),
    (_doc({"out": 3}), f"body[0]: missing 'block' (one of {', '.join(f.name for f in families())})"),
    (_doc({"block": "conv", "bias": 1}), "body[0].bias: must be true or false (got 1)"),
    (_doc({"block": "conv", "kernel": [1, 7, 7]}), "body[0].kernel: must be an integer or a pair [h, w] "
                                                   "(got [1, 7, 7])"),
    (_doc({"block": "conv", "padding": "sam"}), "body[0].padding: must be an integer, a pair [h, w], 'auto', "
                                                "'same' or 'valid' (got 'sam') (did you mean 'same'?)"),
    (_doc({"block": "conv", "padding": -1}), "body[0].padding: must be >= 0 (got -1)"),
    (_doc({"block": "conv", "padding": "same", "stride": 2}), "body[0].padding: 'same' needs stride 1 (got stride 2)"),
    (_doc({"block": "conv", "out": 10, "groups": 4}), "body[0].groups: must divide out 10 (got 4)"),
    (_doc({"block": "dropout", "p": float("nan")}), "body[0].p: must be a finite number (got nan)"),
    (_doc({"block": "pool", "kernel": 2, "padding": 2}),
     "body[0].padding: must be at most half the kernel 2x2 (got 2x2)"),
    (_doc({"block": "inception", "kernel5": 4}), "body[0].kernel5: must be odd to keep the size (got 4)"),
    (_doc({"block": "stage"}), "body[0].unit: missing (the block to repeat)"),
    (_doc({"block": "stage", "unit": {"block": "conv", "out": 0}}), "body[0].unit.out: must be >= 1 (got 0)"),
])
def test_single_problem_messages(doc: dict, expected: str) -> None:
    assert _problems(doc) == [expected]


@pytest.mark.parametrize("hostile", ["x\"); __import__('os').system('touch pwned') #", "a\nb", "back\\slash",
                                     "tick`", "it's", "\x00"])
def test_hostile_names_and_labels_are_rejected(hostile: str) -> None:
    assert _problems(_doc(name=hostile)) == ["name: the name may not contain quotes, backslashes, backticks or "
                                             "control characters"]
    assert _problems(_doc({"block": "flatten", "label": hostile})) == [
        "body[0].label: a label may not contain quotes, backslashes, backticks or control characters"]


def test_description_is_prose_but_one_line() -> None:
    assert parse_spec(_doc(description='He said "x = 1" \\ ok')).description == 'He said "x = 1" \\ ok'
    assert _problems(_doc(description="two\nlines")) == [
        "description: the description may not contain control characters (newlines, tabs)"]


def test_shape_problem_names_the_block_and_the_shapes() -> None:
    spec = parse_spec(_doc({"block": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": 0},
                           {"block": "pool", "kernel": 2}, {"block": "pool", "kernel": 2},
                           {"block": "pool", "kernel": 2}, input=[3, 16, 16]))
    graph = build_graph(spec)
    assert [str(p) for p in graph.problems] == ["body[3] max pool 2x2/2: input 1x1 would become 0x0"]
    assert [b.path for b in graph.blocks] == ["body[0]", "body[1]", "body[2]", "body[3]"]
    flat = parse_spec(_doc({"block": "flatten"}, {"block": "conv"}))
    assert [str(p) for p in build_graph(flat).problems] == [
        "body[1] conv 3x3/1, 64, bn, relu: a convolution needs a CxHxW input but gets a flat vector of 768 "
        "(move it before flatten)"]
    groups = parse_spec(_doc({"block": "conv", "out": 6, "groups": 2}))
    assert [str(p) for p in build_graph(groups).problems] == [
        "body[0] conv 3x3/1 g2, 6, bn, relu: groups 2 must divide the input channels 3"]


def test_problems_at_a_block() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(_doc({"block": "conv", "kernel": 0}, {"block": "stage", "unit": {"block": "conv", "out": 0}}))
    assert [p.path for p in e.value.at("body[1]")] == ["body[1].unit.out"]
    assert [p.path for p in e.value.at("body[0]")] == ["body[0].kernel"]
    assert "2 problems:" in str(e.value)


# ------------------------------------------------------------------------------------- bad files
def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": "convsmith/1",\n  "name": oops\n}\n')
    with pytest.raises(SpecError) as e:
        load(bad)
    assert str(e.value) == f"{bad}: invalid JSON at line 3, column 11: Expecting value"


def test_duplicate_keys_are_an_error() -> None:
    with pytest.raises(SpecError, match="duplicate key 'name'"):
        loads('{"format": "convsmith/1", "name": "a", "name": "b"}')


def test_not_an_object() -> None:
    with pytest.raises(SpecError, match="a spec must be a JSON object"):
        loads("[1, 2]")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b'{"name": "\xff\xfe"}'), "not UTF-8 text (byte 10)"),
    (lambda p: p.mkdir(), "is a folder, not a spec file"),
    (lambda p: None, "no such file"),
    (lambda p: (p.write_bytes(b""), os.truncate(p, 11 * 1024 * 1024)), "file is 11534336 bytes; a spec is at most"),
])
def test_bad_files(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "spec.json"
    make(path)
    with pytest.raises(SpecError) as e:
        load(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_save_of_an_invalid_spec_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    good = load_template("lenet5")
    save(good, path)
    before = path.read_bytes()
    broken = load_template("lenet5")
    broken.body[0] = BlockSpec("conv", {"out": 0})
    with pytest.raises(SpecError, match=r"body\[0\]\.out: must be >= 1"):
        save(broken, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.json"]  # no temporary file left behind


def test_a_write_that_fails_midway_leaves_the_old_file_intact(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "net.json"
    path.write_text("precious")

    def crash(*args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        io.write_text(path, "new content")
    assert path.read_text() == "precious"
    assert os.listdir(tmp_path) == ["net.json"]


# ------------------------------------------------------------------------------------------- CLI
def test_cli_validate_lists_every_problem(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc({"block": "conv", "kernel": 0}, {"block": "poool"}, {"block": "linear"})))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"convsmith validate: error: {path}: 2 problems:",
        "  body[0].kernel: must be >= 1 (got 0)",
        "  body[1]: unknown block 'poool' (did you mean 'pool'?)",
    ]


def test_cli_validate_reports_shape_problems_and_accepts_good_specs(tmp_path: Path, capsys) -> None:
    assert main(["validate", "template:lenet5", "--input", "1x4x4"]) == 1
    assert capsys.readouterr().err == ("convsmith validate: error: template:lenet5: body[2] conv 5x5/1, 16, relu: "
                                       "input 2x2 would become 0x0\n")
    assert main(["validate", "template:resnet20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "name": "ResNet-20", "output": [10]}
    assert main(["validate", "template:nope"]) == 1
    assert "unknown template 'nope'" in capsys.readouterr().err


def test_spec_format_doc_is_up_to_date() -> None:
    """docs/spec-format.md is generated from the registry: regenerate with python -m arch.docs."""
    from arch.docs import render

    text = (ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8")
    assert text == render(), "run: python -m arch.docs > docs/spec-format.md"
    for fam in families():
        assert f"### `{fam.name}` - {fam.title}" in text
