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
            "efficientnet_b0", "resnet20", "mobilenet_mnist", "cifar_cnn",
            "resnet101", "resnet152", "mobilenet_v1", "vgg16_bn", "lenet5_original", "alexnet_original", "zfnet",
            "densenet121", "resnext50_32x4d", "inception_v3", "inception_naive", "inception_reduced"}

# torchvision constructors; googlenet: no auxiliary heads, torchvision's own initialisation
TORCHVISION: dict[str, Callable[[], torch.nn.Module]] = {
    "alexnet": torchvision.models.alexnet,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True),
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "resnet101": torchvision.models.resnet101,
    "resnet152": torchvision.models.resnet152,
    "vgg16_bn": torchvision.models.vgg16_bn,
    "densenet121": torchvision.models.densenet121,
    "resnext50_32x4d": torchvision.models.resnext50_32x4d,
    "inception_v3": lambda: torchvision.models.inception_v3(aux_logits=False, init_weights=True),
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


PARAMS = {"resnet18": 11_689_512, "resnet50": 25_557_032,  # the figures quoted in the issues
          "resnet101": 44_549_160, "resnet152": 60_192_808, "vgg16_bn": 138_365_992,
          "densenet121": 7_978_856, "resnext50_32x4d": 25_028_904, "inception_v3": 23_834_568}


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
    side = 224 if name in ("alexnet", "vgg16", "vgg16_bn") else 96 if name == "inception_v3" else 64
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


def test_published_figures_of_the_cited_architectures() -> None:
    """MobileNet v1: 569M mult-adds and 4.2M params at 224 (Howard et al. 2017, Table 1 / 8; 4,231,976
    trainable in Keras' MobileNet); LeNet-5 as published: tanh, average-pool subsampling, C5 a conv to 1x1."""
    from analysis.engine import analyze

    r = analyze(load_template("mobilenet_v1"))
    assert round(r.totals.macs / 1e6) == 569 and r.totals.params == 4_231_976
    lenet = load_template("lenet5_original")
    graph = expand_spec(lenet)
    assert graph.node("body.4.conv").shape == (120, 1, 1)
    assert {n.attrs["fn"] for n in graph.nodes if n.op == "act"} == {"tanh"}
    assert {n.op for n in graph.nodes if n.op.endswith("pool")} == {"avgpool"}


def test_original_alexnet_and_zfnet_as_published() -> None:
    """AlexNet 2012: two groups, LRN, 60,965,224 params (the paper's "60 million"); ZFNet: the feature map
    sizes of Zeiler and Fergus' Fig. 3 (110, 55, 26, 13, 13, 13, 6)."""
    from analysis.engine import analyze

    alex = analyze(load_template("alexnet_original"))
    assert alex.totals.params == 60_965_224
    groups = [n.attrs["groups"] for n in alex.graph.nodes if n.op == "conv"]
    assert groups == [1, 2, 1, 2, 2] and sum(n.op == "lrn" for n in alex.graph.nodes) == 2
    zf = analyze(load_template("zfnet"))
    sizes = [r.out_shape[1] for r in zf.layers if r.type in ("conv", "maxpool")]
    assert sizes == [110, 55, 26, 13, 13, 13, 13, 6]


def test_lrn_is_the_papers_formula() -> None:
    """b = a / (k + alpha_paper * sum over n neighbouring channels of a^2)^beta with the paper's alpha 1e-4
    on the sum: torch's alpha (on the mean) is 5e-4 for n = 5, as the templates write it."""
    model = build(load_template("alexnet_original")).eval()
    lrn = model.body[1].lrn
    a = torch.randn(1, 12, 3, 3, generator=torch.Generator().manual_seed(0)) * 10
    sq = torch.nn.functional.pad(a * a, (0, 0, 0, 0, 2, 2))
    sums = torch.stack([sq[:, c:c + 5].sum(1) for c in range(12)], 1)
    expected = a / (2.0 + 1e-4 * sums) ** 0.75
    assert torch.allclose(lrn(a), expected, atol=1e-5)
