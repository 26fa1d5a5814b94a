"""Command ``inspect``: what a trained run learned (``training.interpret``). Only argparse at import time."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from training.cli import DATA_HELP, _positive


class _Bar:
    """A progress line with ETA on a terminal; silent otherwise."""

    def __init__(self, title: str) -> None:
        import time

        self.title, self.t0, self.live = title, time.perf_counter(), sys.stderr.isatty()

    def __call__(self, fraction: float) -> None:
        import time

        if not self.live:
            return
        spent = time.perf_counter() - self.t0
        eta = f" ETA {spent * (1 - fraction) / fraction:.0f}s" if fraction > 0 else ""
        sys.stderr.write(f"\r{self.title} {fraction * 100:3.0f}%{eta}".ljust(60))
        sys.stderr.flush()

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\r" + " " * 60 + "\r")


def _inspect(args: argparse.Namespace) -> int:
    from training.data import load_data
    from training.images import save_png
    from training.interpret.methods import run, save
    from training.interpret.subject import load_subject
    from training.interpret.table import Request

    data = load_data(args.data, "cpu") if args.data else None
    subject = load_subject(args.run_dir, args.checkpoint, data)
    req = Request(args.method, args.layer, args.channel, args.target, args.predicted,
                  args.index if args.index is not None else 0, args.image, args.k, args.steps, args.size, args.stride)
    bar = _Bar(args.method)
    try:
        result = run(subject, req, progress=bar)
    finally:
        bar.close()
    written = []
    if args.out:
        save_png(args.out, result.picture)
        written.append(str(args.out))
    if Path(args.run_dir).is_dir():
        written.append(str(save(result, args.run_dir)))
    summary: dict[str, Any] = {**result.to_dict(), "written": written}
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
    else:
        brief = {k: v for k, v in summary.items() if k not in ("request", "grid", "coarse", "probs", "confusion",
                                                               "indices", "patches", "written")}
        print(f"{result.method} in {result.seconds:.2f} s: " + ", ".join(f"{k} {v}" for k, v in brief.items()
                                                                          if k not in ("method", "seconds")))
        for path in written:
            print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from training.interpret.table import METHODS  # plain dataclasses: --help stays instant

    lines = "\n".join(f"  {m.name:<13} {m.help}" for m in METHODS.values())
    p = sub.add_parser("inspect", help="see what a trained run learned (top-k patches, deconvnet, Grad-CAM, ...)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Compute one interpretation method on a run's best checkpoint and its dataset's "
                                   "validation images; writes a PNG (-o) and keeps it, with its numbers, in the "
                                   "run folder's inspect/.\n\nmethods:\n" + lines)
    p.add_argument("run_dir", metavar="RUN", help="a run directory (or a checkpoint file)")
    p.add_argument("--method", required=True, choices=list(METHODS), help="what to compute")
    p.add_argument("--layer", metavar="PATH", help="a spatial layer, e.g. body.3.conv (default: the last spatial "
                                                    "layer)")
    p.add_argument("--channel", type=int, default=0, metavar="N", help="channel of the layer (default 0)")
    p.add_argument("--class", dest="target", type=int, metavar="N",
                   help="class (gradcam: default the predicted one; occlusion: the label; maximize: maximise this "
                        "class instead of the channel; misclassified: the true class)")
    p.add_argument("--predicted", type=int, metavar="N", help="misclassified: the predicted class")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--image", metavar="FILE", help="an image file instead of a validation image")
    which.add_argument("--index", type=int, metavar="N", help="validation image (default 0)")
    p.add_argument("--k", type=_positive, default=9, metavar="N",
                   help="patches (topk); misclassified shows 4k images (default 9)")
    p.add_argument("--steps", type=_positive, default=128, metavar="N",
                   help="maximize: optimisation steps (default 128)")
    p.add_argument("--size", type=_positive, metavar="PX", help="occlusion patch side (default: a sixth of the image)")
    p.add_argument("--stride", type=_positive, metavar="PX",
                   help="occlusion stride (default: half the patch or more, about 8 positions a side)")
    p.add_argument("--checkpoint", choices=("best", "final"), default="best", help="which weights (default best)")
    p.add_argument("--data", metavar="DATASET", help=f"images from this dataset instead of the run's ({DATA_HELP})")
    p.add_argument("-o", "--out", metavar="PNG", help="write the picture here too")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(run=_inspect)
