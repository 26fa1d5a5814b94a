"""Reports and the CLI: the JSON contract, CSV/Markdown/HTML renderings, compare, and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from analysis import analyze, columns, formats, html
from analysis.records import CONVENTION
from arch.errors import ConvSmithError, SpecError
from arch.spec import parse_spec
from arch.templates import load_template
from main import main

HOSTILE = "<b>net & co</b> |pipe|"


def hostile_spec():  # noqa: ANN201
    return parse_spec({"format": "convsmith/1", "name": HOSTILE, "input": [3, 16, 16], "num_classes": 2,
                       "body": [{"block": "conv", "out": 6, "label": "<img onerror=x>|"},
                                {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"}]})


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "template:resnet18", "--format", "json", "--batch", "2", "--dtype", "bfloat16"]) == 0
    data = json.loads(capsys.readouterr().out)
    rep = analyze(load_template("resnet18"), batch=2, dtype="bfloat16")
    t = data["totals"]
    for key in ("params", "trainable_params", "macs", "flops", "activation_bytes_train",
                "peak_activation_bytes_inference"):
        assert isinstance(t[key], int) and t[key] == getattr(rep.totals, key)
    assert data["receptive_field"] == {"layer": "body.5.1.act", "size": [435, 435], "jump": [32, 32],
                                       "offset": [0, 0]}
    assert len(data["layers"]) == len(rep.layers)
    first = data["layers"][0]
    assert first == {"name": "body.0.conv", "block": "body[0]", "type": "conv", "in_shape": [3, 224, 224],
                     "out_shape": [64, 112, 112], "params": 9408, "macs": 2 * 118013952, "flops": 2 * 236027904,
                     "activation_bytes": 2 * 64 * 112 * 112 * 2, "rf_size": [7, 7], "rf_jump": [2, 2],
                     "rf_offset": [0, 0], "rf_whole_input": False, "trainable_params": 9408, "frozen": False}
    assert {"block", "code", "message"} <= set(data["lints"][0])
    assert data["convention"] == CONVENTION and data["batch"] == 2 and data["dtype"] == "bfloat16"


def test_csv_has_one_row_per_layer() -> None:
    rep = analyze(load_template("googlenet"))
    rows = list(csv.reader(io.StringIO(formats.to_csv(rep))))
    keys = tuple(c.key for c in columns.shown(columns.LAYER_COLUMNS, "csv"))
    assert tuple(rows[0]) == keys and len(rows) == len(rep.layers) + 1
    by_name = {r[0]: r for r in rows[1:]}
    concat = rep.layer("body.5.concat")
    assert by_name["body.5.concat"][4] == "256x28x28" and int(by_name["body.5.concat"][6]) == concat.macs == 0
    assert sum(int(r[6]) for r in rows[1:]) == rep.totals.macs


def test_table_and_markdown_state_the_convention() -> None:
    rep = analyze(hostile_spec())
    text = formats.table(rep)
    assert CONVENTION in text and "channels-not-multiple-of-8" in text and "body.0.conv" in text
    md = formats.markdown(rep)
    assert md.startswith("# &lt;b>net & co&lt;/b> \\|pipe\\|")
    assert "| body[0] |" in md and "## Lints" in md
    for line in md.splitlines():
        if line.startswith("| body[0]"):  # the label's pipe is escaped: still 7 cells
            assert len(re.split(r"(?<!\\)\|", line)) == 9


def test_html_is_self_contained_and_escaped(artifacts: Path) -> None:
    rep = analyze(hostile_spec())
    page = html.report(rep)
    assert HOSTILE not in page and "&lt;b&gt;net &amp; co&lt;/b&gt;" in page
    assert "<img" not in page
    for external in ("<script", "src=", "href=", "<link", "@import", "url("):
        assert external not in page
    assert page.count("<svg") == 3 and "Receptive field growth" in page and "MACs per block" in page
    full = html.report(analyze(load_template("googlenet")))
    assert "body.15.concat" in full
    (artifacts / "analysis_googlenet.html").write_text(full)


def test_compare_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], artifacts: Path) -> None:
    out = tmp_path / "cmp.html"
    refs = ["template:resnet20", "template:mobilenet_mnist", "template:cifar_cnn"]
    nowhere = ["--runs", str(tmp_path / "none"), "--studies", str(tmp_path / "none")]
    assert main(["compare", *refs, "--input", "3x32x32", *nowhere, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    page = out.read_text()
    assert "Receptive field and jump vs depth" in page and "MACs per stage, aligned by resolution" in page
    assert "ResNet-20" in page
    (artifacts / "analysis_compare.html").write_text(page)
    assert main(["compare", *refs, "--input", "3x32x32", *nowhere, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["name"] for n in data["networks"]] == ["ResNet-20", "MobileNet-MNIST", "CIFAR-CNN"]
    resnet = analyze(load_template("resnet20"))
    assert data["networks"][0]["totals"]["macs"] == resnet.totals.macs
    stages = data["networks"][0]["stages"]
    assert [s["resolution"] for s in stages] == ["32x32", "16x16", "8x8", "1x1", "flat"]
    assert sum(s["params"] for s in stages) == resnet.totals.params
    assert main(["compare", "template:resnet20", "template:lenet5", *nowhere, "--format", "md"]) == 0
    assert "| parameters | 272,474 | 61,706 |" in capsys.readouterr().out
    assert main(["compare", "template:resnet20", "template:lenet5"]) == 0  # a terminal table
    assert "272,474" in capsys.readouterr().out


def test_output_file_is_written_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sub" / "r.json"
    assert main(["analyze", "template:lenet5", "-o", str(target)]) == 0
    assert json.loads(target.read_text())["totals"]["params"] == 61_706
    good = target.read_text()
    assert main(["analyze", "template:nope", "-o", str(target)]) == 1  # fails before writing anything
    assert "unknown template 'nope'" in capsys.readouterr().err
    assert target.read_text() == good and [p.name for p in target.parent.iterdir()] == ["r.json"]


@pytest.mark.parametrize("argv, code, message", [
    (["analyze"], 2, "one of the arguments"),
    (["analyze", "template:lenet5", "--torchvision", "resnet18"], 2, "not allowed with"),
    (["analyze", "template:lenet5", "--batch", "0"], 2, "positive integer"),
    (["analyze", "template:lenet5", "--object-size", "3x"], 2, "N or HxW"),
    (["analyze", "template:lenet5", "--dtype", "int8"], 2, "invalid choice"),
    (["analyze", "template:lenet5", "--input", "1x4x4"], 1, "would become"),
    (["analyze", "template:lenet5", "-o", "report.txt"], 1, "cannot tell the format"),
    (["analyze", "missing.json"], 1, "no such file"),
    (["compare", "template:lenet5", "torchvision:resnet81"], 1, "did you mean 'resnet18'"),
])
def test_cli_errors(argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    if code == 2:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    else:
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_analyze_rejects_bad_arguments() -> None:
    spec = load_template("lenet5")
    with pytest.raises(ConvSmithError, match="batch must be a positive integer"):
        analyze(spec, batch=0)
    with pytest.raises(ConvSmithError, match="dtype must be one of"):
        analyze(spec, dtype="float64")
    with pytest.raises(ConvSmithError, match="object_size"):
        analyze(spec, object_size=(0, 3))
    with pytest.raises(SpecError, match="would become 0x0"):
        analyze(spec, (1, 2, 2))
    graph = analyze(spec).graph
    with pytest.raises(ConvSmithError, match="traced at input"):
        analyze(graph, (1, 32, 32))
    assert analyze(graph).totals.params == 61_706  # a Graph is analysed as it is


def test_object_size_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "template:resnet20", "--object-size", "100", "--format", "json"]) == 0
    codes = [x["code"] for x in json.loads(capsys.readouterr().out)["lints"]]
    assert "rf-small" in codes
