"""Lint fix validation is linear in the number of lints (issue 12, item 4).

Every offered fix is validated by re-expanding only the blocks it edits (``Expansion.variant_problems``),
so a 3,000-block network where every block has a lint with a fix costs about what the same network
without lints costs, plus a constant per fix. Prints the median wall-clock and CPU time of a full
analysis (every cache cleared) of N plain conv blocks with 4 channels (each gets the
channels-not-multiple-of-8 lint and a validated fix) and of the same network with 8 channels (no lint),
at N = 1,000 and 3,000, so the growth is visible. Target: 3,000 blocks with lints under 1 s.

    python -m benchmarks.lint_fix_speed [--repeats N]
"""

from __future__ import annotations

import argparse
import os

from benchmarks.analysis_speed import timed, verdict

TARGET_S = 1.0


def network(blocks: int, width: int) -> object:
    from arch.spec import parse_spec

    body = [{"block": "conv", "out": width, "kernel": 3, "padding": 1} for _ in range(blocks)]
    return parse_spec({"format": "convsmith/2", "name": f"plain{blocks}", "input": [1, 28, 28], "num_classes": 10,
                       "body": body + [{"block": "flatten"}, {"block": "classifier"}]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each analysis (default 3)")
    args = parser.parse_args(argv)

    from analysis import analyze
    from arch.expand import clear_cache

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f}")
    results = {}
    for blocks in (1000, 3000):
        for width, what in ((8, "no lints"), (4, "a lint + fix per block")):
            spec = network(blocks, width)
            lints = len(analyze(spec).lints)
            wall, cpu = timed(lambda spec=spec: (clear_cache(), analyze(spec)), args.repeats)
            results[blocks, width] = wall, cpu
            print(f"{blocks:5d} blocks, {what:24s} ({lints:5d} lints)  median {wall:6.3f} s  (CPU {cpu:.3f} s)")
    for width in (8, 4):
        small, large = results[1000, width][1], results[3000, width][1]
        print(f"growth 1,000 -> 3,000 blocks ({'lints' if width == 4 else 'no lints'}): CPU x{large / small:.1f} "
              "(linear: about x3)")
    wall, cpu = results[3000, 4]
    print(f"lints / no lints at 3,000 blocks: CPU x{cpu / results[3000, 8][1]:.1f}")
    print(f"target: 3,000 blocks with lints under {TARGET_S:.0f} s: {verdict(wall < TARGET_S)} (wall), "
          f"{verdict(cpu < TARGET_S)} (CPU)")


if __name__ == "__main__":
    main()
