"""Command ``scale``: EfficientNet compound scaling of a spec. Imports only argparse at load time."""

from __future__ import annotations

import argparse

from arch.cli import SPEC_HELP, write_output


def _scale(args: argparse.Namespace) -> int:
    from arch.cli import load_source
    from arch.expand import expand_spec
    from arch.scaling import compound
    from arch.spec import dumps

    spec = compound(load_source(args.spec), args.phi)
    expand_spec(spec)  # never write a spec whose shapes fail
    write_output(args.output, dumps(spec))
    if args.output and args.output != "-":
        print(f"wrote {args.output} ({spec.name}: width {spec.width_mult:g}, depth {spec.depth_mult:g}, "
              f"input {spec.input[1]}x{spec.input[2]})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scale", help="EfficientNet compound scaling: depth, width and resolution from one knob phi",
        description="Scale a network with EfficientNet's compound coefficient phi: integer phi 0-7 gives "
                    "torchvision's B0-B7 coefficients (width, depth, resolution, dropout), any other phi "
                    "depth 1.2^phi, width 1.1^phi, resolution 1.15^phi. Channels round to multiples of 8 and "
                    "stage repeats up, as torchvision does.",
        epilog="Example: scale template:efficientnet_b0 --phi 2 -o b2.json")
    p.add_argument("spec", help=SPEC_HELP)
    p.add_argument("--phi", type=float, required=True, help="compound coefficient (0-12)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the scaled spec (atomically) instead of stdout")
    p.set_defaults(run=_scale)
