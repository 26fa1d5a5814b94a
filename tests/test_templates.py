"""Templates: each builds and runs with shapes equal to the inferred ones; the torchvision ones match
torchvision exactly (parameter count and logits with torchvision's own random weights copied in)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch
import torchvision

from arch.builder import ConvNet, build
from arch.errors import ConvSmithError
from arch.expand import build_graph, expand_spec
from arch.templates import load_template, names
from main import main
from tests.test_blocks import check_forward, randomise_bn_stats, run_checked

torch.set_num_threads(2)

EXPECTED = {"lenet5", "alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "mobilenet_v2",
            "efficientnet_b0", "resnet20", "mobilenet_mnist", "cifar_cnn"}

# torchvision constructors; googlenet: no auxiliary heads, torchvision's own initialisation
TORCHVISION: dict[str, Callable[[], torch.nn.Module]] = {
    "alexnet": torchvision.models.alexnet,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True),
    "efficientnet_b0": torchvision.models.efficientnet_b0,
}


def test_template_list() -> None:
    assert set(names()) == EXPECTED
    with pytest.raises(ConvSmithError, match="unknown template 'resnet19' \\(did you mean 'resnet18'\\?\\)"):
        load_template("resnet19")


@pytest.mark.parametrize("name", names())
def test_template_expands_to_its_classes(name: str) -> None:
    spec = load_template(name)
    graph = build_graph(spec)
    assert graph.ok and graph.output.shape == (spec.num_classes,)
    assert [b.path for b in graph.top_blocks()] == [f"body[{i}]" for i in range(len(spec.body))]


@pytest.mark.parametrize("name", [n for n in names() if n not in TORCHVISION])
def test_template_builds_and_runs(name: str) -> None:
    """At a 64x64 input where the network allows it (the torchvision templates run in the fidelity test)."""
    spec = load_template(name)
    c, h, w = spec.input
    small = (c, min(h, 64), min(w, 64))
    check_forward(spec, small if build_graph(spec, small).ok else None, batch=1)


PARAMS = {"resnet18": 11_689_512, "resnet50": 25_557_032}  # the figures quoted in the issue


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_torchvision_fidelity(name: str) -> None:
    """Exact parameter count and logits (< 1e-4) with torchvision's random weights, in eval mode.

    Batch-norm running statistics are randomised first, so a wrong eps or momentum would show. The
    AlexNet and VGG classifiers see the 224x224 input they were made for; the networks that end in
    global pooling run at 64x64 (same weights, same ops, faster).
    """
    torch.manual_seed(0)
    ref = randomise_bn_stats(TORCHVISION[name]())
    spec = load_template(name)
    with torch.device("meta"):  # no second initialisation: torchvision's tensors are assigned below
        ours = ConvNet(expand_spec(spec))
    theirs = list(ref.state_dict().values())
    keys = list(ours.state_dict())
    assert len(keys) == len(theirs)
    for key, (meta, value) in zip(keys, zip(ours.state_dict().values(), theirs)):
        assert meta.shape == value.shape, key
    ours.load_state_dict(dict(zip(keys, theirs)), assign=True)
    ours.eval()
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in ref.parameters())
    assert count == PARAMS.get(name, count)
    side = 224 if name in ("alexnet", "vgg16") else 64
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    mine = run_checked(ours, expand_spec(spec, (3, side, side)), x)  # also every block's shape, no NaN
    with torch.no_grad():
        diff = (mine - ref(x)).abs().max().item()
    assert diff < 1e-4


def test_build_cli(capsys) -> None:
    assert main(["build", "template:resnet20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    model = build(load_template("resnet20"))
    assert out == {"name": "ResNet-20", "input": [3, 32, 32], "output": [10],
                   "params": sum(p.numel() for p in model.parameters())}
    assert main(["build", "template:lenet5", "--input", "1x32x32"]) == 0
    text = capsys.readouterr().out
    assert "(conv): Conv2d(1, 6, kernel_size=(5, 5)" in text
    params = sum(p.numel() for p in build(load_template("lenet5"), (1, 32, 32)).parameters())
    assert text.rstrip().endswith(f"input 1x32x32 -> output 10, {params:,} parameters")
    assert params == 82_826  # 16x6x6 features reach the first linear layer at 32x32 (16x4x4 at 28x28)


def test_templates_cli_json(capsys) -> None:
    assert main(["templates", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == names()
    for r in rows:
        spec = load_template(r["name"])
        assert r["title"] == spec.name and r["input"] == list(spec.input) and r["classes"] == spec.num_classes
        assert r["output"] == [spec.num_classes] and r["blocks"] == len(spec.body)
    assert main(["templates"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(names())
