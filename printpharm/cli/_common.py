"""Shared helpers of the command line: JSON output, errors, common options."""

from __future__ import annotations

import argparse
import json
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


def emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    """Print ``payload`` as JSON with ``--json``, otherwise the human ``text``."""
    if getattr(args, "json", False):
        json.dump(to_jsonable(payload), sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


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
