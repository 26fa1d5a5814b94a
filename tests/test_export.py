"""Exports: the ``py`` file reproduces the built model exactly in a fresh process that imports only
torch; hostile names are never executed; ONNX runs in onnxruntime, TorchScript reloads, JSON is the
normalised spec; a failing export leaves an existing file untouched."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import onnxruntime
import pytest
import torch

from arch.builder import build
from arch.errors import ConvSmithError, SpecError
from arch.export import FORMATS, export, render
from arch.export.example import quiet
from arch.export.pycode import class_name
from arch.export.torchscript import SPEC_FILE
from arch.spec import FORMAT, BlockSpec, dumps, parse_spec
from arch.templates import load_template
from main import build_parser, main
from tests.test_blocks import randomise_bn_stats

torch.set_num_threads(2)

# every primitive op and every family, with odd settings: 1x7 'same' reflect, dilation, groups, circular,
# n-max pooling with padding and ceil_mode, inception, a bottleneck stage with a first override, MBConv
# with hardswish SE, separable, SE, adaptive max pool, 1-d batch norm, dropout, classifier
ZOO = parse_spec({
    "format": FORMAT, "name": "Zoo net-1", "description": 'Every op; "quotes" \\ and all.', "input": [3, 20, 20],
    "num_classes": 5, "body": [
        {"block": "conv", "out": 8, "kernel": [1, 7], "padding": "same", "padding_mode": "reflect", "label": "stem"},
        {"block": "conv", "out": 8, "dilation": 2, "groups": 2, "padding_mode": "circular", "activation": "tanh"},
        {"block": "pool", "mode": "nmax", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "n": 3},
        {"block": "inception", "c1": 4, "c3r": 4, "c3": 8, "c5r": 2, "c5": 4, "pool_proj": 4, "kernel5": 5},
        {"block": "stage", "repeat": 2, "unit": {"block": "residual", "out": 16, "kind": "bottleneck"},
         "first": {"stride": 2}, "label": "stage 1"},
        {"block": "inverted_residual", "out": 16, "expand": 2.0, "se_ratio": 0.25, "activation": "hardswish",
         "se_gate": "hardsigmoid"},
        {"block": "separable", "out": 12, "activation": "gelu"},
        {"block": "cbam", "ratio": 0.25, "kernel": 3},
        {"block": "lrn", "size": 3},
        {"block": "se", "ratio": 0.5, "activation": "silu"},
        {"block": "adaptive_pool", "mode": "max", "size": [2, 1]},
        {"block": "flatten"},
        {"block": "batchnorm"},
        {"block": "linear", "out": 10, "activation": "leaky_relu"},
        {"block": "dropout", "p": 0.3},
        {"block": "classifier", "dropout": 0.1},
    ]})

# Loads exported .py files in a process of its own: only torch may be imported, never convsmith.
HARNESS = r"""
import importlib.util, json, sys
import torch
cases = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))  # the parent's: another thread count may sum in another order
for case in cases:
    spec = importlib.util.spec_from_file_location(case["module"], case["file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, case["cls"])().eval()
    keys = list(model.state_dict())
    model.load_state_dict(torch.load(case["weights"], weights_only=True))
    with torch.no_grad():
        torch.save(model(torch.load(case["x"], weights_only=True)), case["y"])
    repeats = [[type(m).__name__ for m in seq] for seq in model.body if isinstance(seq, torch.nn.Sequential)]
    json.dump({"keys": keys, "repeats": repeats}, open(case["info"], "w"))
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("arch", "analysis", "training", "search", "gui"))
assert not ours, ours
"""


def test_py_export_equals_the_built_model_in_a_fresh_process(tmp_path: Path) -> None:
    specs = {"zoo": ZOO, "resnet20": load_template("resnet20"), "mobilenet_mnist": load_template("mobilenet_mnist")}
    cases, expected, models = [], {}, {}
    for stem, spec in specs.items():
        shape = spec.input
        model = randomise_bn_stats(build(spec, shape))
        x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(4))
        with torch.no_grad():
            expected[stem] = model(x)
        export(spec, "py", tmp_path / f"{stem}.py", shape)
        torch.save(model.state_dict(), tmp_path / f"{stem}.pt")
        torch.save(x, tmp_path / f"{stem}.x.pt")
        models[stem] = model
        cases.append({"module": stem, "file": str(tmp_path / f"{stem}.py"), "cls": class_name(spec.name),
                      "weights": str(tmp_path / f"{stem}.pt"), "x": str(tmp_path / f"{stem}.x.pt"),
                      "y": str(tmp_path / f"{stem}.y.pt"), "info": str(tmp_path / f"{stem}.json")})
    r = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(cases), str(torch.get_num_threads())],
                       cwd=tmp_path, capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": ""}, timeout=240)
    assert r.returncode == 0, r.stderr
    for stem, model in models.items():
        info = json.loads((tmp_path / f"{stem}.json").read_text())
        assert info["keys"] == list(model.state_dict()), stem  # same names, same order
        got = torch.load(tmp_path / f"{stem}.y.pt", weights_only=True)
        assert torch.equal(got, expected[stem]), stem
    # identical stage repeats share one class; the first repeat (stride 2) has its own
    repeats = json.loads((tmp_path / "resnet20.json").read_text())["repeats"]
    assert len(repeats) == 3 and len(set(repeats[0])) == 1 and len(set(repeats[1][1:])) == 1
    assert repeats[1][0] != repeats[1][1]


def test_py_export_reads_well(tmp_path: Path) -> None:
    path = tmp_path / "zoo_net.py"
    export(ZOO, "py", path)
    text = path.read_text()
    tree = ast.parse(text)
    imports = [(type(n).__name__, getattr(n, "module", None), [a.name for a in n.names])
               for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == [("Import", None, ["torch"]), ("Import", None, ["torch.nn.functional"]),
                       ("ImportFrom", "torch", ["nn"])]
    doc = ast.get_docstring(tree)
    params = sum(p.numel() for p in build(ZOO).parameters())
    assert doc.startswith("Zoo net-1: a plain PyTorch model exported by ConvSmith.")
    assert 'Every op; "quotes" \\ and all.' in doc
    assert f"Parameters: {params:,}" in doc and "Input: 3x20x20" in doc and "from zoo_net import ZooNet1" in doc
    assert "class NMaxPool2d(nn.Module):" in text  # copied, not imported
    assert "y = torch.cat([branch1, branch2, branch3, branch4], 1)" in text
    assert "shortcut = self.shortcut.conv(x)" in text and "y = y + shortcut" in text
    assert "se = self.se.gate(se)" in text and "dw = dw * se" in text
    assert "Convolution(),  # body[0] [stem] conv 1x7/1, 8, bn, relu" in text
    assert all(len(line) <= 120 for line in text.splitlines())
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--line-length", "120",
                        "--select", "E,F,W,I,B,UP", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("name, expected", [
    ("ResNet-18", "ResNet18"), ("mobilenet_v2", "MobilenetV2"), ("18 layers", "Net18Layers"), ("", "Net"),
    ("none", "NoneNet"), ("class", "Class"), ("Zoo", "Zoo"), ("日本", "Net"), ("nn", "Nn"),
    ("NMaxPool2d", "NMaxPool2dNet"),
    ("x\"); __import__('os').system('touch pwned') #", "XImportOsSystemTouchPwned"),
])
def test_class_names_are_sanitised(name: str, expected: str) -> None:
    assert class_name(name) == expected
    assert expected.isidentifier() and expected.isascii()


def test_hostile_text_is_never_executed(tmp_path: Path) -> None:
    """A Spec built in code skips validation; the exporter must still keep its text inert."""
    marker = tmp_path / "pwned"
    code = f"__import__('os').system('touch {marker}')"
    hostile = [f'"""\n{code}\n"""', f"'''\n{code}\n'''", f"\\\n{code}", f"x\r{code}", f"\u2028{code}",
               f"\x85{code}", f'\\"""\n{code}\n#']
    runs = []
    for i, text in enumerate(hostile):
        spec = load_template("lenet5")
        spec.name, spec.description = text, text
        spec.body[0] = BlockSpec(spec.body[0].block, spec.body[0].params, label=text)
        spec.body[-1] = BlockSpec("classifier", {}, label=text)
        path = tmp_path / f"hostile{i}.py"
        export(spec, "py", path)
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree).startswith("".join(c for c in text if c.isprintable()))
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "__import__"], text
        runs.append(f"runpy.run_path({str(path)!r})[{class_name(text)!r}]()(torch.zeros(1, 1, 28, 28))")
    r = subprocess.run([sys.executable, "-c", "import runpy, torch\n" + "\n".join(runs)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    # through the file format, the same text is rejected outright
    doc = json.loads(dumps(load_template("lenet5")))
    doc["name"] = hostile[0]
    (tmp_path / "hostile.json").write_text(json.dumps(doc))
    assert main(["export", str(tmp_path / "hostile.json"), "-o", str(tmp_path / "out.py")]) == 1
    assert not (tmp_path / "out.py").exists() and not marker.exists()


def test_onnx_runs_in_onnxruntime(tmp_path: Path) -> None:
    path = tmp_path / "zoo.onnx"
    model = randomise_bn_stats(build(ZOO))
    export(ZOO, "onnx", path, weights=model.state_dict())
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    session = onnxruntime.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    for batch in (1, 3):  # the batch axis is dynamic
        x = torch.randn(batch, 3, 20, 20)
        (got,) = session.run(None, {"input": x.numpy()})
        with torch.no_grad():
            assert torch.allclose(torch.from_numpy(got), model(x), atol=1e-4)


def test_onnx_without_its_packages_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"an older export")
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes 'import onnxscript' fail
    with pytest.raises(ConvSmithError) as e:
        export(ZOO, "onnx", path)
    assert str(e.value) == "ONNX export needs the onnxscript package: pip install 'convsmith[onnx]'"
    assert path.read_bytes() == b"an older export"


def test_torchscript_reloads_with_the_same_outputs(tmp_path: Path) -> None:
    path = tmp_path / "zoo.pt"
    model = randomise_bn_stats(build(ZOO))
    export(ZOO, "torchscript", path, weights=model.state_dict())
    extra = {SPEC_FILE: ""}
    with quiet():  # torch announces the deprecation of its own loader
        loaded = torch.jit.load(str(path), _extra_files=extra)
    assert extra[SPEC_FILE] == dumps(ZOO).encode("utf-8")
    assert list(loaded.state_dict()) == list(model.state_dict())
    x = torch.randn(4, 3, 20, 20)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_json_export_is_the_normalised_spec(tmp_path: Path) -> None:
    export(ZOO, "json", tmp_path / "zoo.json")
    assert (tmp_path / "zoo.json").read_text() == dumps(ZOO)
    other = json.loads(render(load_template("resnet20"), "json", (3, 64, 64)))
    assert other["input"] == [3, 64, 64]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_failing_export_leaves_the_old_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"model.{fmt}"
    path.write_bytes(b"precious")
    with pytest.raises(SpecError, match=r"body\[2\] conv 5x5/1, 16, relu: input 2x2 would become 0x0"):
        export(load_template("lenet5"), fmt, path, (1, 4, 4))
    assert path.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == [path.name]


def test_weights_that_do_not_fit(tmp_path: Path) -> None:
    weights = build(load_template("lenet5")).state_dict()
    with pytest.raises(ConvSmithError, match="the weights do not fit this spec: Error"):
        export(ZOO, "torchscript", tmp_path / "x.pt", weights=weights)
    assert not (tmp_path / "x.pt").exists()


def test_unknown_format() -> None:
    with pytest.raises(ConvSmithError, match="unknown export format 'onxx' \\(did you mean 'onnx'\\?\\)"):
        render(ZOO, "onxx")


def test_cli_export_every_format(tmp_path: Path, capsys) -> None:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    choices = next(a for a in sub.choices["export"]._actions if a.dest == "format").choices
    assert tuple(choices) == tuple(FORMATS)
    for fmt, name in (("py", "lenet.py"), ("json", "lenet.json"), ("torchscript", "lenet.pt"), ("onnx", "lenet.onnx")):
        assert main(["export", "template:lenet5", "-f", fmt, "-o", str(tmp_path / name)]) == 0
        size = (tmp_path / name).stat().st_size
        assert capsys.readouterr().out == f"wrote {tmp_path / name} ({fmt}, {size:,} bytes)\n"
    assert (tmp_path / "lenet.json").read_text() == dumps(load_template("lenet5"))
    assert main(["export", "template:lenet5", "-o", str(tmp_path / "by_suffix.py")]) == 0  # format from suffix
    assert (tmp_path / "by_suffix.py").read_text().startswith('"""LeNet-5: a plain PyTorch model')
    capsys.readouterr()
    assert main(["export", "template:lenet5", "-f", "json"]) == 0  # stdout
    assert capsys.readouterr().out == dumps(load_template("lenet5"))
    assert main(["export", "template:lenet5", "-f", "onnx"]) == 1
    assert "--format onnx writes a binary file: give -o FILE" in capsys.readouterr().err
    assert main(["export", "template:lenet5", "-o", str(tmp_path / "model.bin")]) == 1
    assert "cannot tell the export format from" in capsys.readouterr().err
    assert not (tmp_path / "model.bin").exists()
