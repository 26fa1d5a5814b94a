"""Commands of the architecture layer: templates, validate, build, export, demo.

Also the small argparse helpers every package's CLI shares (shape and spec arguments, output).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from arch.dims import dims

SPEC_HELP = "a spec JSON file or template:NAME (see 'convsmith templates')"


def shape_arg(text: str) -> tuple[int, int, int]:
    """argparse type for --input: CxHxW such as 3x224x224."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if not m or min(int(g) for g in m.groups()) < 1:
        raise argparse.ArgumentTypeError(f"expected CxHxW with positive sizes, e.g. 3x224x224 (got {text!r})")
    c, h, w = (int(g) for g in m.groups())
    from arch.limits import MAX_INPUT

    if max(c, h, w) > MAX_INPUT:  # well-formed but out of range: a user error (exit 1), not a usage error
        from arch.errors import ConvSmithError

        raise ConvSmithError(f"--input: each of CxHxW must be in [1, {MAX_INPUT}] (got {text!r})")
    return c, h, w


def load_source(source: str) -> Any:
    from arch.spec import resolve

    return resolve(source)


def write_output(path: str | None, data: str | bytes) -> None:
    """Print to stdout, or write atomically to ``path``."""
    from arch import io

    if path is None or path == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data if data.endswith("\n") else data + "\n")
        return
    if isinstance(data, bytes):
        io.write_bytes(path, data)
    else:
        io.write_text(path, data)


def _templates(args: argparse.Namespace) -> int:
    from arch.expand import expand_spec
    from arch.templates import load_template, names

    rows: list[dict[str, Any]] = []
    for name in names():
        spec = load_template(name)
        out = expand_spec(spec).output.shape
        rows.append({"name": name, "title": spec.name, "input": list(spec.input), "classes": spec.num_classes,
                     "blocks": len(spec.body), "output": list(out), "description": spec.description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        shape = dims(r["input"])
        print(f"{r['name']:<16} {r['title']:<16} {shape:>10}  {r['classes']:>5} classes  {r['description']}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from arch.expand import build_graph
    from arch.spec import SpecError

    spec = load_source(args.spec)
    graph = build_graph(spec, args.input)
    if graph.problems:
        raise SpecError(graph.problems, args.spec)
    if args.json:
        print(json.dumps({"valid": True, "name": spec.name, "output": list(graph.output.shape)}))
    else:
        print(f"{args.spec}: valid ({len(spec.body)} blocks, output {'x'.join(map(str, graph.output.shape))})")
    return 0


def _build(args: argparse.Namespace) -> int:
    import torch

    from arch.builder import build

    spec = load_source(args.spec)
    model = build(spec, args.input)
    shape = args.input or spec.input
    with torch.no_grad():
        y = model.eval()(torch.zeros(1, *shape))
    params = sum(p.numel() for p in model.parameters())
    if args.json:
        print(json.dumps({"name": spec.name, "input": list(shape), "output": list(y.shape[1:]), "params": params}))
        return 0
    print(model)
    print(f"input {'x'.join(map(str, shape))} -> output {'x'.join(map(str, y.shape[1:]))}, {params:,} parameters")
    return 0


def _export(args: argparse.Namespace) -> int:
    from arch.errors import ConvSmithError
    from arch.export import FORMATS, export, format_for, render

    fmt = args.format or (format_for(args.output) if args.output not in (None, "-") else None)
    if fmt is None:
        raise ConvSmithError(f"give --format ({', '.join(FORMATS)}) or an output file with a known suffix")
    spec = load_source(args.spec)
    if args.output in (None, "-"):
        if not FORMATS[fmt].text:
            raise ConvSmithError(f"--format {fmt} writes a binary file: give -o FILE")
        write_output(None, render(spec, fmt, args.input).decode("utf-8"))
        return 0
    size = export(spec, fmt, args.output, args.input)
    print(f"wrote {args.output} ({fmt}, {size:,} bytes)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import time

    import torch

    from arch.builder import build
    from arch.templates import load_template, names

    print("ConvSmith demo: every template built and run once on a zero input.")
    for name in names():
        t0 = time.perf_counter()
        spec = load_template(name)
        model = build(spec).eval()
        with torch.no_grad():
            y = model(torch.zeros(1, *spec.input))
        params = sum(p.numel() for p in model.parameters())
        shape = dims(spec.input)
        print(f"  {name:<16} {shape:>10} -> {y.shape[1]:>4} logits  {params:>12,} params  "
              f"{len(spec.body):>3} blocks  {1000 * (time.perf_counter() - t0):6.0f} ms")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("templates", help="list the shipped template specs",
                       description="List the template specs shipped with ConvSmith (use them as template:NAME).")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=_templates)

    p = sub.add_parser("validate", help="check a spec and list every problem",
                       description="Validate a spec: fields, block names and shapes. Exit 1 listing every "
                                   "problem with its spec path.")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--input", type=shape_arg, metavar="CxHxW", help="input shape (default: the spec's)")
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.set_defaults(run=_validate)

    p = sub.add_parser("build", help="build the PyTorch module and print its tree",
                       description="Build a spec into a torch.nn.Module, print its module tree and output shape.")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--input", type=shape_arg, metavar="CxHxW", help="input shape (default: the spec's)")
    p.add_argument("--json", action="store_true", help="print name, input, output and params as JSON")
    p.set_defaults(run=_build)

    from arch.export import FORMATS  # the table only: the writers import torch when they run

    p = sub.add_parser("export", help="export a spec as " + ", ".join(FORMATS),
                       description="Export a spec. " + "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values())
                                   + ". The file is written atomically: a failed export leaves an existing file "
                                   "untouched.",
                       epilog="example: convsmith export template:resnet18 --format onnx -o resnet18.onnx")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--format", "-f", choices=tuple(FORMATS),
                   help="output format (default: from the output file's suffix: "
                        + " ".join("/".join(f.suffixes) for f in FORMATS.values()) + ")")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="output file ('-' or none: print to stdout, "
                        + " and ".join(f.name for f in FORMATS.values() if f.text) + " only)")
    p.add_argument("--input", type=shape_arg, metavar="CxHxW",
                   help="input shape to export for (default: the spec's)")
    p.set_defaults(run=_export)

    p = sub.add_parser("demo", help="build every template and print a one-line summary each",
                       description="Headless demo: build every template, run it once, print one line each.")
    p.set_defaults(run=_demo)
