"""Speed of every interpretation method (``convsmith inspect``, the Inspect area), picture included, on
the CPU: LeNet-5 on MNIST's 2,000 validation images and ResNet-20 on 1,000 synthetic 3x32x32 shapes.
The weights are freshly initialised (the work does not depend on them). Each method runs ``REPEATS`` times;
the best counts (a shared machine only makes a run slower). Target: about a second or less, except the
dataset-wide ones (top-k patches, misclassified) and activation maximisation, which show progress.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from arch.builder import build
from arch.templates import load_template
from training.data import load_data
from training.interpret.methods import run
from training.interpret.subject import subject_of
from training.interpret.table import METHODS, Request

MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "mnist-test"
REPEATS = 3
CASES = (("LeNet-5", "lenet5", f"idx:{MNIST}?val=0.2" if MNIST.is_dir() else
          "synthetic:shapes?n=10000&size=28&channels=1&classes=10"),
         ("ResNet-20", "resnet20", "synthetic:shapes?n=5000&size=32&channels=3&val=0.2"))
LONG = {"topk", "misclassified", "maximize"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU, {torch.get_num_threads()} threads, load average {load:.1f} at start; best of {args.repeats}; CPU time "
          "is the process's (all threads): on a loaded machine wall time also holds the wait for a core")
    worst = 0.0
    for title, template, source in CASES:
        data = load_data(source, "cpu")
        spec = replace(load_template(template), num_classes=data.num_classes)
        torch.manual_seed(0)
        subject = subject_of(build(spec), spec, data)
        n = len(subject.validation()[1])
        layer = subject.last_spatial()
        print(f"\n{title}: {n} validation images, layer {layer}")
        for name in METHODS:
            if name == "histograms":  # reads a run folder: timed by benchmarks.histogram_cost
                continue
            best = cpu = float("inf")
            for _ in range(args.repeats):
                subject._pred = None  # the misclassified browser predicts the split once per run: time that
                t, c = time.perf_counter(), time.process_time()
                run(subject, Request(name, layer, 0, index=1))
                best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
            note = " (whole validation split / 128 steps: progress shown)" if name in LONG else ""
            print(f"  {name:<14} {best:7.3f} s wall {cpu:7.3f} s CPU{note}")
            if name not in LONG:
                worst = max(worst, best)
    print(f"\nslowest single-image method: {worst:.3f} s (target: about 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
