"""EfficientNet compound scaling: B1-B3 come out of the B0 template with torchvision's exact parameter counts
(B2: 9,109,994) and, with torchvision's weights, its logits; depth, width and resolution are searchable."""

from __future__ import annotations

import pytest
import torch
import torchvision

from arch.builder import ConvNet
from arch.errors import ConvSmithError
from arch.expand import build_graph, expand_spec
from arch.scaling import compound
from arch.search_space import parse_space
from arch.spec import dumps, loads
from arch.templates import load_template
from main import main
from tests.test_blocks import randomise_bn_stats, run_checked

torch.set_num_threads(2)
TV = {1: torchvision.models.efficientnet_b1, 2: torchvision.models.efficientnet_b2,
      3: torchvision.models.efficientnet_b3}


@pytest.mark.parametrize("phi", [1, 2, 3])
def test_b1_to_b3_have_torchvisions_parameter_counts(phi: int) -> None:
    spec = compound(load_template("efficientnet_b0"), phi)
    with torch.device("meta"):
        ours = ConvNet(expand_spec(spec))
        theirs = TV[phi]()
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters())
    assert spec.name == f"EfficientNet-B{phi}" and spec.input[1] == {1: 240, 2: 288, 3: 300}[phi]
    if phi == 2:
        assert count == 9_109_994


def test_b2_logits_equal_torchvision() -> None:
    torch.manual_seed(0)
    ref = randomise_bn_stats(torchvision.models.efficientnet_b2()).eval()
    spec = compound(load_template("efficientnet_b0"), 2)
    with torch.device("meta"):
        ours = ConvNet(expand_spec(spec))
    keys = list(ours.state_dict())
    theirs = list(ref.state_dict().values())
    assert len(keys) == len(theirs)
    ours.load_state_dict(dict(zip(keys, theirs)), assign=True)
    ours.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    mine = run_checked(ours, expand_spec(spec, (3, 64, 64)), x)
    with torch.no_grad():
        assert (mine - ref(x)).abs().max().item() < 1e-4


def test_depth_rounds_up_and_fractional_phi_uses_the_formula() -> None:
    b0 = load_template("efficientnet_b0")
    b3 = compound(b0, 3)  # depth 1.4: repeats 1 2 2 3 3 4 1 -> 2 3 3 5 5 6 2 (torchvision's ceil)
    repeats = [len([b for b in build_graph(b3).blocks if b.parent == f"body[{i}]"]) for i in range(1, 8)]
    assert repeats == [2, 3, 3, 5, 5, 6, 2]
    half = compound(b0, 0.5)
    assert half.depth_mult == round(1.2 ** 0.5, 4) and half.input[1] == round(224 * 1.15 ** 0.5)
    assert loads(dumps(b3)) == b3 and '"depth_mult": 1.4' in dumps(b3)
    with pytest.raises(ConvSmithError, match="unscaled"):
        compound(b3, 1)


def test_resolution_and_depth_are_searchable() -> None:
    spec = load_template("efficientnet_b0")
    spec.search = {"resolution": {"choices": [192, 224, 256]}, "depth_mult": {"float": [1.0, 2.0], "step": 0.5},
                   "width_mult": {"choices": [1.0, 1.1]}}
    space = parse_space(loads(dumps(spec)))
    trial, _ = space.apply(spec, {"resolution": 256, "depth_mult": 1.5, "width_mult": 1.1})
    assert trial.input == (3, 256, 256) and trial.depth_mult == 1.5 and trial.width_mult == 1.1
    assert build_graph(trial).ok
    spec.search = {"resolution": {"choices": [4]}}
    with pytest.raises(ConvSmithError, match="search.resolution"):
        parse_space(loads(dumps(spec)))


def test_scale_cli(tmp_path, capsys) -> None:
    out = tmp_path / "b2.json"
    assert main(["scale", "template:efficientnet_b0", "--phi", "2", "-o", str(out)]) == 0
    assert "EfficientNet-B2: width 1.1, depth 1.2, input 288x288" in capsys.readouterr().out
    assert loads(out.read_text()).depth_mult == 1.2
    assert main(["scale", "template:efficientnet_b0", "--phi", "20"]) == 1
    assert "phi must be in [0, 12]" in capsys.readouterr().err
