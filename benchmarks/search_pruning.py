"""Pruning pays: the same seeded search with and without a pruner, on the shared MNIST 8k/2k split.

The sampler is random (seeded): it ignores the results, so both runs draw exactly the same candidates and
the difference is the pruner's alone (a model-based sampler would steer each run to different networks,
whose training costs differ by several times). Training uses the cosine schedule without warm-up, so the
accuracy after an epoch already says something about the end (a one-cycle warm-up blurs it).

Prints, for each run, the trials by state, the epochs trained, the total training time (sum over trials of
the time spent training and evaluating), the wall time and the best validation accuracy; then the ratios
of training times and of epochs, and the accuracy difference. Target: >= 2x less training time, best
accuracy within 0.5 points. On a shared machine the seconds vary with other load; the epoch ratio does not.

24 trials by default: a pruner judges each trial against those before it, so with a dozen trials one slow
starter that would have ended best can be cut early (replaying 36 recorded MNIST curves of this space in 300
random orders, successive halving met both targets in 73 % of the orders at 12 trials, 94 % at 24, 99 % at 36).

    python -m benchmarks.search_pruning [--pruner halving] [--sampler random] [--trials 24] [--epochs 6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "datasets" / "mnist-test"
# Small BN CNNs (0.3-5 M MACs) with a wide learning-rate range: some candidates are clearly worse early on,
# which is what a pruner can exploit; every epoch of a good one costs a few seconds on 2 cores.
SPACE = {
    "format": "convsmith/1", "name": "pruning benchmark", "input": [1, 28, 28], "num_classes": 10,
    "body": [
        {"block": "conv", "out": 16, "kernel": 3, "stride": 2},
        {"block": "conv", "out": 32, "kernel": 3},
        {"block": "pool", "mode": "max", "kernel": 2},
        {"block": "conv", "out": 64, "kernel": 3},
        {"block": "global_pool"}, {"block": "flatten"}, {"block": "classifier"},
    ],
    "search": {
        "body[0].out": {"choices": [8, 16, 24]},
        "body[1]": {"blocks": [{"block": "conv", "out": 32, "search": {"kernel": {"choices": [3, 5]}}},
                               {"block": "residual", "out": 32},
                               {"block": "inverted_residual", "out": 32, "expand": 2.0}]},
        "body[3].out": {"choices": [32, 64, 96]},
        "train.lr": {"float": [2e-4, 2e-2], "log": True},
    },
}


def run(pruner: str, sampler: str, trials: int, epochs: int, workers: int,
        root: Path) -> tuple[dict[str, int], int, float, float, float]:
    """One study through the CLI, in its own process (as a person runs it), then read back from storage."""
    from search import open_study

    spec = root / "space.json"
    spec.write_text(json.dumps(SPACE))
    cmd = [sys.executable, str(ROOT / "main.py"), "search", str(spec), "--data", f"idx:{MNIST}", "--study",
           f"bench-{pruner}", "--trials", str(trials), "--epochs", str(epochs), "--pruner", pruner, "--sampler",
           sampler, "--workers", str(workers), "--root", str(root), "--seed", "0", "--keep-best", "0",
           "--train", "batch_size=128", "--train", "schedule=cosine"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    view = open_study(f"bench-{pruner}", root=root)
    states: dict[str, int] = {}
    for r in view.records:
        states[r.state] = states.get(r.state, 0) + 1
    epochs_trained = sum(len(r.curve) for r in view.records)
    training = sum(r.train_seconds or 0.0 for r in view.records)
    best = max((r.accuracy for r in view.records if r.state == "complete"), default=0.0)
    for reason in sorted({r.reason for r in view.records if r.state == "failed"}):
        print(f"    failed: {reason}", flush=True)
    return states, epochs_trained, training, wall, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pruner", default="halving", choices=("median", "hyperband", "halving"),
                        help="the pruner compared with none")
    parser.add_argument("--sampler", default="random", choices=("random", "tpe"), help="random: same candidates")
    parser.add_argument("--trials", type=int, default=24, help="trials per study")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per trial")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"MNIST test set not found at {MNIST}")
    print(f"search_pruning: MNIST 8k/2k, {args.trials} trials x {args.epochs} epochs, {args.sampler} sampler seed 0, "
          f"{args.workers} worker(s)", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("none", args.pruner):
            states, epochs, training, wall, best = run(pruner, args.sampler, args.trials, args.epochs, args.workers,
                                                       Path(tmp))
            rows.append((epochs, training, best))
            print(f"  {pruner:<9} {', '.join(f'{n} {s}' for s, n in states.items()):<26} {epochs:4d} epochs  "
                  f"training {training:7.1f} s  wall {wall:7.1f} s  best {100 * best:6.2f} %", flush=True)
    (e_none, t_none, a_none), (e_pruned, t_pruned, a_pruned) = rows
    ratio = t_none / t_pruned if t_pruned else float("inf")
    diff = round(100 * (a_none - a_pruned), 2)  # accuracies are multiples of 1/2000: no float noise
    met = ratio >= 2.0 and diff <= 0.5
    epochs = e_none / max(e_pruned, 1)
    print(f"training time without / with pruning: {ratio:.2f}x (target >= 2x; epochs {epochs:.2f}x); "
          f"best accuracy difference {diff:+.2f} points (target <= 0.5): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
