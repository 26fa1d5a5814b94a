"""ConvSmith command line: ``python main.py <command>``, also installed as ``convsmith``.

Each package contributes its commands through a ``cli`` module with ``register(subparsers)``; those
modules import only argparse at load time, so ``--help`` stays instant. Exit codes: 0 ok, 1 a user
error (message on stderr, no traceback), 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("arch.cli", "arch.scale_cli", "arch.import_cli", "analysis.cli", "analysis.explain_cli",
                   "training.cli", "training.inspect_cli", "search.cli", "search.compare_cli", "gui.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convsmith",
        description="Design, analyse, train and search convolutional networks.",
        epilog="Run 'convsmith COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from arch.errors import ConvSmithError

    try:  # a well-formed value out of its range is a user error found while parsing
        args = build_parser().parse_args(argv)
    except ConvSmithError as e:
        print(f"convsmith: error: {e}", file=sys.stderr)
        return 1
    try:
        return int(args.run(args) or 0)
    except ConvSmithError as e:
        print(f"convsmith {args.command}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        print(f"convsmith {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"convsmith {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
