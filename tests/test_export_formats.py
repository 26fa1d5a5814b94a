"""The export-format table (arch.export.FORMATS) drives the CLI's choices and suffix guessing, the app's
Export menu and its file-dialog filters, and the writers: every entry is offered everywhere and writes a
file that loads back (torch, onnx, the spec loader), whose output equals the built model's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from analysis.report_export import HTML_REPORT
from arch.builder import build
from arch.export import FORMATS, SUFFIXES, export, format_for
from arch.export.example import quiet
from arch.export.pycode import class_name
from arch.spec import load, parse_spec
from main import build_parser
from tests.test_gui_designer import make_window

SPEC = parse_spec({"format": "convsmith/1", "name": "tiny", "input": [1, 8, 8], "num_classes": 3, "body": [
    {"block": "conv", "out": 4, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
    {"block": "classifier"}]})


def outputs_of(fmt: str, path: Path, x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """Load an exported file back with the reader its format is for; its output on ``x`` (None: no model)."""
    if fmt == "json":
        assert load(path) == SPEC
        return None
    if fmt == "py":
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        model = getattr(module, class_name(SPEC.name))().eval()
        model.load_state_dict(weights)
        with torch.no_grad():
            return model(x)
    if fmt == "torchscript":
        with quiet(), torch.no_grad():  # torch announces the deprecation of its own loader
            return torch.jit.load(str(path))(x)
    if fmt == "onnx":
        onnx = pytest.importorskip("onnx")
        ort = pytest.importorskip("onnxruntime")
        onnx.checker.check_model(onnx.load(str(path)))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    raise AssertionError(f"no reader for the new format {fmt!r}: add one here")


def export_choices() -> tuple[str, ...]:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    parser = sub.choices["export"]
    return tuple(next(a for a in parser._actions if a.dest == "format").choices), parser.format_help()


def test_the_cli_offers_every_format_and_knows_its_suffixes() -> None:
    choices, text = export_choices()
    assert choices == tuple(FORMATS)
    for fmt in FORMATS.values():
        assert fmt.summary.split(",")[0] in " ".join(text.split())
        for suffix in fmt.suffixes:
            assert format_for(f"model{suffix.upper()}") == fmt.name and suffix in text
    assert set(SUFFIXES.values()) == set(FORMATS)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_writes_a_file_that_loads(tmp_path: Path, fmt: str) -> None:
    model = build(SPEC).eval()
    weights = model.state_dict()
    path = tmp_path / f"tiny{FORMATS[fmt].suffixes[0]}"
    size = export(SPEC, fmt, path, weights=weights)
    assert size == path.stat().st_size > 0
    x = torch.randn(2, 1, 8, 8)
    got = outputs_of(fmt, path, x, weights)
    if got is not None:
        with torch.no_grad():
            assert torch.allclose(got, model(x), atol=1e-5), fmt


def test_the_app_offers_every_format_with_its_filter(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.open_spec(SPEC)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    export_menu = next(a.menu() for a in menu.actions() if a.text() == "&Export")
    labels = [a.text() for a in export_menu.actions() if a.text() and not a.text().startswith("Diagram")]
    forms = [*FORMATS.values(), HTML_REPORT]
    assert labels == [f.label for f in forms]
    asked: list[tuple[str, str]] = []

    def save_path(parent, title, suggested, filter=""):  # noqa: A002 - Qt's name
        asked.append((Path(suggested).suffix, filter))
        return str(tmp_path / f"out-{len(asked)}{Path(suggested).suffix}")

    window.dialogs.save_path = save_path
    for i, form in enumerate(forms, 1):
        with qtbot.waitSignal(window.workers.finished, timeout=120_000):
            assert window.export(form.name)
        assert asked[-1] == (form.suffixes[0], form.filter)
        assert (tmp_path / f"out-{i}{form.suffixes[0]}").stat().st_size > 0
    assert not window.dialogs.errors
    assert "<html" in (tmp_path / f"out-{len(forms)}.html").read_text().lower()
