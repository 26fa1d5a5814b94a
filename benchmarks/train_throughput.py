"""Training throughput: ConvSmith's loop against two baselines, same model, data and device, one run.

  (a) ours      ``training.train``: uint8 data on the device, batch shuffling / normalisation there
  (b) minimal   a hand-written loop over pre-normalised float tensors already on the device: the
                practical limit of a PyTorch training loop (nothing but forward, backward, step)
  (c) common    the torchvision-tutorial loop: a Dataset of PIL images, per-sample ToTensor + Normalize,
                DataLoader(shuffle=True, num_workers=2)
  (d) ours, rich    (a) with the rich augmentation RICH on (affine, colour jitter, random erasing), batched on
                the device (training.augment_policies)
  (e) common, rich  (c) with the equivalent torchvision transforms per sample: RandomAffine, ColorJitter before
                ToTensor, RandomErasing after Normalize

Each measurement is one epoch over the training split plus one pass over the validation split (every
loop evaluates once per epoch), timed from outside with the device synchronised. The three run
interleaved, ``REPEATS`` times, and the best time of each counts (a shared machine only ever makes a run
slower). Images/s = training images / seconds. Targets on a CPU: a/b >= 0.9, a/c >= 1.5, d/e >= 1.5.
On CUDA all three use the same autocast dtype and channels_last as (a).

Data: the MNIST test set with the fixed 8k/2k split (``../shared/datasets/mnist-test``), or the
synthetic shapes at 1x28x28 when it is absent. Model: the LeNet-5 template.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from arch.builder import build
from arch.templates import load_template
from training.config import TrainConfig
from training.data import Data, load_data
from training.device import amp_dtype, pick_device, sync
from training.loop import train
from training.optim import make_optimizer

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "mnist-test"
REPEATS = 5
BATCH = 128
WORKERS = 2
RICH = dict(rotate=15.0, scale=0.1, translate=0.1, shear=10.0, brightness=0.3, contrast=0.3, erase=0.25)


def _timed(run: Callable[[], object], device: torch.device) -> float:
    sync(device)
    t = time.perf_counter()
    run()
    sync(device)
    return time.perf_counter() - t


def ours(spec, data: Data, config: TrainConfig) -> None:  # noqa: ANN001
    for rec in train(spec, data, config):
        if rec.kind == "done" and rec.status != "completed":
            raise RuntimeError(f"our loop ended {rec.status}: {rec.message}")


class Minimal:
    """(b): tensors normalised once, up front; per step only indexing, forward, backward, step."""

    def __init__(self, data: Data, device: torch.device, amp: torch.dtype | None, channels_last: bool) -> None:
        norm = data.normalizer(device, channels_last)
        self.x, self.y = norm(data.train.x), data.train.y
        self.vx, self.vy = norm(data.val.x), data.val.y
        self.device, self.amp, self.channels_last = device, amp, channels_last

    def __call__(self, spec, config: TrainConfig) -> None:  # noqa: ANN001
        torch.manual_seed(0)
        model = build(spec).to(self.device, memory_format=torch.channels_last if self.channels_last
                                 else torch.preserve_format)
        opt = make_optimizer(model, config, self.device)
        model.train()
        perm = torch.randperm(len(self.y), device=self.device)
        for i in range(0, len(self.y), config.batch_size):
            idx = perm[i:i + config.batch_size]
            with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                loss = F.cross_entropy(model(self.x[idx]), self.y[idx], label_smoothing=config.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _validate(model, ((self.vx[i:i + 1024], self.vy[i:i + 1024]) for i in range(0, len(self.vy), 1024)),
                  self.device, self.amp)


def _validate(model, batches, device: torch.device, amp: torch.dtype | None) -> float:  # noqa: ANN001
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad(), torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        for x, y in batches:
            correct += (model(x.to(device, non_blocking=True)).argmax(1) == y.to(device, non_blocking=True)).sum()
    return float(correct)


class Common:
    """(c): the usual torchvision recipe, per-sample PIL -> ToTensor -> Normalize in DataLoader workers."""

    def __init__(self, data: Data, device: torch.device, amp: torch.dtype | None, channels_last: bool,
                 rich: bool = False) -> None:
        from PIL import Image
        from torchvision import transforms

        mode = "L" if data.input_shape[0] == 1 else "RGB"

        class Images(torch.utils.data.Dataset):
            def __init__(self, x: torch.Tensor, y: torch.Tensor, tf: Callable) -> None:
                arr = x.cpu().numpy()
                self.x = arr[:, 0] if mode == "L" else arr.transpose(0, 2, 3, 1)
                self.y, self.tf = y.cpu().tolist(), tf

            def __len__(self) -> int:
                return len(self.y)

            def __getitem__(self, i: int):  # noqa: ANN204
                return self.tf(Image.fromarray(self.x[i], mode)), self.y[i]

        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(data.mean, data.std)])
        train_tf = transforms.Compose([
            transforms.RandomAffine(RICH["rotate"], (RICH["translate"],) * 2, (1 - RICH["scale"], 1 + RICH["scale"]),
                                    RICH["shear"], interpolation=transforms.InterpolationMode.BILINEAR),
            transforms.ColorJitter(RICH["brightness"], RICH["contrast"]), tf,
            transforms.RandomErasing(RICH["erase"])]) if rich else tf
        self.train_set = Images(data.train.x, data.train.y, train_tf)
        self.val_set = Images(data.val.x, data.val.y, tf)
        self.device, self.amp, self.channels_last = device, amp, channels_last

    def __call__(self, spec, config: TrainConfig) -> None:  # noqa: ANN001
        pin = self.device.type == "cuda"
        loader = torch.utils.data.DataLoader(self.train_set, batch_size=config.batch_size, shuffle=True,
                                             num_workers=WORKERS, pin_memory=pin)
        val_loader = torch.utils.data.DataLoader(self.val_set, batch_size=1024, num_workers=WORKERS, pin_memory=pin)
        torch.manual_seed(0)
        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        model = build(spec).to(self.device, memory_format=fmt)
        opt = make_optimizer(model, config, self.device)
        model.train()
        for x, y in loader:
            x = x.to(self.device, non_blocking=True).contiguous(memory_format=fmt)
            y = y.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                loss = F.cross_entropy(model(x), y, label_smoothing=config.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _validate(model, val_loader, self.device, self.amp)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"interleaved repeats (default {REPEATS})")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    amp = amp_dtype(device, None)
    channels_last = device.type == "cuda"
    spec = load_template("lenet5")
    source = f"idx:{MNIST}" if MNIST.is_dir() else "synthetic:shapes?n=10000&size=28&channels=1&classes=6"
    data = load_data(source, device, tuple(spec.input))
    config = TrainConfig(epochs=1, batch_size=BATCH, device=str(device), threads=args.threads,
                         log_every=10)
    print(f"device {device} (amp {amp}, channels_last {channels_last}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"data {data.describe()}")
    print(f"model {spec.name}, batch {BATCH}, AdamW, one epoch + one validation pass per measurement, "
          f"best of {args.repeats}")
    minimal, common = Minimal(data, device, amp, channels_last), Common(data, device, amp, channels_last)
    common_rich = Common(data, device, amp, channels_last, rich=True)
    rich = replace(config, **RICH, crop=0, flip=False)
    loops = {"a": lambda: ours(spec, data, config), "b": lambda: minimal(spec, config),
             "c": lambda: common(spec, config), "d": lambda: ours(spec, data, rich),
             "e": lambda: common_rich(spec, config)}
    for run in loops.values():  # warm-up: allocator, kernels, worker imports
        run()
    times: dict[str, list[float]] = {k: [] for k in loops}
    for _ in range(args.repeats):
        for key, run in loops.items():
            times[key].append(_timed(run, device))
    n = len(data.train)
    rate = {k: n / min(v) for k, v in times.items()}
    names = {"a": "ours (training.train)", "b": "minimal hand-written loop", "c": "torchvision-style DataLoader",
             "d": "ours, rich augmentation", "e": "DataLoader, rich augmentation"}
    for key in loops:
        print(f"({key}) {names[key]:<30} {rate[key]:9,.0f} images/s  (best {min(times[key]):.3f} s, "
              f"median {statistics.median(times[key]):.3f} s)")
    ab, ac = rate["a"] / rate["b"], rate["a"] / rate["c"]
    print(f"a/b = {ab:.2f}  (target >= 0.90: {'met' if ab >= 0.9 else 'MISSED'})")
    print(f"a/c = {ac:.2f}  (target >= 1.50: {'met' if ac >= 1.5 else 'MISSED'})")
    de = rate["d"] / rate["e"]
    print(f"d/e = {de:.2f}  (target >= 1.50: {'met' if de >= 1.5 else 'MISSED'}; rich: "
          f"{', '.join(f'{k} {v:g}' for k, v in RICH.items())})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
