"""The train and filters commands end to end (in-process, tiny data)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from main import main
from tests.test_training_support import tiny_source

DATA = tiny_source(n=200, size=28, channels=1)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "template:lenet5", "--data", DATA, "--epochs", "2", "--batch", "32", "--threads", "1",
                 "--out", str(out), "--quiet"]) == 0
    return str(out)


def test_train_writes_the_run_and_a_json_summary(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    rc = main(["train", "template:lenet5", "--data", DATA, "--epochs", "1", "--batch", "32", "--threads", "1",
               "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0
    summary = json.loads(captured.out)
    assert summary["status"] == "completed" and summary["epochs"] == 1 and summary["steps"] == 5
    assert summary["checkpoints"] == {"best": "best.pt", "final": "final.pt"}
    assert summary["pictures"] == ["curves.png", "filters.png"]
    assert "adapted: num_classes 10 -> 6" in captured.err and "epoch 1/1: loss" in captured.err
    with Image.open(out / "filters.png") as im:  # LeNet's first layer: 6 gray 5x5 kernels, 3 per row
        assert im.mode == "L" and im.size[0] / im.size[1] == pytest.approx((3 * 6 + 1) / (2 * 6 + 1))
    with Image.open(out / "curves.png") as im:
        assert im.size == (960, 320)
    assert (out / "history.csv").read_text().startswith("epoch,step,elapsed,lr,train_loss")


def test_filters_command_writes_pngs(run_dir, tmp_path, capsys) -> None:
    rc = main(["filters", run_dir, "--layer", "body.2.conv", "--erf", "--erf-images", "8", "--out", str(tmp_path),
               "--json"])
    assert rc == 0
    written = json.loads(capsys.readouterr().out)
    assert written["layer"] == "body.2.conv"
    with Image.open(written["filters"]) as im:  # 16 filters x 6 channels of 5x5 tiles
        assert im.size[0] / im.size[1] == pytest.approx((6 * 6 + 1) / (16 * 6 + 1))
    with Image.open(written["features"]) as im:  # 16 maps of 10x10 in a 4x4 grid
        assert im.size[0] == im.size[1]
    with Image.open(written["erf"]) as im:
        assert im.mode == "RGB" and im.size[0] == im.size[1]


@pytest.mark.parametrize("argv, message", [
    (["train", "template:lenet5", "--data", "synthetic:shapes?n=abc"], "n must be an integer (got 'abc')"),
    (["train", "template:lenet5", "--data", "mnist:/nonexistent/root"], "put the files at /nonexistent/root/MNIST/raw"),
    (["train", "template:lenet5", "--data", DATA, "--lr", "0"], "lr: must be in"),
    (["train", "template:lenet5", "--data", DATA, "--device", "tpu"], "device: must be one of"),
    (["filters", "/nonexistent/run"], "no such checkpoint"),
])
def test_user_errors_exit_1_with_the_reason(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_unknown_layer_and_corrupt_checkpoint(run_dir, tmp_path, capsys) -> None:
    assert main(["filters", run_dir, "--layer", "body.0.cnv", "--out", str(tmp_path)]) == 1
    assert "did you mean 'body.0.conv'" in capsys.readouterr().err
    broken = tmp_path / "final.pt"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["filters", str(broken)]) == 1
    assert "corrupt or truncated" in capsys.readouterr().err


def test_divergence_exits_1_and_keeps_the_run(tmp_path, capsys) -> None:
    # std 1e-38 scales pixels past float32's range: the very first loss is NaN
    data = tiny_source(n=100, size=28, channels=1, mean=0, std=1e-38)
    assert main(["train", "template:lenet5", "--data", data, "--epochs", "1", "--out", str(tmp_path / "r"),
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "training stopped: diverged: loss became inf by step 1" in err
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "diverged"
