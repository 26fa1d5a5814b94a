"""Transfer learning, offline: torchvision weights (a state_dict saved here from a torchvision model built with
weights=None) loaded into the matching template give torchvision's logits; fine-tuning replaces the head,
freezes the chosen blocks, gives the loaded tensors their own learning rate; checkpoints load in part."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision

from arch.builder import build
from arch.templates import load_template
from tests.test_training_support import tiny_source, tiny_spec
from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.data import load_data
from training.errors import CheckpointError, ConfigError
from training.loop import train
from training.pretrained import freeze, load_by_position, read_weights, trainable_counts

FAST = dict(epochs=1, batch_size=16, log_every=1, threads=1, histograms=False)


@pytest.fixture(scope="module")
def resnet_weights(tmp_path_factory):
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(tv.state_dict(), path)
    return tv, path


def test_template_with_torchvision_weights_gives_torchvisions_logits(resnet_weights) -> None:
    tv, path = resnet_weights
    model = build(load_template("resnet18")).eval()
    state, where = read_weights(path)
    done = load_by_position(model, state, where)
    assert not done.skipped and len(done.loaded) == len(tv.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), tv(x), atol=1e-5)


def test_wrong_architecture_and_missing_weights_are_one_line_errors(resnet_weights, tmp_path, monkeypatch) -> None:
    _, path = resnet_weights
    with pytest.raises(ConfigError, match="holds 122 tensors, the network 314"):
        load_by_position(build(load_template("mobilenet_v2")), read_weights(path)[0], str(path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty hub cache, offline
    with pytest.raises(ConfigError, match="not in torch's hub cache"):
        read_weights("ResNet18_Weights.IMAGENET1K_V1", online=False)
    with pytest.raises(ConfigError, match="neither a file nor a torchvision weights name"):
        read_weights(tmp_path / "nothing.pth")
    (tmp_path / "junk.pth").write_text("not torch")
    with pytest.raises(CheckpointError, match="junk.pth: not a readable state_dict"):
        read_weights(tmp_path / "junk.pth")


def test_hub_cache_is_used_when_the_file_is_there(resnet_weights, tmp_path, monkeypatch) -> None:
    _, path = resnet_weights
    cache = tmp_path / "checkpoints"
    cache.mkdir()
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    (cache / url.rsplit("/", 1)[1]).write_bytes(path.read_bytes())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    state, where = read_weights("ResNet18_Weights.IMAGENET1K_V1", online=False)
    assert "hub cache" in where and torch.equal(state["conv1.weight"], torch.load(path)["conv1.weight"])


@pytest.mark.slow
def test_fine_tune_freezes_replaces_head_and_scales_lr(resnet_weights) -> None:
    _, path = resnet_weights
    spec = dataclasses.replace(load_template("resnet18"), input=(3, 32, 32))
    data = load_data(tiny_source(n=64, size=32, channels=3))
    cfg = TrainConfig(**FAST, pretrained=str(path), freeze="body[3]", pretrained_lr=0.1, lr=1e-3, schedule="constant")
    records = list(train(spec, data, cfg))
    start, done = records[0], records[-1]
    model = done.model.cpu()
    state = torch.load(path)
    replaced = next(n for n in start.adapted if "left as initialised" in n)  # the 1000-class classifier
    assert "body.8.fc.weight ((1000, 512) in the weights, (6, 512) here)" in replaced
    assert model.body[8].fc.weight.shape == (6, 512)
    own = list(model.state_dict().items())
    theirs = list(state.values())
    frozen = [i for i, (k, _) in enumerate(own) if k.startswith(("body.0.", "body.1.", "body.2.", "body.3."))
              and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert frozen and all(torch.equal(own[i][1], theirs[i]) for i in frozen)  # frozen: untouched
    assert all(torch.equal(own[i][1], theirs[i]) for i, (k, _) in enumerate(own)  # frozen BN stats kept
               if k.startswith("body.0.") and k.endswith("running_mean"))
    later = [i for i, (k, _) in enumerate(own) if k.startswith("body.5.") and k.endswith("weight")]
    assert any(not torch.equal(own[i][1], theirs[i]) for i in later)  # unfrozen pretrained layers learn
    trainable, frozen_n = trainable_counts(model)
    assert start.trainable == trainable and frozen_n > 0
    assert sum(p.numel() for p in model.parameters()) == trainable + frozen_n


def test_optimizer_groups_scale_the_loaded_tensors() -> None:
    from training.optim import make_optimizer

    model = build(tiny_spec())
    names = {n for n, _ in model.named_parameters() if n.startswith("body.0.")}
    opt = make_optimizer(model, TrainConfig(pretrained_lr=0.1), torch.device("cpu"), names)
    scaled = {id(p) for g in opt.param_groups if g["lr_scale"] == 0.1 for p in g["params"]}
    assert scaled == {id(p) for n, p in model.named_parameters() if n in names}
    assert all(g["lr_scale"] == 1.0 for g in make_optimizer(model, TrainConfig(), torch.device("cpu"),
                                                            names).param_groups)


def test_freeze_counts_and_bad_block() -> None:
    model = build(tiny_spec())
    before = trainable_counts(model)
    assert freeze(model, "body[0]") == ["body.0"]
    first = sum(p.numel() for p in model.body[0].parameters())
    assert trainable_counts(model) == (before[0] - first, first)
    with pytest.raises(ConfigError, match=r"freeze: body\[9\]: the network has 6 body blocks"):
        freeze(model, "body[9]")


def test_partial_init_loads_matching_tensors_and_names_the_others(tmp_path) -> None:
    data = load_data(tiny_source(n=96, size=16, channels=3))
    list(train(tiny_spec(), data, TrainConfig(**FAST), run_dir=tmp_path / "a"))
    wider = tiny_spec(body=[{"block": "conv", "out": 8, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
                            {"block": "conv", "out": 24, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
                            {"block": "classifier"}])
    with pytest.raises(CheckpointError, match="does not fit"):
        list(train(wider, data, TrainConfig(**FAST), init_from=tmp_path / "a"))
    records = list(train(wider, data, TrainConfig(**FAST, lr=1e-9, partial_init=True),
                         init_from=tmp_path / "a"))
    notes = " ".join(records[0].adapted)
    assert "tensors loaded from" in notes and "body.2.conv.weight" in notes and "body.0.conv.weight" not in \
        notes.split("left as initialised")[1]
    first = load_checkpoint(tmp_path / "a").state_dict["body.0.conv.weight"]
    assert torch.allclose(records[-1].model.state_dict()["body.0.conv.weight"].cpu(), first, atol=1e-6)
