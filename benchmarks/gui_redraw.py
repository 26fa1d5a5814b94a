"""Designer responsiveness: one inspector-style edit of a 100-block network, from the edit to every view
updated and repainted, against the analysis alone (the baseline), interleaved in the same run.

Target: analysis + redraw under one frame (16.7 ms at 60 Hz). Three 100-block networks: "mixed" uses every
multi-path family (about 780 primitive layers), "plain" single-path layers (about 150), "nested" branch
blocks (concat paths with a residual branch nested inside, residuals, channel gates), edited inside a path.
Offscreen when there is no display, so painting is Qt's software rasteriser.

Honest about caches: analysis caches block expansions and per-block figures, so every measured edit makes
a state never analysed before (the edited block alternates a kernel change, which moves every later
receptive field, and a channel change, which reshapes the next block, to fresh values), and the baseline
analyses its own never-seen one-block variant, not the spec the window just analysed. Revisiting states
(undo / redo) is measured separately, and so is a first analysis with the caches cleared. Medians of wall
and CPU time (the CPU time shows what other processes' load does to the wall clock); p90 and the worst
edit include the occasional full garbage collection, counted beside them: it scans every object the
process holds (torch included), so it pauses for 100 ms or more. ``--freeze`` runs ``gc.freeze()`` once
start-up is over, as the application could: full collections then skip the start-up heap.

    python -m benchmarks.gui_redraw [--edits N] [--kinds mixed plain nested] [--freeze]
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FRAME_MS = 1000 / 60


def network(kind: str) -> Any:
    """100 top-level blocks with valid shapes on a 3x64x64 input."""
    from arch.spec import BlockSpec, Spec

    if kind == "nested":  # branches: an inception-like concat with a residual nested in a path, a residual, a gate
        conv = {"out": 8, "kernel": 1}
        cycle = [BlockSpec("branch", {"merge": "concat", "paths": [
                     [BlockSpec("conv", {"out": 16, "kernel": 3})],
                     [BlockSpec("conv", conv), BlockSpec("branch", {"merge": "add", "activation": "relu", "paths": [
                         [BlockSpec("conv", {"out": 8}), BlockSpec("conv", {"out": 8, "activation": "none"})], []]}),
                      BlockSpec("conv", {"out": 8})],
                     [BlockSpec("pool", {"mode": "max", "kernel": 3, "stride": 1, "padding": 1}),
                      BlockSpec("conv", conv)]]}),
                 BlockSpec("conv", {"out": 32, "kernel": 1}),
                 BlockSpec("branch", {"merge": "add", "activation": "relu", "paths": [
                     [BlockSpec("conv", {"out": 32}), BlockSpec("conv", {"out": 32, "activation": "none"})], []]}),
                 BlockSpec("branch", {"merge": "mul", "paths": [[], [BlockSpec("global_pool"), BlockSpec(
                     "conv", {"out": 32, "kernel": 1, "norm": "none", "activation": "sigmoid"})]]})]
    elif kind == "mixed":
        cycle = [BlockSpec("residual", {"out": 32}),
                 BlockSpec("inverted_residual", {"out": 32, "expand": 4.0, "se_ratio": 0.25}),
                 BlockSpec("conv", {"out": 32}), BlockSpec("se", {}), BlockSpec("separable", {"out": 32}),
                 BlockSpec("inception", {"c1": 8, "c3r": 8, "c3": 8, "c5r": 8, "c5": 8, "pool_proj": 8}),
                 BlockSpec("batchnorm", {})]
    else:
        cycle = [BlockSpec("conv", {"out": 32}), BlockSpec("conv", {"out": 32, "norm": "none"}),
                 BlockSpec("batchnorm", {}), BlockSpec("activation", {"fn": "silu"}), BlockSpec("dropout", {"p": 0.1})]
    body = [BlockSpec("conv", {"out": 32, "stride": 2})]
    while len(body) < 95:
        body.append(copy.deepcopy(cycle[len(body) % len(cycle)]))
        if len(body) in (30, 60):
            body.append(BlockSpec("pool", {"mode": "max", "kernel": 2}))
    body += [BlockSpec("conv", {"out": 64, "kernel": 1}), BlockSpec("global_pool"), BlockSpec("flatten"),
             BlockSpec("dropout", {"p": 0.2}), BlockSpec("classifier")]
    return Spec(name=f"Bench-100-{kind}", input=(3, 64, 64), num_classes=10, body=body)


KERNELS = (3, 5, 7)
KINDS = ("mixed", "plain", "nested")


def fresh_edit(spec: Any, target: str, k: int, alternative: bool = False) -> tuple[str, int]:
    """Edit k of the sequence (kernel on even k, channels on odd k): a (field, value) the document never
    had. ``alternative``: the baseline's value for the same step, never one the window gets."""
    from arch.paths import get_value

    if k % 2 == 0:
        now = get_value(spec, f"{target}.kernel")
        step = 2 if alternative else 1
        return "kernel", KERNELS[(KERNELS.index(now) + step) % len(KERNELS)]
    return "out", 40 + 16 * k + (8 if alternative else 0)


