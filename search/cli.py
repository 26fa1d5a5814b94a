"""Commands ``search`` (run or resume a study) and ``study`` (inspect, report, export its best trial).

Imports only argparse and small stdlib helpers at load time, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from analysis.cli import positive_int
from arch.cli import SPEC_HELP, write_output

SEARCH_DOC = """Search architectures (and training knobs) declared in the spec's "search" section with Optuna.
Each trial samples a concrete network, is analysed, checked against the limits (infeasible candidates are
never trained), then trained on --data and scored by validation accuracy. Rerun the same command to resume.
See docs/search.md for the search section, storages, workers and several machines."""
STUDY_DOC = """Inspect a study: list its trials, write a report (best trials or Pareto front, optimisation history,
parameter importances, learning curves, comparison tables) or export the best (or a chosen) trial."""


def count_arg(text: str) -> float:
    from search.config import parse_number

    try:
        value = parse_number(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive (got {text!r})")
    return value


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (got {text!r})") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds (got {text!r})")
    return value


def objectives_arg(text: str) -> tuple[str, ...]:
    from search.config import OBJECTIVES

    names = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [n for n in names if n not in OBJECTIVES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(OBJECTIVES)} (got {text!r})")
    return names


def train_option(text: str) -> tuple[str, Any]:
    """--train KEY=VALUE: a base training option (training.TrainConfig field), VALUE read as JSON when it can be."""
    m = re.fullmatch(r"\s*([a-z_]+)\s*=\s*(.*?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as crop=2 or lr=0.003 (got {text!r})")
    try:
        value = json.loads(m.group(2))
    except json.JSONDecodeError:
        value = m.group(2)
    return m.group(1), value


def _config(args: argparse.Namespace) -> Any:
    from arch.cli import load_source
    from search.config import Limits, SearchConfig

    spec = load_source(args.spec)
    limits = Limits(int(args.max_params) if args.max_params else None, int(args.max_macs) if args.max_macs else None,
                    int(args.max_memory) if args.max_memory else None, args.max_latency, args.min_rf)
    return SearchConfig(spec=spec, data=args.data, study=args.study, trials=args.trials, timeout=args.timeout,
                        objectives=args.objectives, limits=limits, sampler=args.sampler, pruner=args.pruner,
                        workers=args.workers, storage=args.storage, root=Path(args.root), epochs=args.epochs,
                        device=args.device, seed=args.seed, keep_best=args.keep_best, train=dict(args.train),
                        heartbeat=args.heartbeat, grace=args.grace)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a search like Ctrl-C: running trials are recorded as interrupted


def _search(args: argparse.Namespace) -> int:
    import signal

    from search.progress import Progress
    from search.runner import run_search
    from search.storage import storage_url

    config = _config(args)
    signal.signal(signal.SIGTERM, _interrupt)
    progress = Progress(list(config.objectives))
    print(f"study {config.study} in {storage_url(config)}: {config.trials} trials, {config.workers} worker(s), "
          f"{'x'.join(config.objectives)}, sampler {config.sampler}, pruner {config.pruner_name}", flush=True)
    result = run_search(config, on_trial=progress.line)
    print(progress.summary(result), flush=True)
    return 0


def _study(args: argparse.Namespace) -> int:
    from search.records import open_study

    view = open_study(args.name, args.storage, args.root)
    if args.report:
        from search.report import write_report

        write_report(view, args.report, top=args.top)
        print(f"wrote {args.report}")
    if args.export_best:
        from search.export import export_trial

        number, size = export_trial(view, args.export_best, args.trial)
        print(f"wrote {args.export_best} (trial {number}, {size:,} bytes)")
    if not (args.report or args.export_best):
        from search.progress import table

        write_output(None, json.dumps(table(view, as_json=True), indent=2) if args.json else table(view))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from_help = "default: %(default)s"
    p = sub.add_parser("search", help="search architectures with Optuna (resumable, parallel)", description=SEARCH_DOC,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help=SPEC_HELP + "; it must have a \"search\" section")
    p.add_argument("--data", required=True, metavar="DATASET",
                   help="dataset string, e.g. idx:PATH or synthetic:shapes?n=2000&size=16&channels=1")
    p.add_argument("--study", required=True, metavar="NAME", help="study name (rerun with it to resume)")
    p.add_argument("--trials", type=positive_int, default=20,
                   help="number of trials the study should hold (%(default)s); a rerun tops it up to this")
    p.add_argument("--timeout", type=seconds_arg, metavar="S",
                   help="start no new trial after S seconds (running ones finish)")
    p.add_argument("--objectives", type=objectives_arg, default=("accuracy",), metavar="LIST",
                   help="accuracy, optionally with macs, params, memory, latency, e.g. accuracy,macs "
                        "(multi-objective: a Pareto front)")
    p.add_argument("--max-macs", type=count_arg, metavar="X", help="limit on MACs, e.g. 5M (never trained beyond)")
    p.add_argument("--max-params", type=count_arg, metavar="X", help="limit on parameters, e.g. 200k")
    p.add_argument("--max-memory", type=count_arg, metavar="BYTES",
                   help="limit on peak inference activation bytes at batch 1, e.g. 2M")
    p.add_argument("--max-latency", type=seconds_arg, metavar="MS",
                   help="limit on the median batch-1 forward time on the search device, in ms")
    p.add_argument("--min-rf", type=positive_int, metavar="N",
                   help="minimum receptive field (pixels) at the last spatial layer")
    p.add_argument("--pruner", choices=("median", "hyperband", "halving", "bucket", "none"),
                   help="median (default), hyperband, halving or none for one objective; bucket (default: compare "
                        "with trials in the same MACs bucket) or none for several")
    p.add_argument("--sampler", choices=("tpe", "nsga2", "random", "gp"), default="tpe", help=from_help)
    p.add_argument("--workers", type=positive_int, default=1,
                   help="trial processes in parallel on this machine, each with its share of CPU threads (%(default)s)")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage: sqlite:///FILE.db, postgresql://..., journal:PATH (default: "
                        "ROOT/NAME/journal.log)")
    p.add_argument("--root", default="studies", metavar="DIR",
                   help="folder of studies: default storage and per-trial artifacts (%(default)s)")
    p.add_argument("--epochs", type=positive_int, default=3, help="training epochs per trial (%(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of training (%(default)s)")
    p.add_argument("--keep-best", type=int, default=3, metavar="K",
                   help="keep the checkpoints of the best K trials (%(default)s)")
    p.add_argument("--train", type=train_option, action="append", default=[], metavar="KEY=VALUE",
                   help="base training option (repeatable), e.g. --train crop=2 --train lr=0.003; searched "
                        "train.* knobs override it")
    p.add_argument("--heartbeat", type=seconds_arg, default=10.0, metavar="S",
                   help="seconds between a running trial's liveness marks (%(default)s)")
    p.add_argument("--grace", type=seconds_arg, default=60.0, metavar="S",
                   help="a running trial silent this long is failed and retried (%(default)s)")
    p.set_defaults(run=_search)

    p = sub.add_parser("study", help="list, report on or export from a search study", description=STUDY_DOC)
    p.add_argument("name", help="study name")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL (default: ROOT/NAME/journal.log)")
    p.add_argument("--root", default="studies", metavar="DIR", help="folder of studies (%(default)s)")
    p.add_argument("--report", metavar="FILE", help="write a report: FILE.html (self-contained) or FILE.md")
    p.add_argument("--top", type=positive_int, default=5, help="best trials detailed in the report (%(default)s)")
    p.add_argument("--export-best", metavar="FILE",
                   help="export the best trial (or --trial N): .json spec, .py PyTorch code, .onnx, .pt TorchScript")
    p.add_argument("--trial", type=int, metavar="N", help="the trial to export instead of the best")
    p.add_argument("--json", action="store_true", help="list the trials as JSON")
    p.set_defaults(run=_study)
