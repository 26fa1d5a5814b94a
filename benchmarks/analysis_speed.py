"""Speed of the analysis engine, against fvcore measured in the same run.

Prints the median time of our full analysis (expansion, shapes, params, MACs/FLOPs, memory, receptive
fields, per-block rollups, lints) of the ResNet-50 template at 3x224x224; the median time of fvcore's
``FlopCountAnalysis(model, x).total()`` on the built model; their ratio; and the time of the torch.fx
import path for torchvision's resnet50 (trace, shape propagation, IR) and of analysing its graph.
Targets: ours <= 5 ms and >= 20x faster than fvcore. Wall-clock medians are what the targets mean; CPU
times are printed beside them because on a shared machine the wall clock also counts waiting.

Analysis caches block expansions and per-block figures, so three figures are printed: the first
analysis of the network (every cache cleared before each run: what the targets are judged on), an
analysis after a one-block edit (what the designer does on every edit; each run a state never seen
before), and the same spec analysed again (all from the caches).

    python -m benchmarks.analysis_speed [--repeats N]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
import warnings
from collections.abc import Callable

TARGET_MS = 5.0
TARGET_RATIO = 20.0


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``fn``."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(wall), statistics.median(cpu)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300, help="runs of our analysis (default 300)")
    parser.add_argument("--baseline-repeats", type=int, default=5, help="runs of fvcore and fx import (default 5)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit deprecation notices from fvcore

    import torch
    import torchvision
    from fvcore.nn import FlopCountAnalysis

    from analysis import analyze
    from arch.builder import build
    from arch.expand import clear_cache
    from arch.fx_import import import_module
    from arch.paths import with_value
    from arch.templates import load_template

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {load:.2f}")

    spec = load_template("resnet50")
    report = analyze(spec)
    cold, cold_cpu = timed(lambda: (clear_cache(), analyze(spec)), args.repeats // 3, warmup=5)
    print(f"ours:   analyze(template:resnet50, 3x224x224)   median {cold * 1e3:8.3f} ms  (CPU {cold_cpu * 1e3:.3f} ms, "
          f"{args.repeats // 3} runs, caches cleared; {len(report.layers)} layers, {report.totals.macs:,} MACs, "
          f"{len(report.lints)} lints)")
    variants = [with_value(spec, "body[4].unit.out", 64 + 8 * k) for k in range(args.repeats + 20)]
    edit, edit_cpu = timed(lambda: analyze(variants.pop()), args.repeats, warmup=20)
    print(f"        after a one-block edit (new state)      median {edit * 1e3:8.3f} ms  (CPU {edit_cpu * 1e3:.3f} ms)")
    again, again_cpu = timed(lambda: analyze(spec), args.repeats, warmup=20)
    print(f"        the same spec again (all cached)        median {again * 1e3:8.3f} ms  "
          f"(CPU {again_cpu * 1e3:.3f} ms)")

    model = build(spec).eval()
    x = torch.zeros(1, *spec.input)
    fv_total = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total()
    with torch.no_grad():
        fv, fv_cpu = timed(lambda: FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total(),
                           args.baseline_repeats)
    print(f"fvcore: FlopCountAnalysis(model, x).total()     median {fv * 1e3:8.1f} ms  (CPU {fv_cpu * 1e3:.1f} ms, "
          f"{args.baseline_repeats} runs; total {fv_total:,})")
    ratio = fv / cold
    print(f"ratio:  fvcore / ours = {ratio:.0f}x (first analysis); {fv / edit:.0f}x (after an edit)")
    print(f"target (first analysis): ours <= {TARGET_MS} ms: {verdict(cold * 1e3 <= TARGET_MS)}; "
          f">= {TARGET_RATIO:.0f}x faster than fvcore: {verdict(ratio >= TARGET_RATIO)}")

    tv = torchvision.models.resnet50(weights=None)
    fx, fx_cpu = timed(lambda: import_module(tv, (3, 224, 224), "resnet50"), args.baseline_repeats)
    graph = import_module(tv, (3, 224, 224), "resnet50")
    fx_an, _ = timed(lambda: analyze(graph), 50, warmup=5)
    print(f"fx:     import_module(torchvision resnet50)     median {fx * 1e3:8.1f} ms  (CPU {fx_cpu * 1e3:.1f} ms, "
          f"{args.baseline_repeats} runs; {len(graph.nodes)} nodes, {len(graph.unknown_ops)} unknown ops); "
          f"analysing that graph: median {fx_an * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
