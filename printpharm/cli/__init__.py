"""The ``printpharm`` command line: thin argparse commands over the services.

Each command group lives in its own private module (``_dose``, ``_qc``, ...)
that exposes ``register(subparsers)``. A registered sub-command stores its
handler as ``func(args) -> int`` on the parsed namespace.

Exit codes: 0 success, 1 a check that ran and failed (e.g. a broken audit
chain), 2 bad input or a refused operation (one clear line on stderr, or
``{"error": ...}`` with ``--json``), 3 an unexpected internal error.

This module never imports PySide6: ``printpharm`` with no arguments is routed
to the desktop application by :mod:`printpharm.launch`, not from here.
"""

from __future__ import annotations

import argparse
import importlib
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
    "printpharm.cli._batches",
    "printpharm.cli._deploy",
)

#: Which module registers each command. Running one command imports only its
#: module, so ``printpharm bsa`` does not pay for trimesh, SQLAlchemy or pyserial.
#: A test checks this table against what the modules really register.
COMMAND_INDEX: dict[str, str] = {
    "bsa": "printpharm.cli._dose",
    "dose": "printpharm.cli._dose",
    "qc": "printpharm.cli._qc",
    "inks": "printpharm.cli._library",
    "recipes": "printpharm.cli._library",
    "printers": "printpharm.cli._library",
    "plan": "printpharm.cli._plan",
    "sim": "printpharm.cli._devices",
    "stream": "printpharm.cli._devices",
    "run": "printpharm.cli._run",
    "init": "printpharm.cli._records",
    "db": "printpharm.cli._records",
    "users": "printpharm.cli._records",
    "research": "printpharm.cli._records",
    "audit": "printpharm.cli._records",
    "library": "printpharm.cli._batches",
    "batches": "printpharm.cli._batches",
    "doctor": "printpharm.cli._deploy",
    "federation": "printpharm.cli._deploy",
    "devices": "printpharm.cli._deploy",
    "settings": "printpharm.cli._deploy",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the ``printpharm`` argument parser.

    Parameters
    ----------
    command
        A command name from :data:`COMMAND_INDEX`: only its module is imported
        and registered. ``None`` (or an unknown name, so that argparse reports
        it with the full list) registers every command.
    """
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
    wanted = COMMAND_INDEX.get(command or "")
    for name in COMMAND_MODULES if wanted is None else (wanted,):
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


#: Longest error message printed (a safety net: messages quote long values with ``shown``).
MAX_MESSAGE = 600


def _bounded(message: str) -> str:
    """``message`` on one screen line or a few: cut, saying how long it was."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}… ({len(message)} characters)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    JsonAwareParser.json_requested = "--json" in args_list
    first = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(first)
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
        return fail(args, _bounded(str(exc)))
    except KeyboardInterrupt:
        return fail(args, "interrupted by the operator", code=130)
    except Exception as exc:  # top level: report, never show a traceback to a technician
        return fail(args, f"internal error ({type(exc).__name__}): {exc}", code=3)
    return code
