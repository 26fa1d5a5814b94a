"""Command ``analyze`` (``compare`` is in ``search.compare_cli``: it reads studies). Imports only argparse at load
time (``--help`` stays instant)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from arch.cli import SPEC_HELP, shape_arg, write_output

FORMATS = ("table", "json", "csv", "md", "html")
EXTENSIONS = {".json": "json", ".csv": "csv", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
CONVENTION_HELP = ("MACs count conv, linear, matmul and attention multiply-adds without bias (torchvision / fvcore "
                   "convention); FLOPs "
                   "count every op (2 x MACs, bias, batch norm, activations, pooling, adds).")


def positive_int(text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})")
    return int(text)


def size_arg(text: str) -> tuple[int, int]:
    """--object-size: N or HxW pixels."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if not m or int(m.group(1)) < 1 or (m.group(2) is not None and int(m.group(2)) < 1):
        raise argparse.ArgumentTypeError(f"expected N or HxW in pixels, e.g. 64 or 48x96 (got {text!r})")
    h = int(m.group(1))
    return (h, int(m.group(2)) if m.group(2) else h)


def _format(args: argparse.Namespace, allowed: tuple[str, ...]) -> str:
    from arch.errors import ConvSmithError

    if args.format:
        return args.format
    if args.output and args.output != "-":
        fmt = EXTENSIONS.get(Path(args.output).suffix.lower())
        if fmt is None or fmt not in allowed:
            suffixes = ", ".join(e for e, f in EXTENSIONS.items() if f in allowed)
            raise ConvSmithError(f"cannot tell the format from {args.output!r}: use --format "
                                 f"({', '.join(allowed)}) or a {suffixes} file name")
        return fmt
    return "table"


def _analyze(args: argparse.Namespace) -> int:
    from analysis import formats, html
    from analysis.sources import analyze_ref, is_module_ref
    from arch.errors import ConvSmithError

    fmt = _format(args, FORMATS)
    if args.module and not is_module_ref(args.module):
        raise ConvSmithError(f"--module expects path/to/file.py:ClassName (got {args.module!r})")
    ref = f"torchvision:{args.torchvision}" if args.torchvision else args.module or args.source
    report = analyze_ref(ref, args.input, batch=args.batch, dtype=args.dtype, object_size=args.object_size,
                         freeze=args.freeze)
    render = {"table": formats.table, "json": formats.to_json, "csv": formats.to_csv, "md": formats.markdown,
              "html": html.report}[fmt]
    write_output(args.output, render(report))
    if args.output and args.output != "-":
        print(f"wrote {args.output} ({fmt})")
    return 0


def _common(p: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    p.add_argument("--input", type=shape_arg, metavar="CxHxW",
                   help="input shape (default: the spec's own; 3x224x224 for torchvision and --module models)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N",
                   help="batch size for MACs, FLOPs and activation memory (default 1)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                   help="activation dtype for memory figures (default float32)")
    p.add_argument("--format", choices=formats, help="output format (default: from the -o file name, else table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (atomically) instead of stdout")


def register(sub: argparse._SubParsersAction) -> None:
    from arch.options import add_flags, option_map
    from arch.train_options import TrainConfig

    p = sub.add_parser(
        "analyze", help="per-layer shapes, params, MACs/FLOPs, memory, receptive fields and lints",
        description="Analyse a network: every layer's shapes, parameters, MACs and FLOPs, activation memory and "
                    "receptive field, rolled up per block, with lints and suggested fixes. " + CONVENTION_HELP,
        epilog="Examples: analyze template:resnet18 --input 3x160x160 | analyze model.onnx | "
               "analyze --torchvision resnet50 --format html -o r50.html | analyze --module net.py:Net --format json")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("source", nargs="?", metavar="SOURCE",
                        help=SPEC_HELP + "; also torchvision:NAME, path/to/file.py:ClassName or model.onnx (needs the "
                             "onnx package)")
    source.add_argument("--torchvision", metavar="NAME",
                        help="a torchvision classification model, built with weights=None and imported with torch.fx")
    source.add_argument("--module", metavar="FILE:CLASS",
                        help="an nn.Module class in a Python file, constructed without arguments and imported with "
                             "torch.fx")
    _common(p, FORMATS)
    p.add_argument("--object-size", type=size_arg, metavar="N|HxW",
                   help="size of the objects to recognise, in pixels: the receptive-field lint asks for at least this")
    add_flags(p, [option_map(TrainConfig)["freeze"]])  # the training option: trainable / frozen as a run has them
    p.set_defaults(run=_analyze)

