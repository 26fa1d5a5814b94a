"""Hostile and extreme specs (issue 12, reproducers 1-9): each gets one clear error line on stderr,
exit 1 (2, argparse's usage error, for a malformed command-line value), no traceback, and nothing already saved
is touched. Refusals happen before the costly part (asserted by what is never called, not by timing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arch.limits import MAX_EXPANDED_BLOCKS, MAX_INPUT, MAX_NESTING, expanded_blocks
from arch.spec import parse_spec
from main import main

BASE = {"format": "convsmith/2", "name": "hostile", "input": [1, 28, 28], "num_classes": 10}
HEAD = [{"block": "flatten"}, {"block": "classifier"}]


def nested(depth: int, repeat: int = 1) -> dict:
    unit: dict = {"block": "conv", "out": 8, "kernel": 3, "padding": 1}
    for _ in range(depth):
        unit = {"block": "stage", "repeat": repeat, "unit": unit}
    return unit


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def write(tmp_path: Path, doc: dict | str, name: str = "spec.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", ["validate", "analyze", "build"])
def test_1_json_nested_ten_thousand_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    path = write(tmp_path, '{"a":' * 10_000 + "1" + "}" * 10_000)
    err = run(capsys, [command, path])
    assert "nested too deeply" in err and str(MAX_NESTING) in err


def test_2_stages_nested_350_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {**BASE, "body": [nested(350)] + HEAD})
    err = run(capsys, ["analyze", path])
    assert f"nested more than {MAX_NESTING} deep" in err and err.count("body") == 1
    ok = write(tmp_path, {**BASE, "body": [nested(MAX_NESTING - 1)] + HEAD}, "ok.json")
    assert main(["validate", ok]) == 0  # at the limit it still works


@pytest.mark.parametrize("levels", [3, 4])
def test_3_repeats_multiplied_out_are_refused_before_expansion(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch, levels: int) -> None:
    from arch import expand

    doc = {**BASE, "body": [nested(levels, 64)] + HEAD}
    expected = sum(64 ** k for k in range(levels + 1)) + len(HEAD)  # each stage level and the convs it repeats
    assert expanded_blocks(parse_spec(doc).body) == expected

    def never(*args: object) -> None:
        raise AssertionError("expanded a spec over the size limit")

    monkeypatch.setattr(expand, "_segment", never)
    err = run(capsys, ["analyze", write(tmp_path, doc)])
    assert f"expands to {expected:,} blocks" in err and f"at most {MAX_EXPANDED_BLOCKS:,}" in err


def test_4_lint_fixes_are_validated_per_edited_block() -> None:
    """Linear validation, checked by counting work, not time (the speed is benchmarks/lint_fix_speed.py):
    validating every fix re-expands only the edited block and the one that reads it."""
    from analysis import analyze
    from arch import expand

    def specs(n: int) -> object:
        return parse_spec({**BASE, "body": [{"block": "conv", "out": 4, "kernel": 3, "padding": 1}] * n + HEAD})

    calls = []
    original = expand._segment

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    expand._segment = counted
    try:
        for n in (50, 150):
            calls.clear()
            expand.clear_cache()
            report = analyze(specs(n))
            assert sum(lint.fix is not None for lint in report.lints) == n
            assert len(calls) <= 3 * (n + len(HEAD))  # the network once, then two blocks per fix
    finally:
        expand._segment = original


def test_5_lone_surrogate_is_rejected_with_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for field, doc in (("name", {**BASE, "name": "net\udc80"}),
                       ("body[0] label", {**BASE, "body": [{"block": "conv", "out": 8, "label": "x\ud800"}] + HEAD}),
                       ("description", {**BASE, "description": "\udfff"})):
        doc.setdefault("body", [{"block": "conv", "out": 8}] + HEAD)
        text = json.dumps(doc)  # ensure_ascii: the file holds the "\\udc80" escape, as a hostile file would
        err = run(capsys, ["analyze", write(tmp_path, text)])
        assert "lone surrogate U+D" in err and field.split()[0] in err
    ok = write(tmp_path, {**BASE, "name": "réseau ✓ 網", "body": [{"block": "conv", "out": 8}] + HEAD}, "ok.json")
    for fmt in ("table", "md", "html", "csv", "json"):  # real Unicode renders in every format
        assert main(["analyze", ok, "--format", fmt]) == 0
    capsys.readouterr()


def test_6_width_mult_that_empties_a_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {**BASE, "width_mult": 0.05,
           "body": [{"block": "residual", "kind": "bottleneck", "out": 64, "expansion": 16}] + HEAD}
    path = write(tmp_path, doc)
    for command in ("validate", "analyze", "build"):
        err = run(capsys, [command, path])
        assert "body[0]: expansion: must divide out 8" in err and "width_mult 0.05" in err


def test_7_input_outside_the_documented_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "template:lenet5", "--input", "1x100000x100000"]) == 1  # a user error, before any work
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1  # one line
    assert f"[1, {MAX_INPUT}]" in err and "100000" in err and "--input" in err
    with pytest.raises(SystemExit) as exit_info:  # not CxHxW at all: argparse's usage error
        main(["build", "template:lenet5", "--input", "big"])
    assert exit_info.value.code == 2
    capsys.readouterr()
    assert main(["analyze", "template:lenet5", "--input", f"1x{MAX_INPUT}x28", "--format", "json"]) == 0
    capsys.readouterr()


def test_8_module_with_a_shape_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "import torch\nfrom torch import nn\n\nclass Bad(nn.Module):\n"
                           "    def __init__(self):\n        super().__init__()\n"
                           "        self.conv = nn.Conv2d(3, 8, 3)\n        self.fc = nn.Linear(100, 10)\n\n"
                           "    def forward(self, x):\n        return self.fc(torch.flatten(self.conv(x), 1))\n",
                 "bad.py")
    err = run(capsys, ["analyze", "--module", f"{path}:Bad", "--input", "3x32x32"])
    assert "at node fc (call_module fc; input shapes 1x7200)" in err
    assert "mat1 and mat2 shapes cannot be multiplied (1x7200 and 100x10)" in err


def test_9_empty_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {**BASE, "body": []})
    for command in ("validate", "analyze", "build"):
        err = run(capsys, [command, path])
        assert "body: is empty: the network computes nothing" in err


def test_nothing_saved_is_overwritten_by_a_failed_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    out.write_text("good")
    path = write(tmp_path, {**BASE, "body": [nested(4, 64)] + HEAD})
    run(capsys, ["analyze", path, "-o", str(out)])
    assert out.read_text() == "good"


def test_build_refuses_more_parameters_than_the_limit(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from arch import limits

    monkeypatch.setattr(limits, "MAX_BUILD_PARAMS", 1000)  # lenet5 has 61,706: counted on meta, then refused
    err = run(capsys, ["build", "template:lenet5"])
    assert "building needs 61,706 parameters" in err and "at most 1,000" in err
    assert main(["analyze", "template:lenet5", "--format", "json"]) == 0  # analysis allocates nothing
    capsys.readouterr()
