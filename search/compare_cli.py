"""Command ``compare``: the comparative report of several networks (HTML, Markdown, JSON or a terminal table).

It lives above ``search`` because it reads the studies' trials; it imports only argparse at load time.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from analysis.cli import CONVENTION_HELP, _format, positive_int, size_arg
from arch.cli import SPEC_HELP, shape_arg, write_output

FORMATS = ("table", "json", "md", "html")


def _compare(args: argparse.Namespace) -> int:
    from analysis import compare, report_render
    from search.compare_report import gather, source_of, terminal_progress

    fmt = _format(args, FORMATS)
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # its CUDA_HOME notice on CPU machines
    if args.latency and args.device:
        from training.report_speed import check_device

        check_device(args.device)  # before any work: no GPU is one clear line
    sources = [source_of(ref, args.input) for ref in args.sources]
    if fmt == "table":
        write_output(args.output, compare.text([s.report for s in sources]))
        return 0
    progress = terminal_progress(sys.stderr) if sys.stderr.isatty() else None
    devices = [args.device] if args.device else None
    result = gather(sources, Path(args.runs), Path(args.studies), args.latency, devices, args.train_batch,
                    args.object_size, progress, threads=args.threads)
    render = {"json": report_render.to_json, "md": report_render.markdown, "html": report_render.html}[fmt]
    write_output(args.output, render(result))
    if args.output and args.output != "-":
        runs = sum(len(e.runs) for e in result.entries)
        print(f"wrote {args.output} ({fmt}, {len(sources)} networks, {runs} runs/trials found)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="a comparative report of several networks (HTML, Markdown, JSON)",
        description="Compare networks: where the cost is (per-stage MACs, parameters and activation memory aligned "
                    "by resolution, the 10 most expensive layers), how the receptive field grows (size and jump vs "
                    "depth and vs cumulative MACs), a structural diff of the specs, measured latency and memory "
                    "(--latency), and the accuracy of every run and study trial that trained exactly these "
                    "networks. " + CONVENTION_HELP,
        epilog="Example: compare template:resnet18 template:mobilenet_v2 template:efficientnet_b0 --latency "
               "-o cmp.html")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="one or more of: " + SPEC_HELP + ", torchvision:NAME, path/to/file.py:ClassName")
    p.add_argument("--format", choices=FORMATS,
                   help="output format (default: from the -o file name, else a terminal table of the totals)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout")
    p.add_argument("--input", type=shape_arg, metavar="CxHxW",
                   help="input shape (default: each spec's own; 3x224x224 for torchvision and --module models)")
    p.add_argument("--runs", default="runs", metavar="DIR",
                   help="folder searched for training runs of these networks (default: runs)")
    p.add_argument("--studies", default="studies", metavar="DIR",
                   help="folder of studies whose trials are searched (default: studies)")
    p.add_argument("--latency", action="store_true",
                   help="measure latency and throughput (PyTorch and ONNX Runtime, batch 1 and a training-size "
                        "batch) and the inference memory peak on this machine")
    p.add_argument("--device", choices=("cpu", "cuda"),
                   help="device for --latency (default: the CPU, and CUDA too when there is a GPU)")
    p.add_argument("--train-batch", type=positive_int, metavar="N",
                   help="the training-size batch for --latency (default: the batch the found runs trained with, "
                        "else 64)")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="CPU threads for --latency (default: torch's; 1 gives steadier figures on a busy machine)")
    p.add_argument("--object-size", type=size_arg, metavar="N|HxW",
                   help="typical object size in pixels, marked on the receptive-field chart")
    p.set_defaults(run=_compare)
