"""Commands ``train`` and ``filters``. Only argparse and the standard library load at import time."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from arch.cli import SPEC_HELP
from arch.dims import dims
from training.source import kinds_help

DATA_HELP = (f"dataset string KIND:WHERE?OPTIONS, kinds {kinds_help()} (e.g. synthetic:shapes?n=5000&size=32; "
             "torchvision roots take download=1); options val=FRACTION|test, seed=N, mean=..&std=..")


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {value})")
    return value


def _config(args: argparse.Namespace) -> Any:
    from arch.options import given, options_of
    from training.config import TrainConfig

    return TrainConfig(**given(args, options_of(TrainConfig))).check()


def _default_out(name: str) -> Path:
    from training.runs import DEFAULT_ROOT

    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "run"
    return DEFAULT_ROOT / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


class _Progress:
    """One live line on a terminal (rewritten in place); one line per epoch when stderr is not a terminal."""

    def __init__(self, stream: Any, quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet
        self.live = stream.isatty() and not quiet
        self.epochs = 0

    def __call__(self, rec: Any) -> None:
        if self.quiet:
            return
        if rec.kind == "start":
            self.epochs = rec.epochs
            shape = dims(rec.input_shape)
            amp = f", amp {rec.amp}" if rec.amp else ""
            print(f"training {rec.params:,} parameters on {rec.device}{amp}: {rec.train_size} train / "
                  f"{rec.val_size} val images {shape}, {len(rec.classes)} classes", file=self.stream)
            for note in rec.adapted:
                print(f"  adapted: {note}", file=self.stream)
            for line in rec.setup_lines():
                print(f"  {line}", file=self.stream)
        elif rec.kind == "step" and self.live:
            width = 24
            filled = round(rec.progress * width)
            eta = f" ETA {rec.eta:.0f}s" if rec.eta is not None else ""
            line = (f"epoch {rec.epoch}/{self.epochs} [{'#' * filled}{'.' * (width - filled)}] "
                    f"{rec.progress * 100:3.0f}%  loss {rec.loss:.4f}  acc {rec.acc * 100:5.1f}%  "
                    f"{rec.images_per_s:,.0f} img/s{eta}")
            self.stream.write("\r" + line.ljust(100))
            self.stream.flush()
        elif rec.kind == "epoch":
            if self.live:
                self.stream.write("\r" + " " * 100 + "\r")
            cut = "" if rec.complete else " (cut short by the time budget)"
            print(f"epoch {rec.epoch}/{self.epochs}{cut}: loss {rec.train_loss:.4f}  acc {rec.train_acc * 100:.2f}%  "
                  f"val loss {rec.val_loss:.4f}  val acc {rec.val_acc * 100:.2f}%  {rec.images_per_s:,.0f} img/s"
                  f"{'  *best' if rec.is_best else ''}", file=self.stream)
        elif rec.kind == "done" and self.live:
            self.stream.write("\r" + " " * 100 + "\r")


def _write_pictures(run_dir: Path, model: Any, epochs: list[dict]) -> list[str]:
    """curves.png and filters.png (first conv layer) in the run directory; the names written."""
    from training.images import curves, save_png, to_image
    from training.visualize import conv_layers, filter_grid

    save_png(run_dir / "curves.png", curves(epochs))
    written = ["curves.png"]
    if conv_layers(model):
        save_png(run_dir / "filters.png", to_image(filter_grid(model).image))
        written.append("filters.png")
    return written


def _train(args: argparse.Namespace) -> int:
    from arch.cli import load_source
    from arch.errors import ConvSmithError
    from training.data import load_data
    from training.device import pick_device
    from training.loop import train
    from training.runs import load_history

    config = _config(args)
    spec = load_source(args.spec)
    device = pick_device(config.device)
    data = load_data(args.data, device, spec.input)
    if args.preview_augment:
        return _preview(args.preview_augment, data, config)
    out = Path(args.out) if args.out else _default_out(spec.name)
    cancel = threading.Event()
    progress = _Progress(sys.stderr, args.quiet)

    def on_interrupt(_sig: int, _frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        done = None
        for rec in train(spec, data, config, run_dir=out, cancel=cancel, init_from=args.init_from):
            progress(rec)
            done = rec
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done is not None and done.kind == "done"
    history = load_history(out)
    pictures = _write_pictures(out, done.model, history.epochs)
    summary = {**done.to_dict(), "data": data.describe(), "history_csv": str(out / "history.csv"),
               "checkpoints": history.run.get("checkpoints", {}), "pictures": pictures}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        best = f"{done.best_val_acc * 100:.2f}% (epoch {done.best_epoch})" if done.best_val_acc is not None else "-"
        final = f"{done.final_val_acc * 100:.2f}%" if done.final_val_acc is not None else "-"
        print(f"{done.status}: {done.epochs} epochs, {done.steps} steps in {done.elapsed:.1f} s; "
              f"final val acc {final}, best {best}")
        print(f"run directory: {out} (history.csv, {', '.join(pictures)}, "
              f"{', '.join(summary['checkpoints'].values()) or 'no checkpoint'})")
    if done.status == "cancelled":
        print("training cancelled; the run directory holds everything up to the stop", file=sys.stderr)
        return 130
    if not done.ok:
        raise ConvSmithError(f"training stopped: {done.status}: {done.message}")
    return 0


def _preview(path: str, data: Any, config: Any) -> int:
    """Write the augmentation preview (rows: images; columns: the original, then augmented versions)."""
    from training.augment_preview import preview_grid
    from training.images import save_png, to_image

    save_png(path, to_image(preview_grid(data, config), min_side=512))
    print(f"augmentation preview: {path}")
    return 0


def _filters(args: argparse.Namespace) -> int:
    import torch

    from training.augment import Normalizer
    from training.checkpoint import load_checkpoint
    from training.data import load_data
    from training.errors import ConfigError
    from training.images import save_png, to_image
    from training.runs import load_history
    from training.snapshot import snapshot
    from training.visualize import conv_layers

    ckpt = load_checkpoint(args.run_dir, args.checkpoint)
    model = ckpt.build()
    layer = args.layer or next(iter(conv_layers(model)), None)
    if layer is None:
        raise ConfigError("the model has no conv layer; give --layer NAME")
    out = Path(args.out) if args.out else ckpt.path.parent
    source = args.data
    if source is None and Path(args.run_dir).is_dir():
        source = load_history(args.run_dir).config.get("data", {}).get("source")
    if args.erf and not source:
        raise ConfigError("--erf needs images: give --data DATASET")
    xs = None
    if source:
        shape = tuple(ckpt.meta.get("input_shape") or ckpt.spec.input)  # type: ignore[union-attr]
        data = load_data(source, "cpu", shape)
        if not 0 <= args.index < len(data.val):
            raise ConfigError(f"--index {args.index}: the validation split has {len(data.val)} images")
        normalize = Normalizer(tuple(ckpt.meta.get("mean", data.mean)), tuple(ckpt.meta.get("std", data.std)),
                               torch.device("cpu"))
        need = max(args.index + 1, args.erf_images)
        parts = []
        for x, _ in data.batches("val", 256, normalize):
            parts.append(x)
            if sum(len(p) for p in parts) >= need:
                break
        xs = torch.cat(parts)
    snap = snapshot(model, layer, xs, args.index, erf_images=args.erf_images if args.erf else 0)
    if snap.filters is None or (args.erf and snap.erf is None):
        raise ConfigError("; ".join(snap.problems) or f"layer {layer!r} is not a convolution; conv layers: "
                          f"{', '.join(conv_layers(model))}")
    safe = layer.replace(".", "_")
    written: dict[str, Any] = {"layer": layer}
    for key, image in (("filters", snap.filters.image), ("features", snap.features), ("erf", snap.erf_rgb)):
        if image is not None:
            save_png(out / f"{key}-{safe}.png", to_image(image))
            written[key] = str(out / f"{key}-{safe}.png")
    if snap.erf is not None:
        written["erf_centroid"] = list(snap.erf.centroid)
    if args.json:
        print(json.dumps(written, indent=2))
    else:
        for key, value in written.items():
            if key not in ("layer", "erf_centroid"):
                print(f"{key}: {value}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from arch.options import add_flags, options_of
    from training.config import TrainConfig  # dataclasses only: --help stays instant

    p = sub.add_parser("train", help="train a spec on a dataset",
                       description="Train a network on a dataset with a live progress line; writes a run directory "
                                   "(spec, config, history CSV/JSON, curves.png, filters.png, final and best "
                                   "checkpoints). Ctrl-C stops after the current step and keeps everything.")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--data", required=True, metavar="DATASET", help=DATA_HELP)
    add_flags(p, options_of(TrainConfig))  # one flag per training option (arch/train_options.py)
    p.add_argument("--init-from", metavar="RUN|CKPT", help="start from the weights of a run directory or checkpoint")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory to create (default runs/NAME-TIMESTAMP)")
    p.add_argument("--preview-augment", metavar="PNG", help="write the same training images augmented several "
                   "times (first column: as they are) to this PNG and exit without training")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=_train)

    p = sub.add_parser("filters", help="write filter, feature-map and effective-RF images of a trained run",
                       description="Write PNGs of a conv layer from a checkpoint: its filters, the feature maps of a "
                                   "validation image (from the run's dataset or --data) and, with --erf, the "
                                   "effective receptive field of its central unit.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (or a checkpoint file)")
    p.add_argument("--layer", metavar="NAME", help="conv layer, e.g. body.0.conv (default: the first)")
    p.add_argument("--checkpoint", choices=("final", "best"), default="final", help="which checkpoint (default final)")
    p.add_argument("--data", metavar="DATASET", help="dataset for input images (default: the run's)")
    p.add_argument("--index", type=int, default=0, metavar="N", help="validation image for feature maps (default 0)")
    p.add_argument("--erf", action="store_true", help="also write the effective receptive field")
    p.add_argument("--erf-images", type=_positive, default=32, metavar="N",
                   help="images averaged for --erf (default 32)")
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: the run directory)")
    p.add_argument("--json", action="store_true", help="print the written files as JSON")
    p.set_defaults(run=_filters)