class Samples:
    """Wall and CPU seconds of one measured thing."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn: Callable[..., object], *args: Any) -> None:
        w, c = time.perf_counter(), time.process_time()
        fn(*args)
        self.cpu.append(time.process_time() - c)
        self.wall.append(time.perf_counter() - w)

    def line(self, label: str, extremes: bool = False) -> str:
        wall = sorted(self.wall)
        text = (f"  {label:<46} median {statistics.median(wall) * 1e3:6.2f} ms "
                f"(CPU {statistics.median(self.cpu) * 1e3:6.2f} ms)")
        if extremes:
            text += f", p90 {wall[int(0.9 * (len(wall) - 1))] * 1e3:.2f}, worst {wall[-1] * 1e3:.2f}"
        return text

    @property
    def median_ms(self) -> float:
        return statistics.median(self.wall) * 1000


class Collections:
    """Full (generation 2) garbage collections while it is installed: they pause everything."""

    def __init__(self) -> None:
        self.full = 0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.full += 1

    def close(self) -> None:
        gc.callbacks.remove(self._seen)


def settle(app: Any, freeze: bool, limit_s: float = 120.0) -> float:
    """Let the window's background jobs (the training tab preloads torch shortly after start-up, in a
    ``gui.jobs`` thread named ``job-<title>``) finish before measuring: they compete for the interpreter.
    Seconds waited."""
    import threading

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        app.processEvents()
        started = time.perf_counter() - t0 > 2.0  # the preload is started by a timer after start-up
        if started and not any(t.name.startswith("job-") for t in threading.enumerate()):
            break
        time.sleep(0.05)
    gc.collect()
    if freeze:
        gc.freeze()
    return time.perf_counter() - t0


def measure(app: Any, window: Any, kind: str, edits_n: int) -> None:
    from analysis import analyze
    from arch.expand import clear_cache
    from arch.paths import get_block, with_value
    from gui import edits

    spec = network(kind)
    window.open_spec(spec)
    if kind == "nested":  # a conv inside the first path of a branch: body[i].paths[0][0]
        target = next(f"body[{i}].paths[0][0]" for i in range(50, 100) if spec.body[i].block == "branch"
                      and spec.body[i].params["merge"] == "concat")
    else:
        target = next(f"body[{i}]" for i in range(50, 100) if spec.body[i].block in ("conv", "inverted_residual"))
    window.hub.select(target)
    app.processEvents()
    rep = analyze(spec)
    print(f"\n[{kind}] {len(spec.body)} blocks, {len(rep.layers)} layers, {rep.totals.params:,} params; "
          f"edits of {target} ({get_block(spec, target).block}): kernel {'/'.join(map(str, KERNELS))} "
          "and channels, every state new")

    def apply(field: str, value: int) -> None:
        assert window.hub.apply(edits.set_field, f"{target}.{field}", value) is None

    analysis, updated, paint, undo, cold, full = Samples(), Samples(), Samples(), Samples(), Samples(), Samples()
    for k in range(2):  # warm up the code paths (not the states: every later one is new)
        apply(*fresh_edit(window.document.spec, target, k))
        app.processEvents()
    collections = Collections()
    for k in range(2, edits_n + 2):  # interleaved, so load from other processes hits both alike
        current = window.document.spec
        field, value = fresh_edit(current, target, k, alternative=True)
        analysis.time(analyze, with_value(current, f"{target}.{field}", value))
        updated.time(apply, *fresh_edit(current, target, k))
        paint.time(app.processEvents)  # Qt paints what the edit made dirty
    full_collections = collections.full
    painted = Samples()  # edit -> painted: the two measured back to back, summed
    painted.wall = [a + b for a, b in zip(updated.wall, paint.wall)]
    painted.cpu = [a + b for a, b in zip(updated.cpu, paint.cpu)]
    collections.close()
    for _ in range(10):  # undo / redo: states seen before, served from the caches
        undo.time(lambda: (window.act_undo.trigger(), app.processEvents()))
        undo.time(lambda: (window.act_redo.trigger(), app.processEvents()))
    for _ in range(5):
        cold.time(lambda: (clear_cache(), analyze(window.document.spec)))
    analyze(window.document.spec)
    for k in range(10):
        apply(*fresh_edit(window.document.spec, target, k))
        app.processEvents()
        full.time(window.repaint)
    base, done = analysis.median_ms, painted.median_ms
    print(analysis.line("baseline: analyze() after a one-block edit"))
    print(updated.line("edit -> evaluation + every view updated"))
    print(painted.line("edit -> views updated and dirty areas painted", extremes=True)
          + f"; {full_collections} full GC pause(s) in {edits_n} edits")
    print(f"  {'ratio (analysis + redraw) / analysis':<46} {done / base:6.2f}x")
    print(f"  {'views and painting alone (the GUI share)':<46} median {done - base:6.2f} ms")
    print(undo.line("undo or redo (states seen before) -> painted"))
    print(cold.line("analyze() with every cache cleared (first open)"))
    print(full.line("whole-window repaint, for scale"))
    print(f"  one frame is {FRAME_MS:.1f} ms: {'within' if done <= FRAME_MS else 'OVER'} budget")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40, help="measured edits per network (default 40)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="networks to measure")
    parser.add_argument("--freeze", action="store_true",
                        help="gc.freeze() after start-up, so full garbage collections skip the start-up heap")
    args = parser.parse_args(argv)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from gui.dialogs import Dialogs
    from gui.main_window import MainWindow

    class Discard(Dialogs):
        def confirm_discard(self, parent: Any, name: str) -> str:
            return "discard"  # closing the edited benchmark documents must not wait for a click

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="convsmith-bench-"))
    window = MainWindow(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat), folder / "recovery",
                        dialogs=Discard())
    window.resize(1600, 1000)
    window.show()
    waited = settle(app, args.freeze)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} (wall times suffer when it is high); "
          f"waited {waited:.1f} s for the window's background start-up work"
          + ("; start-up heap frozen (gc.freeze)" if args.freeze else ""))
    for kind in args.kinds:
        measure(app, window, kind, args.edits)
    for doc in list(window.workspace.documents):
        window.close_document(doc)
    window.close()


if __name__ == "__main__":
    main()
