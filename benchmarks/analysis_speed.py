"""Speed of the analysis engine, against fvcore measured in the same run.

Prints the median time of our full analysis (expansion, shapes, params, MACs/FLOPs, memory, receptive
fields, per-block rollups, lints) of the ResNet-50 template at 3x224x224; the median time of fvcore's
``FlopCountAnalysis(model, x).total()`` on the built model; their ratio. Then the import path on
torchvision's resnet50 (what ``analyze --torchvision resnet50`` does: fx import on meta tensors + full
analysis), with the traced graph cached per model class and with a first trace, against fvcore and
``FlopCounterMode`` on meta tensors, all three on that same network in this run.
Targets: ours <= 5 ms and >= 20x faster than fvcore; the import path (cached trace) >= 5x faster than
fvcore and faster than FlopCounterMode on meta. Wall-clock medians are what the targets mean; CPU
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
TARGET_FX_RATIO = 5.0  # fx import + analysis of torchvision resnet50 against fvcore on the same network


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
    from fvcore.nn import FlopCountAnalysis

    from analysis import analyze
    from arch.builder import build
    from arch.expand import clear_cache
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

    fx_import_speed(args.baseline_repeats)


def fx_import_speed(repeats: int) -> None:
    """The import path (``analyze --torchvision resnet50``): fx import on meta tensors + full analysis,
    against fvcore (measured above, on the same network) and FlopCounterMode on meta, all in this run."""
    import torch
    import torchvision
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    from analysis import analyze
    from arch.fx_import import import_module, torchvision_model
    from arch.fx_trace import clear_cache

    model = torchvision_model("resnet50").eval()  # weights on meta, as the CLI builds it
    real, x = torchvision.models.resnet50(weights=None).eval(), torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        fvcore_s, _ = timed(lambda: FlopCountAnalysis(real, x).unsupported_ops_warnings(False).total(), repeats)

    def counter() -> int:
        with FlopCounterMode(display=False) as c, torch.no_grad():
            model(torch.empty(1, 3, 224, 224, device="meta"))
        return c.get_total_flops()

    def ours() -> int:
        return analyze(import_module(model, (3, 224, 224), "resnet50")).totals.macs

    fc, fc_cpu = timed(counter, repeats)
    cold, cold_cpu = timed(lambda: (clear_cache(), ours()), repeats)
    warm, warm_cpu = timed(ours, repeats)
    assert ours() == counter() // 2, "the fx import and FlopCounterMode disagree"
    print(f"fvcore: FlopCountAnalysis(torchvision resnet50) median {fvcore_s * 1e3:8.1f} ms")
    print(f"FlopCounterMode on meta (resnet50 forward)      median {fc * 1e3:8.1f} ms  (CPU {fc_cpu * 1e3:.1f} ms)")
    print(f"fx:     import + full analysis, traced graph cached per class  median {warm * 1e3:8.1f} ms  "
          f"(CPU {warm_cpu * 1e3:.1f} ms)")
    print(f"        import + full analysis, first trace (cache cleared)    median {cold * 1e3:8.1f} ms  "
          f"(CPU {cold_cpu * 1e3:.1f} ms)")
    print(f"ratio:  fvcore / fx import = {fvcore_s / warm:.1f}x (cached), {fvcore_s / cold:.1f}x (first trace); "
          f"FlopCounterMode on meta / fx import = {fc / warm:.1f}x (cached), {fc / cold:.1f}x (first trace)")
    print(f"target (cached trace): >= {TARGET_FX_RATIO:.0f}x faster than fvcore: "
          f"{verdict(fvcore_s / warm >= TARGET_FX_RATIO)}; faster than FlopCounterMode on meta: {verdict(warm < fc)}")


if __name__ == "__main__":
    main()
