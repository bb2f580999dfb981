"""Shared helpers of the command line: JSON output, errors, common options."""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from typing import Any, NoReturn

from printpharm.core.jsonable import to_jsonable
from printpharm.core.units import parse_decimal, parse_integer
from printpharm.errors import InputError

__all__ = [
    "simulator_options",
    "JsonAwareParser",
    "add_json_flag",
    "emit",
    "fail",
    "out",
    "number_arg",
    "to_jsonable",
    "whole_number_arg",
]


def whole_number_arg(text: str) -> int:
    """An argparse ``type``: a whole number by the one parser of typed numbers (no ``1_8``)."""
    try:
        return parse_integer(text, "value")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def number_arg(text: str) -> Decimal:
    """An argparse ``type``: a decimal number by the one parser of typed numbers (no ``1e3``)."""
    try:
        return parse_decimal(text, "value", InputError)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag to a sub-command."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def out(text: str) -> None:
    """Write ``text`` to standard output now; if nobody reads it any more, go on silently.

    A technician may close the terminal (or a pipe's reader may exit) while a batch
    prints: the next progress line then fails with EPIPE or EIO. That must not end
    the batch half-printed with the heaters on and nothing recorded, so the output
    is pointed at the null device (the interpreter's last flush stays silent too) and
    the command carries on; the records and ``--out-dir`` files hold what it printed.
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        except (OSError, ValueError):  # no file descriptor behind it: replace the stream
            sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        finally:
            os.close(null)


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON with ``--json``, otherwise the human ``text``."""
    if getattr(args, "json", False):
        out(json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n")
    else:
        out(text.rstrip("\n") + "\n")


def fail(args: argparse.Namespace | None, message: str, code: int = 2) -> int:
    """Report one clear error line on stderr and return ``code``."""
    if args is not None and getattr(args, "json", False):
        sys.stderr.write(json.dumps({"error": message}) + "\n")
    else:
        sys.stderr.write(f"printpharm: error: {message}\n")
    return code


class JsonAwareParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors honour ``--json`` and exit 2.

    ``json_requested`` is set by :func:`printpharm.cli.main` before parsing,
    because a usage error happens before the namespace exists.
    """

    json_requested = False

    def error(self, message: str) -> NoReturn:
        if JsonAwareParser.json_requested:
            sys.stderr.write(json.dumps({"error": f"{self.prog}: {message}"}) + "\n")
            raise SystemExit(2)
        super().error(message)


def simulator_options(args: argparse.Namespace) -> dict[str, str]:
    """The ``--sim-option KEY=VALUE`` pairs of ``args`` (``run``, ``calibrate``).

    Raises
    ------
    InputError
        One of ``--printer-port``/``--balance-port`` without the other, simulator
        options with real ports, or a pair that is not ``KEY=VALUE``.
    """
    ports = (args.printer_port, args.balance_port)
    if any(ports) and not all(ports):
        raise InputError("give both --printer-port and --balance-port (or neither to simulate)")
    if args.sim_option and any(ports):
        raise InputError("--sim-option applies to the built-in simulators only")
    options: dict[str, str] = {}
    for text in args.sim_option:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--sim-option {text!r} is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return options
