"""Command ``explain``: the derivation of every figure of a layer. Imports only argparse at load time."""

from __future__ import annotations

import argparse

from analysis.cli import positive_int
from arch.cli import SPEC_HELP, shape_arg, write_output


def _explain(args: argparse.Namespace) -> int:
    from analysis import derive
    from analysis.engine import analyze
    from arch.cli import load_source

    report = analyze(load_source(args.spec), args.input, batch=args.batch, dtype=args.dtype)
    ds = [derive.derive(report, name) for name in derive.layers_of(report, args.layer)]
    out = {"text": lambda: derive.text(ds), "md": lambda: derive.markdown(ds),
           "json": lambda: derive.to_json(report, ds)}[args.format]()
    write_output(args.output, out)
    if args.output and args.output != "-":
        print(f"wrote {args.output} ({args.format}, {len(ds)} layers)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="derive each layer's output size, params, MACs, memory and receptive field",
        description="Show why each number of the analysis is what it is: per layer, the output size per axis "
                    "(floor((H + p_top + p_bottom - d(k-1) - 1)/s) + 1, and the ceil_mode variant), the parameters "
                    "(k_h k_w C_in/groups + bias) C_out, the MACs, the activation memory and the receptive-field "
                    "recurrence (r_out = r_in + (k-1) d j_in, j_out = j_in s, the centre offset), with the numbers "
                    "filled in.",
        epilog="Examples: explain template:alexnet --layer body.0.conv | explain net.json --layer 'body[3]' "
               "--format md -o body3.md | explain template:resnet18 --format json")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--layer", metavar="PATH",
                   help="a layer (body.0.conv, as in 'analyze') or a block (body[3], every layer in it); "
                        "default: every layer")
    p.add_argument("--format", choices=("text", "md", "json"), default="text", help="output format (default text)")
    p.add_argument("--input", type=shape_arg, metavar="CxHxW", help="input shape (default: the spec's)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size (default 1)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                   help="activation dtype for memory (default float32)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.set_defaults(run=_explain)
