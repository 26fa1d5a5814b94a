"""The ``gui`` command: the desktop designer, or the headless demo when there is no display."""

from __future__ import annotations

import argparse
import os
import sys

from arch.cli import SPEC_HELP


def has_display() -> bool:
    """False on Linux with neither X11 nor Wayland nor an explicit Qt platform (e.g. offscreen)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _gui(args: argparse.Namespace) -> int:
    if not has_display():
        from arch.cli import _demo

        print("convsmith gui: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "running the headless demo instead.", file=sys.stderr)
        return _demo(args)
    from gui.app import run

    return run(args.spec)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop designer",
                       description="Open the desktop designer on a spec (or a blank network). Without a display "
                                   "(Linux with DISPLAY and WAYLAND_DISPLAY unset) it runs the headless demo.")
    p.add_argument("spec", nargs="?", help=SPEC_HELP + "; default: a blank network")
    p.set_defaults(run=_gui)
