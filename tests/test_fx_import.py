"""The torch.fx importer: any nn.Module lands in the same graph IR and gets the same numbers."""

from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import HealthCheck, given, settings
from torch import nn

from analysis import analyze
from arch.builder import build
from arch.errors import ConvSmithError
from arch.fx_import import import_module, unused_parameters
from arch.spec import Spec
from arch.templates import load_template
from main import main
from tests.spec_strategies import valid_specs

torch.set_num_threads(2)


def test_torchvision_resnet18_oracle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--torchvision", "resnet18", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    t, rf = data["totals"], data["receptive_field"]
    assert t["params"] == 11_689_512 and t["trainable_params"] == 11_689_512
    assert f"{t['macs'] / 1e9:.3f}" == "1.814"
    assert rf["size"] == [435, 435] and rf["jump"] == [32, 32] and rf["layer"] == "layer4.1.relu@1"
    assert data["totals"]["unknown_ops"] == []
    names = {layer["name"] for layer in data["layers"]}
    assert {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer1.0.relu@1", "fc"} <= names
    template = analyze(load_template("resnet18"))
    assert (t["params"], t["macs"], t["flops"]) == (template.totals.params, template.totals.macs,
                                                    template.totals.flops)


def test_torchvision_vgg16_features_field() -> None:
    with torch.device("meta"):  # no weights needed for shapes: constructing on meta is instant
        vgg = torchvision.models.vgg16(weights=None)
    rep = analyze(import_module(vgg.features, (3, 224, 224), "vgg16.features"))
    assert rep.receptive_field.size == (212, 212) and rep.receptive_field.jump == (32, 32)
    assert rep.totals.params == sum(p.numel() for p in vgg.features.parameters())
    assert [b.path for b in rep.blocks][:3] == ["0", "1", "2"]


def test_resnet_blocks_follow_the_module_tree() -> None:
    with torch.device("meta"):
        model = torchvision.models.resnet18(weights=None)
    rep = analyze(import_module(model, (3, 64, 64)))
    layer2 = rep.block("layer2")
    assert layer2.family == "Sequential" and layer2.parent is None
    assert rep.block("layer2.0").parent == "layer2" and rep.block("layer2.0").family == "BasicBlock"
    assert layer2.params == sum(p.numel() for p in model.layer2.parameters())
    assert rep.layer("add_2").block == "layer2.0"  # functional add placed by its module stack
    assert [x.code for x in rep.lints if x.block == "layer2.0"] == ["residual-projection"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_importing_a_built_spec_gives_the_spec_numbers(spec: Spec) -> None:
    direct = analyze(spec, batch=2)
    with torch.device("meta"):
        model = build(spec)
    imported = analyze(import_module(model, spec.input), batch=2)
    a, b = direct.totals, imported.totals
    assert (a.params, a.buffers, a.macs, a.flops) == (b.params, b.buffers, b.macs, b.flops)
    assert (a.activation_bytes_train, a.peak_activation_bytes_inference) == \
        (b.activation_bytes_train, b.peak_activation_bytes_inference)
    assert direct.receptive_field.size == imported.receptive_field.size
    assert direct.receptive_field.jump == imported.receptive_field.jump
    fx_layers = {r.name: r for r in imported.layers}
    for r in direct.layers:
        if r.type not in ("add", "mul", "max", "concat"):  # function calls keep their fx names
            twin = fx_layers[r.name]
            assert (twin.type, twin.out_shape, twin.params, twin.macs, twin.rf_size, twin.rf_offset) == \
                (r.type, r.out_shape, r.params, r.macs, r.rf_size, r.rf_offset)
    assert b.unknown_ops == []


class Exotic(nn.Module):
    """A group norm, a layer-scale parameter, a channels-last mean, a shared module, frozen weights and
    one op the IR has no name for (a cumulative sum)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.GroupNorm(2, 8)
        self.gamma = nn.Parameter(torch.ones(8, 1, 1))
        self.act = nn.ReLU()
        self.head = nn.Linear(8, 4)
        self.head.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        y = torch.cumsum(y, dim=1)
        y = self.act(self.norm(y * self.gamma + 1))
        y = y.permute(0, 2, 3, 1).mean((1, 2))
        return self.head(y)


def test_unknown_ops_are_listed_and_make_lower_bounds() -> None:
    model = Exotic()
    graph = import_module(model, (3, 16, 16))
    rep = analyze(graph)
    assert [(r.name, r.type) for r in rep.layers if r.type in ("unknown", "group_norm", "constant", "reduce")] == [
        ("cumsum", "unknown"), ("gamma", "constant"), ("norm", "group_norm"), ("mean", "reduce")]
    assert rep.totals.unknown_ops == graph.unknown_ops == ["cumsum (torch.cumsum)"]
    assert rep.totals.params == sum(p.numel() for p in model.parameters())  # GroupNorm and gamma included
    assert rep.layer("gamma").params == 8 and rep.layer("norm").params == 16 and rep.layer("mul").params == 0
    assert rep.totals.frozen_params == 32 and rep.totals.trainable_params == rep.totals.params - 32
    assert rep.layer("act@1").params == 0 and rep.layer("act@1").type == "act"  # the ReLU called again
    assert rep.totals.macs == 16 * 16 * 8 * 27 + 8 * 4  # the unknown op adds nothing: a lower bound
    assert rep.layer("norm").rf_whole_input  # group statistics mix every position: global from there on
    assert rep.totals.lower_bound and any("lower bounds" in n and "cumsum" in n for n in rep.notes)
    assert unused_parameters(model, graph) == 0
    from analysis import formats, html

    text = formats.table(rep)
    assert f"MACs ≥ {rep.totals.macs:,}" in text and "LOWER BOUNDS (≥): 1 op(s) could not be counted" in text
    assert "cumsum (torch.cumsum)" in text
    data = json.loads(formats.to_json(rep))["totals"]
    assert data["lower_bound"] is True and "macs" in data["lower_bound_figures"]
    assert data["unknown_ops"] == ["cumsum (torch.cumsum)"]
    rows = {row[0]: row for row in csv.reader(io.StringIO(formats.to_csv(rep)))}
    assert rows["cumsum"][-1].startswith("no: unknown op") and rows["conv"][-1] == "yes"
    assert "MACs ≥" in formats.markdown(rep) and "LOWER BOUNDS" in formats.markdown(rep)
    assert "MACs ≥" in html.report(rep) and "LOWER BOUNDS" in html.report(rep)


def test_exact_totals_are_not_marked() -> None:
    rep = analyze(import_module(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (3, 8, 8)))
    from analysis import formats

    assert not rep.totals.lower_bound and "≥" not in formats.table(rep) and "LOWER" not in formats.table(rep)
    assert json.loads(formats.to_json(rep))["totals"]["lower_bound"] is False


def test_parameters_of_modules_never_called_are_reported() -> None:
    with torch.device("meta"):
        model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    graph = import_module(model, (3, 224, 224))
    aux = sum(p.numel() for m in (model.aux1, model.aux2) for p in m.parameters())
    assert unused_parameters(model, graph) == aux
    assert analyze(graph).totals.params == sum(p.numel() for p in model.parameters()) - aux


class Fork(nn.Module):
    """A 3x3 and a 4x4 'same' conv added: same size, centres half a pixel apart."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3, padding=1)
        self.b = nn.Conv2d(1, 1, 4, padding="same")  # pads 1 before, 2 after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(x)


def test_misaligned_paths_are_flagged_and_the_envelope_is_probed() -> None:
    model = nn.Sequential(Fork())
    rep = analyze(import_module(model, (1, 12, 12)))
    add = rep.layer("add")
    assert add.block == "0" and rep.block("0").aligned is False
    assert rep.layer("0.a").rf_offset == (0, 0) and rep.layer("0.b").rf_offset == (0.5, 0.5)
    assert add.rf_size == (4, 4) and add.rf_offset == (0.5, 0.5)  # envelope of [-1, 1] and [-1, 2]
    with torch.no_grad():
        for conv in (model[0].a, model[0].b):
            conv.weight.fill_(1.0)
    x = torch.zeros(1, 1, 12, 12, requires_grad=True)
    model(x)[0, 0, 5, 5].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero().flatten()
    lo = add.rf_offset[0] + 5 - (add.rf_size[0] - 1) / 2
    assert (int(rows.min()), int(rows.max())) == (lo, lo + add.rf_size[0] - 1) == (4, 7)


def _write(tmp_path, body: str) -> str:  # noqa: ANN001
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


NET = """
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
            self.fc = nn.Linear(8 * 13 * 13, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.features(x), 1))

    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()

    class Dynamic(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    class TwoInputs(nn.Module):
        def forward(self, x, y):
            return x + y

    NotAModule = 3
"""


def test_module_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    path = _write(tmp_path, NET)
    assert main(["analyze", "--module", f"{path}:Net", "--input", "1x28x28", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == 8 * 9 + 8 + 8 * 13 * 13 * 10 + 10
    assert [x["name"] for x in data["layers"]] == ["features.0", "features.1", "features.2", "flatten", "fc"]
    assert data["layers"][2]["out_shape"] == [8, 13, 13]
    assert [x["code"] for x in data["lints"]] == ["rf-small"]  # 10 logits are the task's, not a width choice
    assert all(x["fix"] is None for x in data["lints"])  # no spec to edit


@pytest.mark.parametrize("ref, message", [
    ("missing.py:Net", "no such file"),
    ("{path}:Nett", "has no class 'Nett' (did you mean 'Net'?)"),
    ("{path}:NeedsArgs", "NeedsArgs() failed (it must construct without arguments)"),
    ("{path}:NotAModule", "is not a torch.nn.Module class"),
    ("{path}:Dynamic", "torch.fx cannot trace Dynamic"),
    ("{path}:TwoInputs", "forward must take exactly one input tensor"),
    ("{path}", "expects path/to/file.py:ClassName"),
])
def test_module_file_errors(tmp_path, capsys: pytest.CaptureFixture[str], ref: str, message: str) -> None:  # noqa: ANN001
    path = _write(tmp_path, NET)
    assert main(["analyze", "--module", ref.format(path=path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_module_file_that_fails_to_import(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    path = _write(tmp_path, "import torch\nraise RuntimeError('boom')\n")
    assert main(["analyze", "--module", f"{path}:Net"]) == 1
    assert "importing" in capsys.readouterr().err


def test_model_that_fails_on_the_input() -> None:
    with pytest.raises(ConvSmithError, match="fails on a 1x3x8x8 input"):
        import_module(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(99, 2)), (3, 8, 8))


def test_functional_calls_map_to_ir_ops() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu(self.conv(x))
            y = torch.cat([F.max_pool2d(y, 2), F.avg_pool2d(y, 3, 2, 1, ceil_mode=True)[:, :, :4, :4]], 1)
            y = y * torch.sigmoid(y.mean((2, 3), keepdim=True))
            return F.dropout(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1), 0.2, False)

    rep = analyze(import_module(Functional(), (3, 8, 8)))
    types = [(r.name, r.type) for r in rep.layers]
    assert types == [("conv", "conv"), ("relu", "act"), ("max_pool2d", "maxpool"), ("avg_pool2d", "avgpool"),
                     ("getitem", "reshape"), ("cat", "concat"), ("mean", "adaptive_avgpool"), ("sigmoid", "act"),
                     ("mul", "mul"), ("adaptive_avg_pool2d", "adaptive_avgpool"), ("flatten", "flatten"),
                     ("dropout", "dropout")]
    assert rep.layer("avg_pool2d").out_shape == (4, 5, 5)


def test_mean_over_the_map_is_global_pooling_then_flatten() -> None:
    class MeanHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.fc = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.conv(x).mean([2, 3]))

    rep = analyze(import_module(MeanHead(), (3, 10, 10)))
    assert [(r.name, r.type, r.out_shape) for r in rep.layers] == [
        ("conv", "conv", (8, 8, 8)), ("mean", "adaptive_avgpool", (8, 1, 1)), ("mean@flatten", "flatten", (8,)),
        ("fc", "linear", (2,))]
    assert rep.totals.unknown_ops == [] and rep.receptive_field.layer == "conv"
