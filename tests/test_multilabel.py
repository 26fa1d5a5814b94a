"""Multi-label folders (``multilabel:PATH``: images plus labels.csv) end to end: parsing and its errors, the
seeded split, binary cross-entropy with logits against its formula, the multi-label metrics against hand
recomputations, the loss choice, a CLI run's records, and a network that learns a synthetic task."""

from __future__ import annotations

import csv
import json
import math
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from arch.spec import dumps
from main import main
from tests.test_training_support import tiny_spec
from training.augment_policies import mix
from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.data import load_data
from training.errors import ConfigError, DataError
from training.interpret.subject import load_subject
from training.loop import evaluate, train
from training.losses import average_precision, correct, loss_of, multilabel_metrics, resolve_loss
from training.source import KINDS, parse_source

COLOURS = {"red": (230, 40, 40), "green": (40, 220, 60), "blue": (50, 70, 240)}
FAST = dict(batch_size=16, log_every=5, threads=1, histograms=False)


def _mask(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Where a class's shape covers a size x size image: red square, green disc, blue bar, placed at random."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(3, size - 3, 2)
    if name == "red":
        return (abs(yy - cy) <= 2) & (abs(xx - cx) <= 2)
    if name == "green":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= 6
    return (abs(yy - cy) <= 1) & (abs(xx - cx) <= 3)


def write_folder(root: Path, n: int = 200, size: int = 16, seed: int = 0) -> dict[str, list[str]]:
    """PNG images holding 0-3 coloured shapes (each class present with probability 1/2) and their labels.csv,
    separated by spaces on even rows and ';' on odd ones; returns each file's class names."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names: dict[str, list[str]] = {}
    for i in range(n):
        img = np.full((size, size, 3), 20, np.uint8)
        present = [c for c in COLOURS if rng.random() < 0.5]
        for c in present:
            m = _mask(c, size, rng)
            img[m] = np.maximum(img[m], COLOURS[c])
        Image.fromarray(img).save(root / f"{i}.png")
        names[f"{i}.png"] = present
    with (root / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "labels"])
        for i, (file, present) in enumerate(names.items()):
            w.writerow([file, (";" if i % 2 else " ").join(present)])
    return names


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("multilabel")
    return root, write_folder(root)


def _multi_hot(names: list[str], classes: list[str]) -> list[float]:
    return [1.0 if c in names else 0.0 for c in classes]


# ------------------------------------------------------------------------------------------ parsing and loading
def test_the_kind_is_declared_and_parses() -> None:
    kind = KINDS["multilabel"]
    assert kind.multilabel and not KINDS["folder"].multilabel
    src = parse_source("multilabel:/data/scenes?size=24&val=0.25&seed=3")
    assert (src.kind, src.where, src["size"], src["val"], src["seed"]) == ("multilabel", "/data/scenes", (24, 24),
                                                                           0.25, 3)


def test_labels_become_multi_hot_rows_and_the_split_follows_the_seed(folder) -> None:
    root, names = folder
    data = load_data(f"multilabel:{root}?val=0.25&seed=5", "cpu")
    classes = sorted(COLOURS)  # no classes.txt: the sorted union of the names
    assert data.multilabel and data.classes == classes and data.input_shape == (3, 16, 16)
    assert data.summary()["multilabel"] and "(multi-label)" in data.describe()
    files = list(names)  # labels.csv order
    perm = torch.randperm(len(files), generator=torch.Generator().manual_seed(5)).tolist()
    n_val = round(len(files) * 0.25)
    expected_train = torch.tensor([_multi_hot(names[files[i]], classes) for i in perm[:len(files) - n_val]])
    expected_val = torch.tensor([_multi_hot(names[files[i]], classes) for i in perm[len(files) - n_val:]])
    assert data.train.y.dtype == torch.float32 and torch.equal(data.train.y, expected_train)
    assert torch.equal(data.val.y, expected_val)
    first = files[perm[len(files) - n_val]]
    with Image.open(root / first) as im:
        assert torch.equal(data.val.x[0], torch.from_numpy(np.asarray(im.convert("RGB")).transpose(2, 0, 1).copy()))
    assert data.label_names(expected_val[:1]) == ["+".join(c for c in classes if c in names[first]) or "none"]
    assert data.label_names(torch.zeros(1, 3)) == ["none"]
    streamed = load_data(f"multilabel:{root}?val=0.25&seed=5&stream=1&workers=0", "cpu")
    assert streamed.streamed and torch.equal(torch.cat([y for _, y in streamed.batches("val", 7, lambda x: x)]),
                                             expected_val)


def test_classes_txt_sets_the_order_and_blank_or_semicolon_labels_parse(tmp_path) -> None:
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "labels.csv").write_text("file,labels\n0.png,cat;dog\n1.png,\n2.png, dog  bird \n3.png\n")
    data = load_data(f"multilabel:{tmp_path}?val=0.25", "cpu")
    assert data.classes == ["bird", "cat", "dog"]
    (tmp_path / "classes.txt").write_text("dog\n\ncat\nbird\nfish\n")
    data = load_data(f"multilabel:{tmp_path}?val=0.25", "cpu")
    assert data.classes == ["dog", "cat", "bird", "fish"]
    rows = {tuple(r) for r in torch.cat([data.train.y, data.val.y]).tolist()}
    assert rows == {(1.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 1.0, 0.0)}


@pytest.mark.parametrize("files, message", [
    ({}, "no labels.csv"),
    ({"labels.csv": "file,labels\n0.png,cat\nghost.png,dog\n"}, "labels.csv: line 3: no image 'ghost.png' in"),
    ({"labels.csv": "image,tags\n0.png,cat\n"}, "labels.csv: line 1: the header must be file,labels (got image,tags)"),
    ({"labels.csv": ""}, "labels.csv: line 1: the header must be file,labels (got an empty file)"),
    ({"labels.csv": "file,labels\n"}, "labels.csv: lists no image"),
    ({"labels.csv": "file,labels\n0.png,cat\n0.png,dog\n"},
     "labels.csv: line 3: '0.png' listed again (first on line 2)"),
    ({"labels.csv": "file,labels\n0.png,cat,dog\n"}, "labels.csv: line 2: expected 2 columns"),
    ({"labels.csv": "file,labels\nnotes.txt,cat\n"}, "labels.csv: line 2: 'notes.txt' is not an image file"),
    ({"labels.csv": "file,labels\n0.png,\n"}, "labels.csv: no image has a class"),
    ({"labels.csv": "file,labels\n0.png,cat\n0b.png,dgo\n", "classes.txt": "cat\ndog\n"},
     "labels.csv: line 3: class 'dgo' is not in classes.txt (did you mean 'dog'?)"),
    ({"labels.csv": "file,labels\n0.png,cat\n", "classes.txt": "cat\ncat\n"},
     "classes.txt: line 2: class 'cat' listed again (first on line 1)"),
    ({"labels.csv": "file,labels\n0.png,cat\n", "classes.txt": "big cat\n"},
     "classes.txt: line 1: class name 'big cat' holds a space"),
])
def test_bad_folders_name_the_file_and_row(tmp_path, files: dict[str, str], message: str, capsys) -> None:
    for name in ("0.png", "0b.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(DataError) as err:
        load_data(f"multilabel:{tmp_path}", "cpu")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert main(["train", "template:lenet5", "--data", f"multilabel:{tmp_path}", "--epochs", "1"]) == 1
    out = capsys.readouterr().err
    assert message in out and "Traceback" not in out


def test_an_empty_or_missing_folder_is_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="no labels.csv"):
        load_data(f"multilabel:{tmp_path}", "cpu")
    with pytest.raises(DataError, match="no such folder"):
        load_data(f"multilabel:{tmp_path / 'absent'}", "cpu")


# ------------------------------------------------------------------------------------------ loss
def test_bce_on_multi_hot_rows_is_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    out = torch.randn(8, 3, generator=g) * 3
    t = (torch.rand(8, 3, generator=g) < 0.5).float()
    z, y = out.double().numpy(), t.double().numpy()
    p = 1 / (1 + np.exp(-z))
    by_hand = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    assert float(loss_of("bce", out, t)) == pytest.approx(by_hand, rel=1e-5)
    assert float(loss_of("bce", out, t)) == pytest.approx(float(F.binary_cross_entropy_with_logits(out, t)), rel=1e-6)


def test_the_loss_follows_the_data_and_multi_label_refuses_ce_and_mse() -> None:
    assert (resolve_loss("auto", True), resolve_loss("auto", False)) == ("bce", "ce")
    assert resolve_loss("bce", True) == "bce" and resolve_loss("mse", False) == "mse"
    for loss in ("ce", "mse"):
        with pytest.raises(ConfigError, match=f"multi-label data needs --loss bce \\(or auto\\), not {loss}"):
            resolve_loss(loss, True)


def test_mixing_blends_multi_hot_rows() -> None:
    x = torch.rand(4, 3, 8, 8)
    y = torch.tensor([[1.0, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1]])
    mixed, target = mix(x, y, 3, 0.4, 0.0, np.random.default_rng(1))
    lam = float(((mixed - x.roll(1, 0)) / (x - x.roll(1, 0)))[0, 0, 0, 0])  # x * lam + other * (1 - lam)
    torch.testing.assert_close(target, y * lam + y.roll(1, 0) * (1 - lam))


# ------------------------------------------------------------------------------------------ metrics
def test_metrics_on_known_logits() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.5, 1.5, -2.0], [1.0, 0.3, -0.1], [-1.0, -0.2, 3.0]])
    truth = torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1]])
    m = multilabel_metrics(logits, truth)
    # predicted (logit > 0): [1 0 1], [0 1 0], [1 1 0], [0 0 1]: rows 0 and 1 exactly right
    assert m.exact == 0.5
    assert int(correct(logits, truth)) == 2 and int(correct(logits, torch.tensor([0, 1, 1, 2]))) == 3  # train acc
    assert m.per_class == [1.0, 0.5, 1.0]  # class 1: right on rows 0 and 1, wrong on 2 (false +) and 3 (false -)
    assert m.f1 == [1.0, 0.5, 1.0] and m.mean_f1 == pytest.approx(2.5 / 3)  # class 1: 2 tp / (2 tp + fp + fn)
    # class 1 ranked 1.5 (+), 0.3 (-), -0.2 (+), -1.0 (-): AP = 0.5 * 1 + 0.5 * 2/3
    assert m.ap == pytest.approx([1.0, 0.5 + 1 / 3, 1.0]) and m.mean_ap == pytest.approx((2 + 0.5 + 1 / 3) / 3)


def test_undefined_classes_and_ties() -> None:
    # class 1 never present and never predicted: F1 and AP undefined, left out of the means
    m = multilabel_metrics(torch.tensor([[0.5, -1.0], [0.5, -2.0], [0.2, -3.0]]),
                           torch.tensor([[0.0, 0], [1, 0], [1, 0]]))
    assert m.f1[1] is None and m.ap[1] is None and m.per_class == [2 / 3, 1.0]
    # tied scores are one threshold: at 0.5 precision 1/2 recall 1/2, at 0.2 precision 2/3 recall 1
    assert m.ap[0] == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3) and m.mean_ap == m.ap[0]
    assert m.f1[0] == pytest.approx(2 * 2 / (2 * 2 + 1)) and m.mean_f1 == m.f1[0]


def _ap_by_thresholds(scores: np.ndarray, truth: np.ndarray) -> float:
    """Average precision from its definition: each distinct score, highest first, as a threshold."""
    ap, prev_recall = 0.0, 0.0
    for thr in sorted(set(scores.tolist()), reverse=True):
        chosen = scores >= thr
        tp = float((chosen & truth).sum())
        recall = tp / truth.sum()
        ap += (recall - prev_recall) * tp / chosen.sum()
        prev_recall = recall
    return ap


def test_average_precision_against_its_definition() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(-4, 5, (60, 5)).astype(np.float32)  # many ties
    truth = rng.random((60, 5)) < 0.3
    got = average_precision(torch.from_numpy(scores), torch.from_numpy(truth))
    assert got == pytest.approx([_ap_by_thresholds(scores[:, k], truth[:, k]) for k in range(5)])


def test_evaluate_matches_a_forward_pass(folder) -> None:
    root, _ = folder
    data = load_data(f"multilabel:{root}?val=0.3", "cpu")
    torch.manual_seed(0)
    from arch.builder import build

    model = build(tiny_spec(classes=3)).eval()
    ev = evaluate(model, data, "val", batch_size=7)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    with torch.no_grad():
        out = model((data.val.x.float() / 255 - mean) / std).double().numpy()
    t = data.val.y.double().numpy()
    p = 1 / (1 + np.exp(-out))
    assert ev.loss == pytest.approx(float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()), rel=1e-4)
    pred, truth = out > 0, t > 0.5
    assert ev.acc == pytest.approx(float((pred == truth).all(1).mean()))
    assert ev.per_class == pytest.approx((pred == truth).mean(0).tolist())
    assert ev.confusion is None and ev.top5 is None and ev.n == len(t)
    aps = [_ap_by_thresholds(out[:, k], truth[:, k]) for k in range(3) if truth[:, k].any()]
    assert ev.mean_ap == pytest.approx(sum(aps) / len(aps))


# ------------------------------------------------------------------------------------------ training
def test_ce_or_mse_on_multi_label_data_is_refused_before_training(folder, tmp_path, capsys) -> None:
    root, _ = folder
    data = load_data(f"multilabel:{root}", "cpu")
    with pytest.raises(ConfigError, match="multi-label data needs --loss bce"):
        train(tiny_spec(classes=3), data, TrainConfig(**FAST, loss="ce"))
    with pytest.raises(ConfigError, match="val_top5 is not measured for multi-label data"):
        train(tiny_spec(classes=3), data, TrainConfig(**FAST, monitor="val_top5"))
    spec = tmp_path / "tiny.json"
    spec.write_text(dumps(tiny_spec(classes=3)))
    assert main(["train", str(spec), "--data", f"multilabel:{root}", "--loss", "mse", "--out",
                 str(tmp_path / "run")]) == 1
    assert "multi-label data needs --loss bce (or auto), not mse" in capsys.readouterr().err
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_cli_run_records_the_multi_label_metrics(folder, tmp_path, capsys) -> None:
    root, _ = folder
    spec = tmp_path / "tiny.json"
    spec.write_text(dumps(tiny_spec(classes=3)))
    out = tmp_path / "run"
    assert main(["train", str(spec), "--data", f"multilabel:{root}?val=0.25", "--epochs", "2", "--batch", "16",
                 "--threads", "1", "--mixup", "0.2", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "multi-label data, loss bce" in captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "completed" and summary["epochs"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["multilabel"] and config["train"]["loss"] == "auto"
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 2
    for row in rows:
        assert row["val_top5"] == ""  # not produced for multi-label data
        assert 0.0 <= float(row["val_acc"]) <= 1.0 and 0.0 <= float(row["val_f1"]) <= 1.0
        assert 0.0 < float(row["val_map"]) <= 1.0 and math.isfinite(float(row["val_loss"]))
    assert summary["final_val_acc"] == pytest.approx(float(rows[-1]["val_acc"]))
    subject = load_subject(out)  # no confusion matrix or misclassified images: they assume one class per image
    with pytest.raises(ConfigError, match="this run's data is multi-label"):
        subject.predictions()


def test_a_network_learns_the_shapes(folder) -> None:
    root, names = folder
    data = load_data(f"multilabel:{root}?val=0.25", "cpu")
    records = list(train(tiny_spec(classes=3), data, TrainConfig(**FAST, epochs=8)))
    done, last = records[-1], [r for r in records if r.kind == "epoch"][-1]
    assert done.status == "completed" and last.confusion == [] and last.val_top5 is None
    # chance: the best constant answer, the most frequent label set of the validation images
    sets = [tuple(row) for row in data.val.y.tolist()]
    chance = max(sets.count(s) for s in product((0.0, 1.0), repeat=3)) / len(sets)
    assert chance < 0.3 and last.val_acc >= 0.8
    assert last.val_map >= 0.9 and last.val_f1 >= 0.8 and min(last.per_class_acc) >= 0.8


def test_early_stopping_and_the_best_checkpoint_follow_val_map(folder, tmp_path) -> None:
    root, _ = folder
    data = load_data(f"multilabel:{root}?val=0.25", "cpu")
    cfg = TrainConfig(**FAST, epochs=6, monitor="val_map", patience=2)
    records = list(train(tiny_spec(classes=3), data, cfg, run_dir=tmp_path / "run"))
    epochs, done = [r for r in records if r.kind == "epoch"], records[-1]
    best = max(epochs, key=lambda r: (r.val_map, -r.epoch))  # the first epoch reaching the highest mAP
    assert done.best_epoch == best.epoch
    assert load_checkpoint(tmp_path / "run", "best").meta["epoch"] == best.epoch
    with pytest.raises(ConfigError, match="val_map is measured for multi-label data only"):
        train(tiny_spec(classes=3), load_data("synthetic:shapes?n=60&size=16", "cpu"),
              TrainConfig(**FAST, monitor="val_map"))
