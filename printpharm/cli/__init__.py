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
import gc
import importlib
import sys
from collections.abc import Sequence

from printpharm import __version__
from printpharm.cli._common import JsonAwareParser, fail
from printpharm.errors import PrintpharmError

__all__ = ["COMMANDS", "COMMAND_INDEX", "COMMAND_MODULES", "build_parser", "main"]

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
    "printpharm.cli._alarms",
    "printpharm.cli._lots",
    "printpharm.cli._calibrate",
    "printpharm.cli._deploy",
    "printpharm.cli._equipment",
)

#: Every command: the module that registers it and its one-line help. ``printpharm
#: COMMAND`` imports only that module, so ``printpharm bsa`` does not pay for trimesh,
#: SQLAlchemy or pyserial; ``printpharm --help`` and ``--version`` import none (the
#: list below is what ``--help`` shows). A test checks this table against what the
#: modules really register.
COMMANDS: dict[str, tuple[str, str]] = {
    "bsa": ("printpharm.cli._dose", "body surface area (m²) from height and weight"),
    "dose": ("printpharm.cli._dose", "dose from a prescription rule: cap, round to a step, split"),
    "qc": ("printpharm.cli._qc", "uniformity verdicts (Ph. Eur. 2.9.5, 2.9.40)"),
    "inks": ("printpharm.cli._library", "browse the pharma-inks and filaments"),
    "recipes": ("printpharm.cli._library", "browse the validated recipes"),
    "printers": ("printpharm.cli._library", "browse the printer definitions"),
    "plan": ("printpharm.cli._plan", "size the unit for a dose and write the plate's G-code"),
    "sim": ("printpharm.cli._devices", "serve a simulated printer or balance on a pty"),
    "stream": (
        "printpharm.cli._devices",
        "stream a G-code file to a printer (maintenance: supervisor, audited)",
    ),
    "run": (
        "printpharm.cli._run",
        "plan, print, weigh and judge a batch (simulators unless ports are given)",
    ),
    "init": ("printpharm.cli._records", "create the database and the first administrator"),
    "db": ("printpharm.cli._records", "database schema"),
    "users": ("printpharm.cli._records", "user accounts"),
    "research": ("printpharm.cli._records", "research mode"),
    "audit": ("printpharm.cli._records", "verify or show the audit trail"),
    "library": ("printpharm.cli._batches", "the validated recipe and ink library"),
    "batches": (
        "printpharm.cli._batches",
        "batch records: show, alarms and their acknowledgement, review, release, export",
    ),
    "alarms": (
        "printpharm.cli._alarms",
        "the station's alarms (lockouts, audit chain, break-glass): list, acknowledge",
    ),
    "lots": ("printpharm.cli._lots", "ink lots: add, assay, release, reject, list, show"),
    "calibrate": (
        "printpharm.cli._calibrate",
        "fit the ink's mass–volume calibration on site; validate, lock, list, show",
    ),
    "doctor": (
        "printpharm.cli._deploy",
        "check this workstation (Python, Qt, database, audit, devices)",
    ),
    "federation": (
        "printpharm.cli._deploy",
        "move a standalone workstation's records into the central database",
    ),
    "devices": (
        "printpharm.cli._deploy",
        "registered balances and their calibration (recorded runs need one)",
    ),
    "settings": (
        "printpharm.cli._deploy",
        "site settings (lockout, timeouts, passwords, calibration, 2.9.5 policy)",
    ),
    "equipment": (
        "printpharm.cli._equipment",
        "the equipment register: qualification, maintenance, balance checks, cleaning",
    ),
    "training": (
        "printpharm.cli._equipment",
        "training records: who is trained on what, until when (TRN-01)",
    ),
}

#: Which module registers each command (derived from :data:`COMMANDS`).
COMMAND_INDEX: dict[str, str] = {name: module for name, (module, _) in COMMANDS.items()}


def build_parser(command: str | None = None, summary: bool = False) -> argparse.ArgumentParser:
    """Build the ``printpharm`` argument parser.

    Parameters
    ----------
    command
        A command name from :data:`COMMANDS`: only its module is imported and
        registered. ``None`` (or an unknown name) registers every command.
    summary
        With no known ``command``: list every command with its help from
        :data:`COMMANDS` without importing any command module (what ``--help``,
        ``--version`` and a usage error need).
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
    if wanted is None and summary:
        for name, (_, text) in COMMANDS.items():
            subparsers.add_parser(name, help=text)
        return parser
    for name in COMMAND_MODULES if wanted is None else (wanted,):
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


#: Longest error message printed (a safety net: messages quote long values with ``shown``).
MAX_MESSAGE = 1200  # a release refusal that says what the batch still needs runs to ~850


def _bounded(message: str) -> str:
    """``message`` on one screen line or a few: cut, saying how long it was."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}… ({len(message)} characters)"


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """Run the command line and return the process exit code.

    ``exiting``: the process ends when this returns (the ``printpharm`` command itself,
    see :mod:`printpharm.launch`), so what the command's imports built stays frozen
    for the collector: the interpreter's collections on the way out do not scan those
    hundreds of thousands of objects again (a fifth of a plan's time). The command's
    own objects are collected as usual.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    JsonAwareParser.json_requested = "--json" in args_list
    first = next((a for a in args_list if not a.startswith("-")), None)
    collecting = gc.isenabled()
    # Importing a command's modules builds thousands of objects (schema models,
    # dataclasses) and no garbage cycles: the cyclic collector would only rescan them,
    # about a seventh of a command's start-up. It is back on before the command runs,
    # with what the imports built frozen (never rescanned) until the command ends.
    gc.disable()
    try:
        parser = build_parser(first, summary=True)
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # usage errors, --help and --version end here
        return exc.code if isinstance(exc.code, int) else 2
    finally:
        if collecting:
            gc.enable()
    if collecting:
        gc.freeze()
    try:
        return _dispatch(parser, args)
    finally:
        if collecting and not exiting:
            gc.unfreeze()  # a caller in the same process (tests) collects them again


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code (errors reported as :func:`main` says)."""
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except PrintpharmError as exc:
        return fail(args, _bounded(str(exc)))
    except KeyboardInterrupt:
        return fail(args, "interrupted by the operator", code=130)
    except Exception as exc:  # top level: report, never show a traceback to a technician
        return fail(args, f"internal error ({type(exc).__name__}): {exc}", code=3)
