"""Designer responsiveness: one inspector-style edit of a 100-block network, from the edit to every view
updated and repainted, against the analysis alone (the baseline), interleaved in the same run.

Target: analysis + redraw under one frame (16.7 ms at 60 Hz). Two 100-block networks: "mixed" uses every
multi-path family (about 780 primitive layers), "plain" single-path layers (about 250). Offscreen when
there is no display, so painting is Qt's software rasteriser.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

FRAME_MS = 1000 / 60
EDITS = 30


def network(kind: str):
    """100 top-level blocks with valid shapes on a 3x64x64 input."""
    from arch.spec import BlockSpec, Spec

    if kind == "mixed":
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


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(app, window, kind: str) -> None:
    from analysis import analyze
    from arch.paths import get_value
    from gui import edits

    spec = network(kind)
    window.open_spec(spec)
    target = next(f"body[{i}]" for i in range(50, 100) if spec.body[i].block in ("conv", "inverted_residual"))
    window.hub.select(target)
    app.processEvents()
    rep = analyze(spec)
    print(f"\n[{kind}] {len(spec.body)} blocks, {len(rep.layers)} layers, {rep.totals.params:,} params; "
          f"edit: {target}.kernel 3 <-> 5")

    def edit() -> None:
        value = 5 if get_value(window.document.spec, f"{target}.kernel") == 3 else 3
        assert window.hub.apply(edits.set_field, f"{target}.kernel", value) is None

    edit()
    app.processEvents()
    analysis, updated, painted, full = [], [], [], []
    for _ in range(EDITS):  # interleaved, so load from other processes hits both alike
        t0 = time.perf_counter()
        analyze(window.document.spec)
        t1 = time.perf_counter()
        edit()
        t2 = time.perf_counter()
        app.processEvents()  # Qt paints what the edit made dirty
        t3 = time.perf_counter()
        analysis.append(t1 - t0)
        updated.append(t2 - t1)
        painted.append(t3 - t1)
    for _ in range(10):
        edit()
        t0 = time.perf_counter()
        window.repaint()
        full.append(time.perf_counter() - t0)
    base, done = median_ms(analysis), median_ms(painted)
    print(f"  baseline analysis only (analyze)               median {base:6.2f} ms")
    print(f"  edit -> evaluation + every view updated        median {median_ms(updated):6.2f} ms")
    print(f"  edit -> views updated and dirty areas painted  median {done:6.2f} ms "
          f"(p90 {sorted(painted)[int(0.9 * len(painted))] * 1000:.2f} ms)")
    print(f"  ratio (analysis + redraw) / analysis           {done / base:6.2f}x")
    print(f"  views and painting alone (the GUI's share)     median {done - base:6.2f} ms")
    print(f"  whole-window repaint, for scale                median {median_ms(full):6.2f} ms")
    print(f"  one frame is {FRAME_MS:.1f} ms: {'within' if done <= FRAME_MS else 'OVER'} budget")


def main() -> None:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="convsmith-bench-"))
    window = MainWindow(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat), folder / "recovery")
    window.resize(1600, 1000)
    window.show()
    for kind in ("mixed", "plain"):
        measure(app, window, kind)
    for doc in list(window.workspace.documents):
        window.close_document(doc)
    window.close()


if __name__ == "__main__":
    main()
