"""``convsmith import``: a torchvision model or a user's module written as an editable spec."""

from __future__ import annotations

import argparse
import json
from typing import Any

from arch.cli import shape_arg, write_output

DEFAULT_INPUT = {"inception_v3": (3, 299, 299)}


def source_module(torchvision: str | None, module: str | None, weights: bool) -> tuple[Any, str, tuple[int, int, int]]:
    """The module to import, its name and its default input. ``weights``: real tensors (else meta ones)."""
    from contextlib import nullcontext

    from arch.fx_import import torchvision_model, user_module
    from arch.fx_trace import meta_init
    from arch.spec_import import TORCHVISION_ARGS

    if torchvision is None:
        assert module is not None
        return user_module(module), module.rpartition(":")[2], (3, 224, 224)
    import torchvision as tv

    if torchvision not in tv.models.list_models(module=tv.models):
        torchvision_model(torchvision)  # raises the unknown-name error with its did-you-mean
    with nullcontext() if weights else meta_init():
        m = tv.models.get_model(torchvision, weights=None, **TORCHVISION_ARGS.get(torchvision, {}))
    return m, torchvision, DEFAULT_INPUT.get(torchvision, (3, 224, 224))


def import_spec(torchvision: str | None, module: str | None, input_shape: tuple[int, int, int] | None,
                weights: bool = False, step: Any = None) -> tuple[Any, Any, Any]:
    """(the import result, the source module, the input shape used). ``step``: told each of
    ``arch.spec_import.STEPS`` as it starts."""
    from arch.spec_import import STEPS, spec_from_module

    if step is not None:
        step(STEPS[0])
    m, name, default = source_module(torchvision, module, weights)
    shape = input_shape or default
    return spec_from_module(m, shape, name, step), m, shape


def _run(args: argparse.Namespace) -> int:
    import io as _io

    from arch import io
    from arch.spec import dumps
    from arch.spec_import import TORCHVISION_ARGS, check_spec, transfer_weights

    result, source, shape = import_spec(args.torchvision, args.module, args.input, weights=bool(args.weights))
    what = args.torchvision or args.module
    spec = check_spec(result, what)
    notes = list(result.notes)
    if args.torchvision in TORCHVISION_ARGS:
        notes.insert(0, f"built with {TORCHVISION_ARGS[args.torchvision]} (the auxiliary classifiers are "
                        "training-only)")
    write_output(args.output, dumps(spec))
    params = sum(p.numel() for p in source.parameters())
    if args.weights:
        import torch

        from arch.builder import build

        model = build(spec)
        transfer_weights(source, model, result.mapping)
        buffer = _io.BytesIO()
        torch.save(model.state_dict(), buffer)
        io.write_bytes(args.weights, buffer.getvalue())
    summary = {"source": what, "input": list(shape), "blocks": len(spec.body), "params": params,
               "output": args.output, "weights": args.weights, "notes": notes}
    if args.format == "json":
        print(json.dumps(summary, indent=2), file=_stderr_if_stdout(args.output))
    elif args.output not in (None, "-"):
        print(f"{what}: {len(spec.body)} top-level blocks, {params:,} parameters -> {args.output}")
        for line in notes:
            print(f"  note: {line}")
    return 0


def _stderr_if_stdout(output: str | None) -> Any:
    import sys

    return sys.stderr if output in (None, "-") else sys.stdout


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="write a torchvision model or your nn.Module as an editable spec",
                       description="Trace a model with torch.fx and write the spec that builds the same network "
                                   "(same parameters; with the source's weights, the same logits). Modules that "
                                   "no block can express exactly are listed with the reason, and nothing is "
                                   "written (exit 1).",
                       epilog="examples: convsmith import --torchvision densenet121 -o densenet.json; "
                              "convsmith import --module my_net.py:Net --input 1x28x28 -o my_net.json")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--torchvision", metavar="NAME", help="a torchvision classification model (weights=None)")
    src.add_argument("--module", metavar="FILE.py:Class", help="a class in your file, built without arguments")
    p.add_argument("--input", type=shape_arg, metavar="CxHxW",
                   help="input shape (default 3x224x224; inception_v3 3x299x299)")
    p.add_argument("-o", "--output", metavar="FILE", help="the spec file ('-' or none: stdout)")
    p.add_argument("--weights", metavar="FILE.pt",
                   help="also save the source's weights under the spec's module names (a state_dict)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the summary's format")
    p.set_defaults(run=_run)
