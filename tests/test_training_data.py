"""Datasets: IDX files, the fixed MNIST split, synthetic shapes, folders, torchvision roots, adaptation,
and the device-side batching and augmentation (checked against per-sample reference code)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from tests.test_training_support import tiny_source, write_idx
from training.augment import random_crop, random_flip
from training.data import TensorSplit, load_data
from training.errors import DataError
from training.synthetic import shapes


def _idx_folder(tmp_path, n=50, prefix="data", gz=True, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 5, 6), dtype=np.uint8)
    labels = rng.integers(0, 4, n).astype(np.uint8) if labels is None else labels
    ext = ".gz" if gz else ""
    write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{ext}", images, gz)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{ext}", labels, gz)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_split_follows_randperm(tmp_path, gz: bool) -> None:
    images, labels = _idx_folder(tmp_path, gz=gz)
    data = load_data(f"idx:{tmp_path}?val=0.2&seed=3")
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(3))
    assert data.input_shape == (1, 5, 6) and (len(data.train), len(data.val)) == (40, 10)
    assert torch.equal(data.train.x[:, 0], torch.from_numpy(images)[perm[:40]])
    assert torch.equal(data.val.y, torch.from_numpy(labels.astype(np.int64))[perm[40:]])
    assert data.classes == [str(i) for i in range(int(labels.max()) + 1)]


def test_idx_errors_name_the_file(tmp_path) -> None:
    _idx_folder(tmp_path, gz=False)
    img = tmp_path / "data-images-idx3-ubyte"
    good = img.read_bytes()
    img.write_bytes(good[:-7])
    with pytest.raises(DataError, match="truncated or not IDX"):
        load_data(f"idx:{tmp_path}")
    img.write_bytes(b"\x08\x08" + good[2:])
    with pytest.raises(DataError, match="bad magic number"):
        load_data(f"idx:{tmp_path}")
    img.write_bytes(good)
    write_idx(tmp_path / "data-labels-idx1-ubyte", np.zeros(49, np.uint8))
    with pytest.raises(DataError, match="49 labels for 50 images"):
        load_data(f"idx:{tmp_path}")
    with pytest.raises(DataError, match="no such folder"):
        load_data(f"idx:{tmp_path / 'nope'}")
    (tmp_path / "data-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="unpaired: data-images-idx3-ubyte"):
        load_data(f"idx:{tmp_path}")


def test_idx_train_and_test_pairs(tmp_path) -> None:
    _idx_folder(tmp_path, n=30, prefix="train")
    _idx_folder(tmp_path, n=12, prefix="t10k")
    data = load_data(f"idx:{tmp_path}?val=test")
    assert (len(data.train), len(data.val)) == (30, 12)
    assert len(load_data(f"idx:{tmp_path}?val=0.5").train) == 15  # a fraction splits the training pair


def test_mnist_fixed_split_and_normalisation(mnist_dir) -> None:
    data = load_data(f"idx:{mnist_dir}")
    raw = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(10000, 28, 28).copy())
    perm = torch.randperm(10000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(data.train.x[:, 0], images[perm[:8000]])
    assert torch.equal(data.val.x[:, 0], images[perm[8000:]])
    x, _ = next(data.batches("val", 7, data.normalizer(data.device)))
    expected = (images[perm[8000:8007]].float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(x[:, 0], expected)


def test_synthetic_is_deterministic_and_balanced() -> None:
    a, la = shapes(120, 16, 3, seed=5)
    b, lb = shapes(120, 16, 3, seed=5)
    c, _ = shapes(120, 16, 3, seed=6)
    assert a.dtype == torch.uint8 and a.shape == (120, 3, 16, 16)
    assert torch.equal(a, b) and torch.equal(la, lb) and not torch.equal(a, c)
    assert torch.bincount(la).tolist() == [20] * 6
    gray, _ = shapes(12, 20, 1, classes=3)
    assert gray.shape == (12, 1, 20, 20)


def test_adaptation_is_listed_and_exact() -> None:
    data = load_data(tiny_source(n=60, size=12, channels=1))
    rgb = data.adapt((3, 16, 16))
    assert rgb.adapted == ["grayscale -> RGB (gray replicated)", "resized 12x12 -> 16x16 (bilinear)"]
    assert rgb.mean == data.mean * 3
    ref = torch.nn.functional.interpolate(data.train.x.float(), size=(16, 16), mode="bilinear", antialias=True)
    assert torch.equal(rgb.train.x[:, 1:2], ref.round().to(torch.uint8))
    assert data.adapt((3, 16, 16)) is rgb  # cached: many trials share one adapted copy
    color = load_data(tiny_source(n=60, size=8, channels=3))
    gray = color.adapt((1, 8, 8))
    luma = (color.train.x.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert torch.equal(gray.train.x, luma.round().to(torch.uint8))
    assert gray.adapted == ["RGB -> grayscale (luma)"] and len(gray.mean) == 1
    with pytest.raises(DataError, match="network takes 2 channels but the images have 3"):
        color.adapt((2, 8, 8))


def test_random_crop_and_flip_match_per_sample_reference() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (40, 2, 6, 5), dtype=torch.uint8, generator=g)
    out = random_crop(x, 2, g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(len(x)):
        hits = [(dy, dx) for dy in range(5) for dx in range(5)
                if torch.equal(out[i], padded[i, :, dy:dy + 6, dx:dx + 5])]
        assert hits, f"image {i} is not a crop of its padded original"
        offsets.add(hits[0])
    assert len(offsets) > 5
    flipped = random_flip(x, g)
    same = [torch.equal(flipped[i], x[i]) for i in range(len(x))]
    mirrored = [torch.equal(flipped[i], x[i].flip(-1)) for i in range(len(x))]
    assert all(s or m for s, m in zip(same, mirrored)) and any(same) and any(mirrored)


def test_shuffled_batches_cover_each_sample_once() -> None:
    split = TensorSplit(torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1), torch.arange(50))
    one = torch.cat([y for _, y in split.batches(16, True, 7, torch.device("cpu"))])
    again = torch.cat([y for _, y in split.batches(16, True, 7, torch.device("cpu"))])
    other = torch.cat([y for _, y in split.batches(16, True, 8, torch.device("cpu"))])
    assert sorted(one.tolist()) == list(range(50)) and torch.equal(one, again) and not torch.equal(one, other)


def _image_folder(root, sizes=((10, 12), (14, 9)), mode="RGB"):
    rng = np.random.default_rng(1)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            h, w = sizes[i % len(sizes)]
            a = rng.integers(0, 256, (h, w, 3) if mode == "RGB" else (h, w), dtype=np.uint8)
            Image.fromarray(a, mode).save(root / cls / f"{i}.png")


def test_folder_in_memory_and_streamed_agree(tmp_path) -> None:
    _image_folder(tmp_path)
    mem = load_data(f"folder:{tmp_path}?size=8&val=0.25")
    assert mem.classes == ["cat", "dog"] and mem.input_shape == (3, 8, 8) and not mem.streamed
    assert mem.adapted == ["images resized to 8x8"] and (len(mem.train), len(mem.val)) == (9, 3)
    first = sorted((tmp_path / "cat").iterdir())[0]
    with Image.open(first) as im:
        ref = np.asarray(im.convert("RGB").resize((8, 8), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    x_all = torch.cat([mem.train.x, mem.val.x])
    assert any(torch.equal(x, torch.from_numpy(ref.copy())) for x in x_all)
    streamed = load_data(f"folder:{tmp_path}?size=8&val=0.25&stream=1&workers=0")
    assert streamed.streamed and len(streamed.val) == 3
    norm = mem.normalizer(mem.device)
    a = torch.cat([x for x, _ in mem.batches("val", 2, norm)])
    b = torch.cat([x for x, _ in streamed.batches("val", 2, norm)])
    torch.testing.assert_close(a, b)
    gray = streamed.adapt((1, 6, 6))
    assert next(gray.batches("train", 4, gray.normalizer(gray.device)))[0].shape == (4, 1, 6, 6)


def test_folder_errors(tmp_path) -> None:
    _image_folder(tmp_path)
    with pytest.raises(DataError, match="different sizes"):
        load_data(f"folder:{tmp_path}")
    bad = tmp_path / "dog" / "9.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match="9.png: cannot read image"):
        load_data(f"folder:{tmp_path}?size=8")
    (tmp_path / "single").mkdir()
    with pytest.raises(DataError, match="one sub-folder per class"):
        load_data(f"folder:{tmp_path / 'single'}")


def test_streamed_folder_reports_a_damaged_file(tmp_path) -> None:
    _image_folder(tmp_path)
    streamed = load_data(f"folder:{tmp_path}?size=8&stream=1&workers=1")  # decoded in a worker process
    (tmp_path / "dog" / "0.png").write_bytes(b"damaged after loading")
    with pytest.raises(DataError, match="dog/0.png: cannot read image"):
        for which in ("train", "val"):
            for _ in streamed.batches(which, 4, streamed.normalizer(streamed.device)):
                pass


def test_torchvision_mnist_from_local_root(tmp_path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for split, n in (("train", 40), ("t10k", 16)):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    data = load_data(f"mnist:{tmp_path}")
    assert (len(data.train), len(data.val), data.num_classes, data.mean) == (40, 16, 10, (0.1307,))
    assert data.classes[3] == "3 - three"
    assert len(load_data(f"mnist:{tmp_path}?val=0.25").val) == 10


@pytest.mark.parametrize("kind, where", [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py"),
                                         ("svhn", "train_32x32.mat")])
def test_missing_torchvision_dataset_says_where_to_put_it(tmp_path, kind: str, where: str) -> None:
    with pytest.raises(DataError) as exc:
        load_data(f"{kind}:{tmp_path}")
    assert where in str(exc.value) and "download=1" in str(exc.value)
