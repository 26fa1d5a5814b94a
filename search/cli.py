"""Commands ``search`` (run or resume a study) and ``study`` (inspect, report, export its best trial).

Imports only argparse and small stdlib helpers at load time, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
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
                        heartbeat=args.heartbeat, grace=args.grace, storage_wait=args.storage_wait,
                        force_workers=args.force_workers, artifacts=Path(args.artifacts) if args.artifacts else None)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a search like Ctrl-C: running trials are recorded as interrupted


def _search(args: argparse.Namespace) -> int:
    import signal

    from search import resources

    if args.workers is None:
        gpus = resources.gpu_count() if args.device in ("auto", "cuda") and resources.driver_present() else 0
        args.workers = resources.default_workers(args.device, gpus)
    config = _config(args)
    config.check()  # settings and device before optuna, torch or the data are imported
    resources.check_device(config.device)

    from search.progress import Progress
    from search.runner import run_search
    from search.storage import mask, storage_url

    workers, why = resources.cap_workers(config)
    if why:
        print(f"convsmith search: warning: {why}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    progress = Progress(list(config.objectives))
    print(f"study {config.study} in {mask(storage_url(config))}: {config.trials} trials, {workers} worker(s), "
          f"{'x'.join(config.objectives)}, sampler {config.sampler}, pruner {config.pruner_name}", flush=True)
    result = run_search(config, on_trial=progress.line)
    print(progress.summary(result), flush=True)
    return 0


def _study(args: argparse.Namespace) -> int:
    from search.config import SearchError
    from search.records import open_study

    for target in (args.report, args.export_best, args.export_weights):
        if target and not Path(target).expanduser().parent.is_dir():
            raise SearchError(f"folder {Path(target).expanduser().parent} does not exist (it is not created "
                              f"for {target})")
    view = open_study(args.name, args.storage, args.root)
    if args.report:
        from search.report import write_report

        write_report(view, args.report, top=args.top)
        print(f"wrote {args.report}")
    if args.export_best:
        from search.export import export_trial

        number, size = export_trial(view, args.export_best, args.trial)
        print(f"wrote {args.export_best} (trial {number}, {size:,} bytes)")
    if args.export_weights:
        from search import weights

        number = args.trial if args.trial is not None else (view.best()[0].number if view.best() else None)
        if number is None:
            raise SearchError(f"study {args.name!r} has no complete trial yet")
        weights.download(view.study, number, args.artifacts or Path(args.root) / args.name / "artifacts",
                         args.export_weights)
        print(f"wrote {args.export_weights} (weights of trial {number})")
    if not (args.report or args.export_best or args.export_weights):
        from search.progress import table

        write_output(None, json.dumps(table(view, as_json=True), indent=2) if args.json else table(view))
    return 0


def _proxy(args: argparse.Namespace) -> int:
    import optuna

    from search.storage import grpc_storage, mask, open_storage

    grpc_storage(f"grpc://{args.host}:{args.port}")  # grpcio installed?
    store = open_storage(args.storage)
    print(f"serving {mask(args.storage)} on grpc://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    optuna.storages.run_grpc_proxy_server(store, host=args.host, port=args.port)
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
    p.add_argument("--workers", type=positive_int, default=None,
                   help="trial processes in parallel on this machine, each with its share of CPU threads (default: "
                        "one per GPU when several are used, else 1); capped by cores and memory unless forced")
    p.add_argument("--force-workers", action="store_true",
                   help="run --workers processes even beyond the CPU cores or available memory")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage: sqlite:///FILE.db, postgresql://USER:PASSWORD@HOST/DB (pip install "
                        "'convsmith[postgres]'), grpc://HOST:PORT, journal:PATH (default: ROOT/NAME/journal.log)")
    p.add_argument("--artifacts", metavar="DIR",
                   help="Optuna artifact store for trained weights, shared by all machines (ROOT/NAME/artifacts)")
    p.add_argument("--storage-wait", type=seconds_arg, default=60.0, metavar="S",
                   help="seconds a running search waits for a database that stopped answering (%(default)s)")
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
    p.add_argument("--export-weights", metavar="FILE.pt",
                   help="fetch the best trial's (or --trial N's) trained weights from the artifact store")
    p.add_argument("--artifacts", metavar="DIR", help="artifact store of trained weights (ROOT/NAME/artifacts)")
    p.add_argument("--trial", type=int, metavar="N", help="the trial to export instead of the best")
    p.add_argument("--json", action="store_true", help="list the trials as JSON")
    p.set_defaults(run=_study)

    p = sub.add_parser("storage-proxy", help="share a study storage with other machines over gRPC",
                       description="Serve a storage (e.g. a journal file) through Optuna's gRPC storage proxy, so "
                                   "searches on other machines use --storage grpc://HOST:PORT without a database. "
                                   "Needs grpcio: pip install 'convsmith[grpc]'.")
    p.add_argument("storage", help="the storage to serve: journal:PATH, sqlite:///FILE.db, postgresql://...")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s; 0.0.0.0 for all)")
    p.add_argument("--port", type=positive_int, default=13000, help="%(default)s")
    p.set_defaults(run=_proxy)
