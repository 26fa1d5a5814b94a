"""Cost of recording weight and gradient histograms during training (``TrainConfig.histograms``): the
same LeNet-5 run on MNIST's 8k/2k split with the recording on and off, one epoch each, into a run directory
(checkpoints are written either way), interleaved ``REPEATS`` times; the best time of each counts (a shared
machine only makes a run slower). Also timed directly: one ``record`` + ``save`` against the epoch.

Target: on / off <= 1.05 (at most 5 % of epoch time). Data: ``../shared/datasets/mnist-test`` (synthetic
shapes at 1x28x28 when it is absent).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from arch.templates import load_template
from training.config import TrainConfig
from training.data import load_data
from training.interpret.histograms import HistogramRecorder
from training.loop import train

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "mnist-test"
REPEATS = 3
TARGET = 1.05


def one_run(spec, data, histograms: bool, root: Path, n: int) -> float:  # noqa: ANN001
    config = TrainConfig(epochs=1, batch_size=128, histograms=histograms, device="cpu")
    t = time.perf_counter()
    for rec in train(spec, data, config, run_dir=root / f"run-{n}-{int(histograms)}"):
        if rec.kind == "done" and rec.status != "completed":
            raise RuntimeError(f"run ended {rec.status}: {rec.message}")
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    source = f"idx:{MNIST}?val=0.2" if MNIST.is_dir() else "synthetic:shapes?n=10000&size=28&channels=1&classes=10"
    spec = load_template("lenet5")
    data = load_data(source, "cpu", tuple(spec.input))
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one_run(spec, data, False, root, -1)  # warm-up
        for n in range(args.repeats):
            for on in (False, True):
                times[on].append(one_run(spec, data, on, root, n))
        # the recording alone, on a trained model with gradients, against the epoch it follows
        from arch.builder import build

        model = build(spec)
        x = torch.randn(128, *spec.input)
        torch.nn.functional.cross_entropy(model(x), torch.randint(0, 10, (128,))).backward()
        rec = HistogramRecorder(model)
        t = time.perf_counter()
        for epoch in range(10):
            rec.record(epoch)
            rec.save(root)
        direct = (time.perf_counter() - t) / 10
    off, on = min(times[False]), min(times[True])
    print(f"data: {source}; LeNet-5, 1 epoch of {len(data.train)} images + validation, batch 128, CPU "
          f"{torch.get_num_threads()} threads; best of {args.repeats}")
    print(f"  histograms off: {off:.3f} s   (all: {', '.join(f'{t:.3f}' for t in times[False])})")
    print(f"  histograms on:  {on:.3f} s   (all: {', '.join(f'{t:.3f}' for t in times[True])})")
    print(f"  ratio on/off: {on / off:.3f} (target <= {TARGET})")
    print(f"  one record + save: {direct * 1000:.2f} ms = {direct / off * 100:.2f} % of the epoch")
    return 0 if on / off <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
