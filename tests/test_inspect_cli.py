"""``convsmith inspect`` end to end (in-process, a tiny LeNet-5 run on synthetic digits-sized shapes)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from main import main
from tests import test_training_cli
from training.interpret.table import METHODS

DATA = test_training_cli.DATA
run_dir = test_training_cli.run_dir  # the fixture: a 2-epoch LeNet-5 run on 28x28 gray shapes


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_writes_a_png_and_json(method, run_dir, tmp_path, capsys) -> None:
    out = tmp_path / f"{method}.png"
    argv = ["inspect", run_dir, "--method", method, "-o", str(out), "--json", "--steps", "8"]
    if METHODS[method].layer:
        argv += ["--layer", "body.2.conv"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["method"] == method and str(out) in summary["written"]
    kept = [p for p in summary["written"] if "/inspect/" in p]
    assert len(kept) == 1 and json.loads(open(kept[0][:-4] + ".json").read())["method"] == method
    with Image.open(out) as im:
        assert im.mode == "RGB" and im.width >= 150
    if method == "histograms":  # counts of every epoch equal the layer's parameter count (16*6*5*5 + 16)
        assert summary["params"] == 2416 and summary["weight_counts_per_epoch"] == [2416, 2416]
    if method in ("deconv", "guided"):
        assert summary["support"] is None or all(
            lo >= blo if i % 2 == 0 else lo <= blo for i, (lo, blo) in enumerate(zip(summary["support"],
                                                                                   summary["rf_box"])))


def test_an_image_file_is_read_like_the_data(run_dir, tmp_path, capsys) -> None:
    path = tmp_path / "digit.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path)  # RGB and another size: converted and resized
    assert main(["inspect", run_dir, "--method", "probs", "--image", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["label"] is None and sum(summary["probs"]) == pytest.approx(1.0, abs=1e-4)
    assert len(summary["top5"]) == 5


@pytest.mark.parametrize("argv, message", [
    (["--method", "deconv", "--layer", "body.9.conv"], "layer 'body.9.conv' is not a spatial layer"),
    (["--method", "deconv", "--layer", "body.5.fc"], "is not a spatial layer"),
    (["--method", "topk", "--layer", "body.2.conv", "--channel", "16"], "channel 16: layer 'body.2.conv' has 16"),
    (["--method", "gradcam", "--class", "6"], "class 6: the network has 6 classes"),
    (["--method", "probs", "--index", "999"], "--index 999: the validation split has 40 images"),
    (["--method", "probs", "--image", "/nonexistent.png"], "/nonexistent.png: no such image file"),
    (["--method", "histograms", "--layer", "body.1.pool"], "layer 'body.1.pool' has no recorded histograms"),
    (["--method", "misclassified", "--predicted", "7"], "predicted class 7: the network has 6 classes"),
])
def test_bad_input_is_one_line_exit_1(argv, message, run_dir, capsys) -> None:
    assert main(["inspect", run_dir, *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_run_and_usage_errors(tmp_path, run_dir, capsys) -> None:
    assert main(["inspect", str(tmp_path / "nope"), "--method", "probs"]) == 1
    assert "no such checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["inspect", run_dir, "--method", "probs", "--index", "1", "--image", "x.png"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["inspect", run_dir, "--method", "saliency"])
    assert e.value.code == 2


def test_a_run_without_histograms_says_so(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "template:lenet5", "--data", DATA, "--epochs", "1", "--batch", "64", "--threads", "1",
                 "--out", str(out), "--quiet", "--no-histograms"]) == 0
    assert main(["inspect", str(out), "--method", "histograms"]) == 1
    assert "no histograms.json" in capsys.readouterr().err


def test_a_run_whose_dataset_is_gone_keeps_the_image_free_methods(run_dir, tmp_path, capsys) -> None:
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    config = json.loads((moved / "config.json").read_text())
    config["data"]["source"] = "idx:/nonexistent/mnist"
    (moved / "config.json").write_text(json.dumps(config))
    assert main(["inspect", str(moved), "--method", "probs"]) == 1
    err = capsys.readouterr().err
    assert "this run's dataset cannot be loaded (" in err and "/nonexistent/mnist" in err and err.count("\n") == 1
    assert main(["inspect", str(moved), "--method", "maximize", "--layer", "body.2.act", "--steps", "4"]) == 0
    assert main(["inspect", str(moved), "--method", "probs", "--data", DATA, "--index", "2"]) == 0
