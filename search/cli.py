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
    """The config file (--config) with the flags given over it; workers default to one per GPU."""
    from arch.cli import load_source
    from arch.options import given
    from search import resources
    from search.config import config_options, load_config

    options = given(args, config_options())
    if args.train:
        options["train"] = dict(args.train)
    config = load_config(args.config, options, load_source(args.spec) if args.spec else None)
    in_file = args.config is not None and "workers" in _file_keys(args.config)
    if "workers" not in options and not in_file:
        gpus = resources.gpu_count() if config.device in ("auto", "cuda") and resources.driver_present() else 0
        config.workers = resources.default_workers(config.device, gpus)
    return config


def _file_keys(path: str) -> set[str]:
    from search.config import read_config

    return set(read_config(path))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a search like Ctrl-C: running trials are recorded as interrupted


def _search(args: argparse.Namespace) -> int:
    import signal

    from search import resources

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
    from arch.options import add_flags
    from search.config import config_options

    p = sub.add_parser("search", help="search architectures with Optuna (resumable, parallel)", description=SEARCH_DOC,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", help=SPEC_HELP + "; it must have a \"search\" section (default: the "
                                           "--config file's)")
    p.add_argument("--config", metavar="FILE",
                   help="a saved search config (JSON: every option below by name, the spec, a train object); "
                        "flags given here override it")
    add_flags(p, config_options(), given_only=True)  # one flag per option (search/config.py), over --config
    p.add_argument("--train", type=train_option, action="append", default=[], metavar="KEY=VALUE",
                   help="base training option (repeatable), e.g. --train crop=2 --train lr=0.003; searched "
                        "train.* knobs override it")
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
