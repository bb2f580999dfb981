"""The ``printpharm`` command line: thin argparse commands over the services.

Each command group lives in its own private module (``_dose``, ``_qc``, ...)
that exposes ``register(subparsers)``. A registered sub-command stores its
handler as ``func(args) -> int`` on the parsed namespace.

Exit codes: 0 success, 1 a check that ran and failed (e.g. a broken audit
chain), 2 bad input or a refused operation (one clear line on stderr, or
``{"error": ...}`` with ``--json``), 3 an unexpected internal error.

This module never imports PySide6; the desktop application is imported only
when ``printpharm`` is run with no arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from printpharm import __version__
from printpharm.cli._common import JsonAwareParser, fail
from printpharm.errors import PrintpharmError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Command-group modules, in the order their commands appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "printpharm.cli._dose",
    "printpharm.cli._qc",
    "printpharm.cli._library",
    "printpharm.cli._plan",
    "printpharm.cli._devices",
    "printpharm.cli._run",
    "printpharm.cli._records",
    "printpharm.cli._deploy",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``printpharm`` argument parser."""
    parser = JsonAwareParser(
        prog="printpharm",
        description=(
            "Point-of-care 3D printing of personalised tablets. "
            "Run with no arguments to open the desktop application."
        ),
    )
    parser.add_argument("--version", action="version", version=f"printpharm {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=JsonAwareParser
    )
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _launch_gui() -> int:
    if not _has_display():
        print(
            "printpharm: no display available for the desktop application; "
            "run a batch headless with `printpharm run --simulate` (see `printpharm --help`).",
            file=sys.stderr,
        )
        return 2
    from printpharm.gui.app import main as gui_main  # imported lazily: Qt only here

    code: int = gui_main([])
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        return _launch_gui()
    JsonAwareParser.json_requested = "--json" in args_list
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # usage errors, --help and --version end here
        return exc.code if isinstance(exc.code, int) else 2
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(func(args))
    except PrintpharmError as exc:
        return fail(args, str(exc))
    except KeyboardInterrupt:
        return fail(args, "interrupted by the operator", code=130)
    except Exception as exc:  # top level: report, never show a traceback to a technician
        return fail(args, f"internal error ({type(exc).__name__}): {exc}", code=3)
    return code
