"""Torch model -> spec: the spec builds the same parameter count and, with the source's weights copied
in, the same logits (max abs diff <= 1e-5); what cannot be expressed is named with its reason.

Every torchvision CNN classifier of the issue's list is imported on meta tensors (parameter count, and every
weighted module mapped onto a built module of the same shapes); real logits are compared on a representative
subset at small inputs, more families in the slow suite. shufflenet_v2's channel shuffle is the expected,
named failure.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from arch.builder import build
from arch.spec import load
from arch.spec_import import TORCHVISION_ARGS, spec_from_module, transfer_weights
from main import main
from tests.test_blocks import randomise_bn_stats

torch.set_num_threads(2)

FAMILIES = re.compile(r"^(resnet\d+|resnext\w+|wide_resnet\w+|vgg\d+(_bn)?|alexnet|densenet\d+|googlenet|inception_v3|"
                      r"squeezenet\w+|mobilenet_v2|mobilenet_v3_\w+|mnasnet\w+|efficientnet_b\d|regnet_\w+|"
                      r"shufflenet_v2_\w+)$")
ALL = [m for m in torchvision.models.list_models(module=torchvision.models) if FAMILIES.match(m)]
NOT_EXPRESSIBLE = {m for m in ALL if m.startswith("shufflenet_v2")}  # channel shuffle: view / transpose / chunk
FAST = ["resnet18", "squeezenet1_1", "mobilenet_v3_small", "mnasnet0_5", "regnet_y_400mf"]


def roundtrip(name: str) -> float:
    """Import torchvision ``name`` (random weights, randomised BN statistics) and return the max abs logit
    difference of the built spec with the weights copied in; parameter counts must agree."""
    torch.manual_seed(0)
    source = randomise_bn_stats(torchvision.models.get_model(name, weights=None, **TORCHVISION_ARGS.get(name, {})))
    source.eval()
    side = 96 if name == "inception_v3" else 64
    result = spec_from_module(source, (3, side, side), name)
    assert result.spec is not None, result.problems
    model = build(result.spec).eval()
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in source.parameters())
    transfer_weights(source, model, result.mapping)
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return (model(x) - source(x)).abs().max().item()


@pytest.mark.parametrize("name", FAST)
def test_representative_models_round_trip(name: str) -> None:
    assert roundtrip(name) <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("name", ["densenet121", "googlenet", "inception_v3", "efficientnet_b0", "resnext50_32x4d",
                                  "wide_resnet50_2", "squeezenet1_0", "mobilenet_v2", "regnet_x_400mf", "vgg11_bn"])
def test_more_families_round_trip_with_real_logits(name: str) -> None:
    assert roundtrip(name) <= 1e-5


@pytest.mark.parametrize("name", [m for m in ALL if m not in NOT_EXPRESSIBLE])
def test_every_listed_torchvision_cnn_imports_exactly(name: str) -> None:
    """On meta tensors (no memory, no arithmetic): the spec builds the same parameter count, and every source
    module with weights maps onto a built module with the same parameter and buffer shapes."""
    from arch.fx_trace import meta_init

    with meta_init():
        source = torchvision.models.get_model(name, weights=None, **TORCHVISION_ARGS.get(name, {}))
    side = 96 if name == "inception_v3" else 64
    result = spec_from_module(source, (3, side, side), name)
    assert result.spec is not None, result.problems
    with torch.device("meta"):
        model = build(result.spec)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in source.parameters())
    weighted = {n for n, m in source.named_modules() if any(True for _ in m.parameters(recurse=False))}
    assert set(result.mapping) == weighted
    for src, dst in result.mapping.items():
        theirs, ours = source.get_submodule(src).state_dict(), model.get_submodule(dst).state_dict()
        assert {k: v.shape for k, v in theirs.items()} == {k: v.shape for k, v in ours.items()}, (src, dst)


def test_the_issue_list_is_complete() -> None:
    assert len(ALL) == 61 and len(NOT_EXPRESSIBLE) == 4


def test_channel_shuffle_is_named_not_dropped() -> None:
    result = spec_from_module(torchvision.models.shufflenet_v2_x0_5(), (3, 64, 64))
    assert result.spec is None
    assert any(p.startswith("view: reshape op") for p in result.problems)
    assert any(p.startswith("transpose: reshape op") for p in result.problems)


def test_densenet_concatenations_become_nested_branches() -> None:
    result = spec_from_module(torchvision.models.densenet121(), (3, 64, 64))
    assert result.spec is not None
    layer = result.spec.body[2]
    assert layer.block == "branch" and layer.params["merge"] == "concat" and layer.params["paths"][0] == []
    assert any("nested as cat(cat(x, y1), y2)" in n for n in result.notes)


class _Shared(nn.Module):
    """Inexpressible parts: one conv called twice, a LeakyReLU with its own slope, an unused head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)
        self.unused = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(self.conv(x))).mean((2, 3))


def test_inexpressible_modules_are_named_with_the_reason() -> None:
    result = spec_from_module(_Shared(), (3, 8, 8))
    assert result.spec is None
    text = "\n".join(result.problems)
    assert "conv@1: a module with weights called more than once" in text
    assert "act: LeakyReLU slope 0.2" in text
    assert "unused: Linear with 20 parameters is never called" in text


USER_FILE = '''
import torch
from torch import nn


class Net(nn.Module):
    """Two paths (a residual and an SE gate), a max merge and a classifier."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)  # every instance has the same weights
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.a = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 8, 1)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.Sigmoid())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 14 * 14, 10))

    def forward(self, x):
        x = self.stem(x)
        y = torch.relu(self.a(x) + x)
        y = y * self.gate(y)
        y = nn.functional.max_pool2d(y + self.b(y), 2)
        return self.head(y)


class Bad(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv(x).permute(0, 2, 3, 1)
'''


def test_cli_imports_a_user_module_with_its_weights(tmp_path: Path, capsys) -> None:
    path = tmp_path / "user_net.py"
    path.write_text(textwrap.dedent(USER_FILE))
    out, weights = tmp_path / "net.json", tmp_path / "net.pt"
    assert main(["import", "--module", f"{path}:Net", "--input", "1x28x28", "-o", str(out),
                 "--weights", str(weights)]) == 0
    assert "Net: " in capsys.readouterr().out
    spec = load(out)
    model = build(spec).eval()
    model.load_state_dict(torch.load(weights, weights_only=True))
    from arch.fx_import import user_module

    source = user_module(f"{path}:Net").eval()  # another instance: the same weights, seeded
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in source.parameters())
    assert [b.block for b in spec.body].count("branch") >= 3  # residual add, gate mul, add before the pool
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        assert (model(x) - source(x)).abs().max().item() <= 1e-5
    out.write_text("keep me")
    assert main(["import", "--module", f"{path}:Bad", "--input", "1x8x8", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot be written as a spec exactly" in err and "reshape op" in err and "Traceback" not in err
    assert out.read_text() == "keep me"  # nothing written over a good file


def test_cli_torchvision_json_summary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "g.json"
    assert main(["import", "--torchvision", "googlenet", "-o", str(out), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"] == 6_624_904 and summary["blocks"] == len(load(out).body)
    assert "auxiliary classifiers" in summary["notes"][0]
    with torch.device("meta"):
        assert sum(p.numel() for p in build(load(out)).parameters()) == 6_624_904
    assert main(["import", "--torchvision", "resnet1", "-o", str(out)]) == 1
    assert "did you mean 'resnet18'" in capsys.readouterr().err
