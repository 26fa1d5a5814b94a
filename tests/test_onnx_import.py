"""``analyze model.onnx``: every template exported to ONNX analyses to the spec's own params, MACs and
receptive field; what the reader cannot map is listed and makes the totals lower bounds."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from analysis import analyze
from arch.builder import build
from arch.onnx_import import import_onnx
from arch.templates import load_template, names
from main import main

pytest.importorskip("onnx")
LRN = {"alexnet_original", "zfnet"}  # torch exports local response norm as ~30 shape and arithmetic ops


def export(name: str, path: Path) -> Path:
    """The template as ONNX, exactly as built (torch's TorchScript exporter, batch norm kept as is)."""
    spec = load_template(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build(spec).eval(), (torch.zeros(1, *spec.input),), str(path), dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, opset_version=18)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", names())
def test_every_template_through_onnx(tmp_path: Path, name: str) -> None:
    spec_report = analyze(load_template(name))
    report = analyze(import_onnx(export(name, tmp_path / f"{name}.onnx")))
    assert report.totals.params == spec_report.totals.params
    assert report.totals.macs == spec_report.totals.macs
    if name in LRN:
        assert report.totals.lower_bound and all("lrn" in op for op in report.totals.unknown_ops)
    else:
        assert report.totals.unknown_ops == [] and not report.totals.lower_bound
        rf, want = report.receptive_field, spec_report.receptive_field
        assert (rf.size, rf.jump, rf.offset) == (want.size, want.jump, want.offset)
        assert [x.rf_size for x in report.layers if x.type == "conv"] == \
            [x.rf_size for x in spec_report.layers if x.type == "conv"]


def test_cli_reads_the_projects_own_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ConvSmith's exporter folds batch norms into the convolutions: MACs and fields stay the spec's."""
    path = tmp_path / "net.onnx"
    assert main(["export", "template:resnet20", "--format", "onnx", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    spec = analyze(load_template("resnet20"))
    assert data["totals"]["macs"] == spec.totals.macs and data["totals"]["lower_bound"] is False
    assert data["receptive_field"]["size"] == list(spec.receptive_field.size)
    assert main(["analyze", str(path), "--input", "3x64x64", "--format", "json"]) == 0  # another input size
    bigger = json.loads(capsys.readouterr().out)
    assert bigger["input_shape"] == [3, 64, 64] and bigger["totals"]["macs"] == analyze(
        load_template("resnet20"), (3, 64, 64)).totals.macs


class Odd(torch.nn.Module):
    """A conv, then an op the reader does not map (a cumulative sum)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(self.conv(x), dim=1)


def odd_onnx(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Odd().eval(), (torch.zeros(1, 3, 8, 8),), str(path), dynamo=False, opset_version=18)
    return path


def test_unsupported_ops_are_listed_as_lower_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = odd_onnx(tmp_path / "odd.onnx")
    report = analyze(import_onnx(path))
    assert report.totals.lower_bound and [op.split()[-1] for op in report.totals.unknown_ops] == ["(onnx:CumSum)"]
    assert report.totals.macs == 4 * 27 * 36 and report.totals.params == 4 * 27 + 4
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "MACs ≥ 3,888" in out and "LOWER BOUNDS" in out and "onnx:CumSum" in out


@pytest.mark.parametrize(("content", "message"), [
    (b"not a model", "not a readable ONNX model"),
    (None, "no such file"),
])
def test_bad_onnx_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None,
                        message: str) -> None:
    path = tmp_path / "bad.onnx"
    if content is not None:
        path.write_bytes(content)
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
