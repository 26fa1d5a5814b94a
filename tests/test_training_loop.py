"""The training loop: records, statuses (cancelled / diverged / oom / time budget), run directories,
checkpoints, evaluation against a hand count, and the acceptance-style accuracy checks."""

from __future__ import annotations

import csv
import json
import pickle
import threading

import pytest
import torch
from torch import nn

from arch.builder import build
from arch.errors import ConvSmithError
from arch.templates import load_template
from tests.test_training_support import tiny_source, tiny_spec
from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.data import load_data
from training.errors import CheckpointError, ConfigError, DataError
from training.loop import evaluate, train
from training.runs import list_runs, load_history

FAST = dict(epochs=1, batch_size=16, log_every=1, threads=1)


@pytest.fixture(scope="module")
def data():
    return load_data(tiny_source(n=240, size=16, channels=3))


class Faulty(nn.Module):
    """A linear classifier that misbehaves on its n-th training call (NaN logits or a CUDA OOM)."""

    def __init__(self, after: int, fault: str, classes: int = 6) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, classes))
        self.after, self.fault, self.calls = after, fault, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                if self.fault == "oom":
                    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
                return y * float("nan")
        return y


def _run(*args, **kwargs) -> list:
    return list(train(*args, **kwargs))


def test_record_sequence_and_run_directory(data, tmp_path) -> None:
    recs = _run(tiny_spec(), data, TrainConfig(**{**FAST, "epochs": 2}), run_dir=tmp_path / "run")
    kinds = [r.kind for r in recs]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 2
    start, done = recs[0], recs[-1]
    assert start.steps_per_epoch == 12 and kinds.count("step") == 24 and done.steps == 24
    assert start.params == sum(p.numel() for p in done.model.parameters())
    steps = [r for r in recs if r.kind == "step"]
    assert [s.step for s in steps] == list(range(1, 25)) and steps[-1].progress == pytest.approx(1.0)
    assert all(s.images_per_s > 0 and 0 <= s.acc <= 1 for s in steps)
    assert done.status == "completed" and done.ok and done.epochs == 2
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "completed" and run["epochs"] == 2 and run["checkpoints"]["final"] == "final.pt"
    rows = list(csv.DictReader((tmp_path / "run" / "history.csv").open()))
    epochs = [r for r in recs if r.kind == "epoch"]
    assert [float(r["val_acc"]) for r in rows] == [e.val_acc for e in epochs]
    hist = load_history(tmp_path / "run")
    assert len(hist.steps) == 24 and hist.column("epoch") == [1, 2]
    assert hist.config["data"]["source"] == data.source and hist.config["train"]["batch_size"] == 16
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{")
    assert [r.path.name for r in list_runs(tmp_path)] == ["run"]
    assert list_runs(tmp_path)[0].best_val_acc == max(e.val_acc for e in epochs)
    with pytest.raises(ConvSmithError, match="already holds a run"):
        _run(tiny_spec(), data, TrainConfig(**FAST), run_dir=tmp_path / "run")


@pytest.mark.parametrize("stop_epoch, stop_step", [(1, 5), (2, 3)])
def test_cancel_mid_epoch_leaves_a_consistent_run(data, tmp_path, stop_epoch: int, stop_step: int) -> None:
    cancel = threading.Event()
    recs = []
    for rec in train(tiny_spec(), data, TrainConfig(**{**FAST, "epochs": 3}), run_dir=tmp_path, cancel=cancel):
        recs.append(rec)
        if rec.kind == "step" and rec.epoch == stop_epoch and rec.step == 12 * (stop_epoch - 1) + stop_step:
            cancel.set()
    done = recs[-1]
    assert done.status == "cancelled" and done.steps == 12 * (stop_epoch - 1) + stop_step
    assert done.epochs == stop_epoch - 1
    run = json.loads((tmp_path / "run.json").read_text())
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    hist = load_history(tmp_path)
    assert run["status"] == "cancelled" and run["epochs"] == len(rows) == len(hist.epochs) == stop_epoch - 1
    assert len(hist.steps) == done.steps and run["steps"] == done.steps
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.meta["step"] == done.steps
    for k, v in done.model.state_dict().items():
        assert torch.equal(ckpt.state_dict[k], v), k
    assert ("best" in run["checkpoints"]) == (stop_epoch > 1)


def test_closing_the_generator_finalises_the_run(data, tmp_path) -> None:
    gen = train(tiny_spec(), data, TrainConfig(**{**FAST, "epochs": 3}), run_dir=tmp_path)
    for rec in gen:
        if rec.kind == "epoch":
            break
    gen.close()
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "cancelled" and run["epochs"] == 1 and run["best_epoch"] == 1
    assert load_checkpoint(tmp_path, "best").meta["epoch"] == 1


def test_nan_loss_stops_with_diverged(data, tmp_path) -> None:
    recs = _run(Faulty(after=15, fault="nan"), data, TrainConfig(**{**FAST, "epochs": 3}), run_dir=tmp_path)
    done = recs[-1]
    assert done.status == "diverged" and not done.ok and done.steps == 16
    assert "loss became nan by step 16 (epoch 2)" in done.message
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == "diverged" and run["epochs"] == 1
    ckpt = load_checkpoint(tmp_path)  # the last good weights (epoch 1), never NaN ones
    assert ckpt.meta["epoch"] == 1 and all(torch.isfinite(v).all() for v in ckpt.state_dict.values())


def test_out_of_memory_is_a_status(data) -> None:
    done = _run(Faulty(after=3, fault="oom"), data, TrainConfig(**FAST))[-1]
    assert done.status == "oom" and "out of memory on cpu" in done.message and done.steps == 3


def test_time_budget_stops_and_evaluates(data) -> None:
    recs = _run(tiny_spec(), data, TrainConfig(epochs=1000, batch_size=16, time_budget=0.3, threads=1))
    done = recs[-1]
    assert done.status == "time_budget" and done.ok and done.final_val_acc is not None
    assert recs[-2].kind == "epoch" and done.epochs < 1000


def test_checkpoint_round_trip_reproduces_outputs(data, tmp_path) -> None:
    done = _run(tiny_spec(), data, TrainConfig(**FAST), run_dir=tmp_path)[-1]
    x, _ = next(data.batches("val", 32, data.normalizer(data.device)))
    done.model.eval()
    for which in ("final", "best"):
        ckpt = load_checkpoint(tmp_path, which)
        assert ckpt.meta["classes"] == data.classes and ckpt.meta["mean"] == list(data.mean)
        assert torch.equal(ckpt.build().eval()(x), done.model(x))
    again = list(train(tiny_spec(), data, TrainConfig(**FAST), init_from=tmp_path))
    assert "optimizer state restored from" in again[0].adapted[-1] and again[-1].status == "completed"


def test_init_from_loads_the_weights(data, tmp_path) -> None:
    _run(tiny_spec(), data, TrainConfig(**FAST), run_dir=tmp_path)
    ckpt = load_checkpoint(tmp_path)
    gen = train(tiny_spec(), data, TrainConfig(**FAST), init_from=tmp_path)
    start = next(gen)
    for k, v in start.model.state_dict().items():
        assert torch.equal(v, ckpt.state_dict[k]), k
    gen.close()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_checkpoints_give_clear_errors(data, tmp_path) -> None:
    _run(tiny_spec(), data, TrainConfig(**FAST), run_dir=tmp_path / "run")
    good = (tmp_path / "run" / "final.pt").read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(bad)
    bad.write_bytes(pickle.dumps(Faulty(1, "nan")))
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_checkpoint(bad)
    torch.save({"format": "convsmith-checkpoint/1", "x": Faulty(1, "nan")}, bad)
    with pytest.raises(CheckpointError, match="refusing to load it"):
        load_checkpoint(bad)
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(CheckpointError, match="not a ConvSmith checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    ckpt = load_checkpoint(tmp_path / "run")
    with pytest.raises(CheckpointError, match=r"does not fit the model \(shape differs: body.5.fc.weight"):
        ckpt.load_into(build(tiny_spec(classes=4)))


def test_evaluate_matches_a_hand_count(data) -> None:
    done = _run(tiny_spec(), data, TrainConfig(**FAST))[-1]
    ev = evaluate(done.model, data)
    model = done.model.eval()
    xs = torch.cat([x for x, _ in data.batches("val", 1000, data.normalizer(data.device))])
    with torch.no_grad():
        pred = model(xs).argmax(1)
        loss = nn.functional.cross_entropy(model(xs), data.val.y).item()
    counts = torch.zeros(6, 6, dtype=torch.int64)
    for t, p in zip(data.val.y.tolist(), pred.tolist()):
        counts[t, p] += 1
    assert ev.n == len(data.val) and (ev.confusion == counts.numpy()).all()
    assert ev.acc == pytest.approx((pred == data.val.y).float().mean().item())
    assert ev.loss == pytest.approx(loss, rel=1e-5)


def test_same_seed_same_weights(data) -> None:
    a = _run(tiny_spec(), data, TrainConfig(**FAST, seed=3))[-1].model.state_dict()
    b = _run(tiny_spec(), data, TrainConfig(**FAST, seed=3))[-1].model.state_dict()
    c = _run(tiny_spec(), data, TrainConfig(**FAST, seed=4))[-1].model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a) and not all(torch.equal(a[k], c[k]) for k in a)


def test_threads_are_restored(data) -> None:
    before = torch.get_num_threads()
    _run(tiny_spec(), data, TrainConfig(**{**FAST, "threads": 2 if before == 1 else 1}))
    assert torch.get_num_threads() == before


def test_adaptation_is_reported(data) -> None:
    start = next(train(tiny_spec(channels=1, size=12, classes=10), data, TrainConfig(**FAST)))
    assert start.adapted == ["RGB -> grayscale (luma)", "resized 16x16 -> 12x12 (bilinear)",
                             "num_classes 10 -> 6 (the data's classes)"]
    assert start.input_shape == (1, 12, 12)


def test_bad_requests_fail_before_training(data) -> None:
    with pytest.raises(DataError, match="network takes 2 channels"):
        train(tiny_spec(channels=2), data, TrainConfig(**FAST))
    with pytest.raises(ConfigError, match="the model outputs \\(5,\\) per image but the data has 6 classes"):
        train(Faulty(1, "nan", classes=5), data, TrainConfig(**FAST))
    with pytest.raises(ConfigError, match=r"lr: must be in \[1e-09, 10\] \(got 0\)"):
        TrainConfig(lr=0).check()
    with pytest.raises(ConfigError, match="nesterov: needs optimizer sgd"):
        TrainConfig(nesterov=True).check()
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            train(tiny_spec(), data, TrainConfig(device="cuda"))
        with pytest.raises(ConfigError, match="supported on CUDA only"):
            train(tiny_spec(), data, TrainConfig(amp=True))


def test_snapshots_show_the_live_model(data) -> None:
    recs = _run(tiny_spec(), data, TrainConfig(**FAST, snapshot_every=0.0))
    snaps = [r for r in recs if r.kind == "snapshot"]
    assert len(snaps) == 12 and snaps[0].layer == "body.0.conv"
    assert snaps[0].filters.total == (8, 3) and snaps[0].features.shape == (8, 16, 16)
    assert snaps[0].erf.map.shape == (16, 16)
    assert "filters" not in snaps[0].to_dict()


def test_synthetic_shapes_learnable_not_trivial() -> None:
    shapes = load_data(tiny_source(n=3000, size=24, channels=3))
    spec = tiny_spec(size=24, body=[
        {"block": "conv", "out": 16, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 32, "kernel": 3}, {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 64, "kernel": 3}, {"block": "global_pool"}, {"block": "flatten"},
        {"block": "classifier"}])
    done = _run(spec, shapes, TrainConfig(epochs=1, batch_size=32, lr=1e-2, threads=1))[-1]
    chance = 1 / 6
    assert 1.8 * chance < done.final_val_acc < 0.95


def test_lenet5_on_mnist_split(mnist_dir) -> None:
    """Acceptance, shortened: 3 of the 8 epochs (the full run, >= 98 %, is in the report)."""
    mnist = load_data(f"idx:{mnist_dir}")
    done = _run(load_template("lenet5"), mnist, TrainConfig(epochs=3, threads=1))[-1]
    assert done.status == "completed" and done.final_val_acc >= 0.965
