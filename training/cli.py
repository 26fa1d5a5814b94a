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

DATA_HELP = ("dataset string: synthetic:shapes?n=5000&size=32&channels=3, idx:PATH, mnist:ROOT, fashionmnist:ROOT, "
             "kmnist:ROOT, cifar10:ROOT, cifar100:ROOT, svhn:ROOT (download=1 to download), folder:PATH; "
             "options val=FRACTION|test, seed=N, mean=..&std=..")


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
    from training.config import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch, optimizer=args.optimizer, lr=args.lr,
                       momentum=args.momentum, nesterov=args.nesterov, weight_decay=args.weight_decay,
                       schedule=args.schedule, warmup=args.warmup, label_smoothing=args.label_smoothing,
                       grad_clip=args.grad_clip, time_budget=args.time_budget, seed=args.seed,
                       deterministic=args.deterministic, device=args.device, threads=args.threads,
                       amp=False if args.no_amp else None, channels_last=False if args.no_channels_last else None,
                       crop=args.crop, flip=args.flip).check()


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
            shape = "x".join(map(str, rec.input_shape))
            amp = f", amp {rec.amp}" if rec.amp else ""
            print(f"training {rec.params:,} parameters on {rec.device}{amp}: {rec.train_size} train / "
                  f"{rec.val_size} val images {shape}, {len(rec.classes)} classes", file=self.stream)
            for note in rec.adapted:
                print(f"  adapted: {note}", file=self.stream)
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


def _filters(args: argparse.Namespace) -> int:
    import torch

    from training.augment import Normalizer
    from training.checkpoint import load_checkpoint
    from training.data import load_data
    from training.errors import ConfigError
    from training.images import hot, save_png, to_image
    from training.runs import load_history
    from training.visualize import conv_layers, effective_rf, feature_grid, feature_maps, filter_grid

    ckpt = load_checkpoint(args.run_dir, args.checkpoint)
    model = ckpt.build()
    layer = args.layer or next(iter(conv_layers(model)), None)
    if layer is None:
        raise ConfigError("the model has no conv layer; give --layer NAME")
    out = Path(args.out) if args.out else ckpt.path.parent
    safe = layer.replace(".", "_")
    written: dict[str, Any] = {"layer": layer}
    grid = filter_grid(model, layer)
    save_png(out / f"filters-{safe}.png", to_image(grid.image))
    written["filters"] = str(out / f"filters-{safe}.png")
    source = args.data
    if source is None and Path(args.run_dir).is_dir():
        source = load_history(args.run_dir).config.get("data", {}).get("source")
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
        maps = feature_maps(model, layer, xs[args.index])
        if maps.ndim == 3:
            save_png(out / f"features-{safe}.png", to_image(feature_grid(maps)))
            written["features"] = str(out / f"features-{safe}.png")
        if args.erf:
            erf = effective_rf(model, layer, xs[:args.erf_images])
            save_png(out / f"erf-{safe}.png", to_image(hot(erf.map)))
            written["erf"] = str(out / f"erf-{safe}.png")
            written["erf_centroid"] = list(erf.centroid)
    elif args.erf:
        raise ConfigError("--erf needs images: give --data DATASET")
    if args.json:
        print(json.dumps(written, indent=2))
    else:
        for key, value in written.items():
            if key not in ("layer", "erf_centroid"):
                print(f"{key}: {value}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from training.config import OPTIMIZERS, SCHEDULES, TrainConfig  # dataclasses only: --help stays instant

    d = TrainConfig()
    p = sub.add_parser("train", help="train a spec on a dataset",
                       description="Train a network on a dataset with a live progress line; writes a run directory "
                                   "(spec, config, history CSV/JSON, curves.png, filters.png, final and best "
                                   "checkpoints). Ctrl-C stops after the current step and keeps everything.")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--data", required=True, metavar="DATASET", help=DATA_HELP)
    p.add_argument("--epochs", type=_positive, default=d.epochs, metavar="N",
                   help=f"epochs to train (default {d.epochs})")
    p.add_argument("--batch", type=_positive, default=d.batch_size, metavar="N",
                   help=f"batch size (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, metavar="X", help=f"peak learning rate (default {d.lr:g})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"optimizer (default {d.optimizer})")
    p.add_argument("--momentum", type=float, default=d.momentum, metavar="X",
                   help=f"SGD momentum (default {d.momentum:g})")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, metavar="X",
                   help=f"weight decay on weights, not biases or norms (default {d.weight_decay:g})")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                   help=f"learning-rate schedule (default {d.schedule})")
    p.add_argument("--warmup", type=float, metavar="F",
                   help="fraction of training rising to --lr (default 0.25 for onecycle, 0 otherwise)")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing, metavar="X",
                   help=f"label smoothing (default {d.label_smoothing:g})")
    p.add_argument("--grad-clip", type=float, metavar="X", help="clip the global gradient norm to X")
    p.add_argument("--time-budget", type=float, metavar="S", help="stop training after S seconds, then evaluate")
    p.add_argument("--seed", type=int, default=d.seed,
                   help=f"seed of weights, shuffling and augmentation (default {d.seed})")
    p.add_argument("--deterministic", action="store_true", help="use deterministic kernels only (slower on CUDA)")
    p.add_argument("--device", default=d.device, help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=_positive, metavar="N", help="CPU threads (default: torch's)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA (default: bf16/fp16 on)")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format on CUDA")
    p.add_argument("--crop", type=int, metavar="PX",
                   help="random-crop padding in pixels (default: 1/8 of the side for natural images, 0 for digits)")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="random horizontal flips (default: on for natural images, off for digits)")
    p.add_argument("--init-from", metavar="RUN|CKPT", help="start from the weights of a run directory or checkpoint")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory to create (default runs/NAME-TIMESTAMP)")
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
