"""Early stopping on any validation metric (best checkpoint kept), the loss choices, top-5 and per-class
accuracy against a recount, TensorBoard event files read back and compared with the run's own records, and
a run with the rich augmentation and mixing on."""

from __future__ import annotations

import csv
import json

import pytest
import torch
import torch.nn.functional as F

from tests.test_training_support import tiny_source, tiny_spec
from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.data import load_data
from training.early_stop import Monitor
from training.errors import ConfigError
from training.loop import evaluate, train
from training.losses import loss_of, per_class_accuracy

FAST = dict(batch_size=16, log_every=1, threads=1, histograms=False)


@pytest.fixture(scope="module")
def data():
    return load_data(tiny_source(n=160, size=16, channels=3))  # 6 classes: top-5 is defined


def test_monitor_patience_and_min_delta() -> None:
    m = Monitor("val_loss", patience=2, min_delta=0.1)
    assert [m.update(v, e) for e, v in enumerate([1.0, 0.95, 0.85, 0.9, 0.8], 1)] == [True, False, True, False,
                                                                                      False]
    assert m.should_stop() and m.best_epoch == 3 and "val_loss" in m.reason()
    up = Monitor("val_acc", patience=None)
    assert [up.update(v, e) for e, v in enumerate([0.5, 0.4, 0.6], 1)] == [True, False, True] and not up.should_stop()


def test_early_stop_keeps_the_best_checkpoint(data, tmp_path) -> None:
    cfg = TrainConfig(**FAST, epochs=10, lr=1e-9, patience=2, monitor="val_loss", min_delta=1e-3)
    records = list(train(tiny_spec(), data, cfg, run_dir=tmp_path / "run"))
    done = records[-1]
    assert done.status == "early_stopped" and done.ok and done.epochs == 3 and done.best_epoch == 1
    assert "val_loss has not improved by more than 0.001 for 2 epochs" in done.message
    assert load_checkpoint(tmp_path / "run", "best").meta["epoch"] == 1
    assert load_checkpoint(tmp_path / "run", "final").meta["epoch"] == 3
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "early_stopped"


def test_monitor_top5_needs_more_than_five_classes() -> None:
    few = load_data(tiny_source(n=60, size=16, channels=3, classes=3))
    with pytest.raises(ConfigError, match="val_top5 needs more than 5 classes"):
        train(tiny_spec(), few, TrainConfig(**FAST, monitor="val_top5"))


def test_losses_against_their_formulas() -> None:
    out = torch.randn(5, 4)
    y = torch.tensor([0, 3, 1, 1, 2])
    onehot = F.one_hot(y, 4).float()
    assert torch.allclose(loss_of("ce", out, y, 0.1), loss_of("ce", out, onehot * 0.9 + 0.1 / 4))
    p = torch.sigmoid(out)
    bce = -(onehot * p.log() + (1 - onehot) * (1 - p).log()).mean()
    assert torch.allclose(loss_of("bce", out, y), bce, atol=1e-6)
    assert torch.allclose(loss_of("mse", out, y), ((out.softmax(1) - onehot) ** 2).mean())
    assert torch.allclose(loss_of("mse", out, onehot), loss_of("mse", out, y))  # soft targets as they are


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_other_losses_train(data, loss) -> None:
    done = list(train(tiny_spec(), data, TrainConfig(**FAST, epochs=2, loss=loss)))[-1]
    assert done.status == "completed" and done.final_val_loss is not None


def test_top5_and_per_class_against_a_recount(data) -> None:
    model = list(train(tiny_spec(), data, TrainConfig(**FAST, epochs=1)))[-1].model.eval()
    ev = evaluate(model, data, "val")
    xs, ys = zip(*data.batches("val", 1000, data.normalizer(data.device)))
    with torch.no_grad():
        out = model(torch.cat(xs))
    y = torch.cat(ys)
    ranks = (out > out.gather(1, y[:, None])).sum(1)  # how many logits beat the true one
    assert ev.top5 == pytest.approx(float((ranks < 5).float().mean()))
    pred = out.argmax(1)
    for c, acc in enumerate(per_class_accuracy(ev.confusion)):
        mask = y == c
        assert acc == (pytest.approx(float((pred[mask] == c).float().mean())) if mask.any() else None)


def test_rich_augmentation_and_mixing_train(data, tmp_path) -> None:
    cfg = TrainConfig(**FAST, epochs=2, rotate=15, scale=0.1, translate=0.1, shear=5, brightness=0.3,
                      contrast=0.3, saturation=0.3, hue=0.05, erase=0.5, policy="trivialaugment", mixup=0.2,
                      cutmix=1.0)
    records = list(train(tiny_spec(), data, cfg, run_dir=tmp_path / "run"))
    assert records[0].augment.startswith("rotate 15, scale 0.1") and records[-1].status == "completed"
    rows = list(csv.DictReader(open(tmp_path / "run" / "history.csv")))
    assert [float(r["val_top5"]) for r in rows] == [r.val_top5 for r in records if r.kind == "epoch"]


def test_tensorboard_events_match_the_run_records(data, tmp_path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    list(train(tiny_spec(), data, TrainConfig(**{**FAST, "histograms": True}, epochs=2), run_dir=tmp_path / "run"))
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    acc = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    for key in ("val_acc", "val_loss", "train_loss", "val_top5", "lr"):
        got = [(e.step, e.value) for e in acc.Scalars(f"epoch/{key}")]
        assert got == [(row["epoch"], pytest.approx(row[key], rel=1e-6)) for row in history["epochs"]]
    steps = [(e.step, e.value) for e in acc.Scalars("train/loss")]
    assert steps == [(s["step"], pytest.approx(s["loss"], rel=1e-6)) for s in history["steps"]]
    assert "weights/body.0.conv.weight" in tags["histograms"] and "filters/body.0.conv" in tags["images"]
