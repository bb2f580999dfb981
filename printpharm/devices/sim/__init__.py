"""Printer and balance simulators that speak the real serial protocols.

``sim://printer?seed=3&fast=1&corrupt_rx=0.01`` and ``sim://balance?...`` URLs
(see :func:`open_sim_transport`) build them in-process; ``PtyServer`` serves
them over a pseudo-terminal. A printer and a balance given the same
``plate=<name>`` share one build plate: the balance weighs what the printer
deposited.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from printpharm.devices.sim.balance import BalanceFaults, BalanceSim, BalanceSimConfig
from printpharm.devices.sim.plate import Plate
from printpharm.devices.sim.printer import PrinterFaults, PrinterSim, PrinterSimConfig
from printpharm.devices.sim.pty import PtyServer, SimTransport
from printpharm.errors import InputError

__all__ = [
    "BALANCE_OPTIONS",
    "FAST_PTY_SPEED",
    "PRINTER_OPTIONS",
    "BalanceFaults",
    "BalanceSim",
    "BalanceSimConfig",
    "Plate",
    "PrinterFaults",
    "PrinterSim",
    "PrinterSimConfig",
    "PtyServer",
    "SimTransport",
    "build_balance",
    "build_printer",
    "default_balance_url",
    "default_printer_url",
    "open_sim_transport",
    "parse_sim_url",
    "shared_plate",
]

#: Simulator seconds per wall second of ``fast`` simulators served over a pty.
FAST_PTY_SPEED = 1000.0


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on", ""):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


# option -> (object: "config" | "faults", attribute, converter)
_Conv = Callable[[str], Any]
PRINTER_OPTIONS: dict[str, tuple[str, str, _Conv]] = {
    "seed": ("config", "seed", int),
    "bufsize": ("config", "bufsize", int),
    "planner_blocks": ("config", "planner_blocks", int),
    "advanced_ok": ("config", "advanced_ok", _flag),
    "ok_after_resend": ("config", "ok_after_resend", _flag),
    "emergency_parser": ("config", "emergency_parser", _flag),
    "busy_interval_s": ("config", "busy_interval_s", float),
    "e_units": ("config", "e_units", str),
    "diameter_mm": ("config", "diameter_mm", float),
    "baud": ("config", "baud", int),
    "firmware_name": ("config", "firmware_name", str),
    "machine_type": ("config", "machine_type", str),
    "corrupt_rx": ("faults", "corrupt_rx_rate", float),
    "corrupt_tx": ("faults", "corrupt_tx_rate", float),
    "drop_after": ("faults", "drop_after_lines", int),
    "silent_after": ("faults", "silent_after_lines", int),
    "thermal_runaway": ("faults", "thermal_runaway", _flag),
    "clog_unit": ("faults", "clog_unit", int),
    "clog_factor": ("faults", "clog_factor", float),
}
BALANCE_OPTIONS: dict[str, tuple[str, str, _Conv]] = {
    "seed": ("config", "seed", int),
    "density": ("config", "density_g_per_ml", float),
    "bias": ("config", "bias", float),
    "noise_sd_g": ("config", "noise_sd_g", float),
    "settle_s": ("config", "settle_s", float),
    "stable_timeout_s": ("config", "stable_timeout_s", float),
    "container_g": ("config", "container_g", float),
    "check_weight_g": ("hand", "weight_g", float),
    "never_settles": ("faults", "never_settles", _flag),
    "overload": ("faults", "overload", _flag),
    "underload": ("faults", "underload", _flag),
}
_COMMON = ("fast", "speed", "plate")

_PLATES: dict[str, Plate] = {}
_PLATES_LOCK = threading.Lock()


def shared_plate(name: str) -> Plate:
    """The process-wide plate called ``name`` (links ``sim://`` printers and balances)."""
    with _PLATES_LOCK:
        return _PLATES.setdefault(name, Plate())


def _apply(
    target: Any, options: Mapping[str, str], table: dict[str, tuple[str, str, _Conv]]
) -> None:
    for key, text in options.items():
        if key in _COMMON:
            continue
        if key not in table:
            known = ", ".join(sorted([*table, *_COMMON]))
            raise InputError(f"simulator option {key!r} is unknown; known options: {known}")
        part, attribute, convert = table[key]
        try:
            value = convert(text)
        except ValueError as exc:
            raise InputError(f"simulator option {key}={text!r}: {exc}") from exc
        if part == "hand":
            continue  # set on the built simulator (see build_balance)
        setattr(target.faults if part == "faults" else target, attribute, value)


def build_printer(options: Mapping[str, str], plate: Plate | None = None) -> PrinterSim:
    """Build a printer simulator from ``key=value`` options (:data:`PRINTER_OPTIONS`).

    Raises
    ------
    InputError
        Unknown option, unparsable value, or unknown ``e_units``.
    """
    config = PrinterSimConfig()
    _apply(config, options, PRINTER_OPTIONS)
    return PrinterSim(config, plate)


def build_balance(options: Mapping[str, str], plate: Plate | None = None) -> BalanceSim:
    """Build a balance simulator from ``key=value`` options (:data:`BALANCE_OPTIONS`).

    Raises
    ------
    InputError
        Unknown option or unparsable value.
    """
    config = BalanceSimConfig()
    _apply(config, options, BALANCE_OPTIONS)
    sim = BalanceSim(config, plate)
    if "check_weight_g" in options:  # a hand that follows the guided balance check by itself
        sim.hand.weight_g, sim.hand.auto = float(options["check_weight_g"]), True
    return sim


def parse_sim_url(url: str) -> tuple[str, dict[str, str]]:
    """Split ``sim://printer?seed=3`` into ``("printer", {"seed": "3"})``.

    Raises
    ------
    InputError
        If the URL is not ``sim://printer`` or ``sim://balance``.
    """
    parts = urlsplit(url)
    kind = parts.netloc or parts.path.strip("/")
    if parts.scheme != "sim" or kind not in ("printer", "balance"):
        raise InputError(f"simulator URL {url!r}: expected sim://printer?... or sim://balance?...")
    return kind, dict(parse_qsl(parts.query, keep_blank_values=True))


def open_sim_transport(url: str) -> SimTransport:
    """Build the simulator a ``sim://`` URL names and return it as a Transport.

    ``fast=1`` runs it on a virtual clock (instant, deterministic); otherwise it
    runs on the wall clock × ``speed`` (default 1). ``plate=<name>`` links a
    printer and a balance in this process.

    Raises
    ------
    InputError
        Malformed URL or option.
    """
    kind, options = parse_sim_url(url)
    plate = shared_plate(options["plate"]) if options.get("plate") else None
    sim = build_printer(options, plate) if kind == "printer" else build_balance(options, plate)
    fast = _flag(options.get("fast", "0"))
    try:
        speed = None if fast else float(options.get("speed", "1"))
    except ValueError as exc:
        raise InputError(f"simulator option speed={options['speed']!r}: {exc}") from exc
    return SimTransport(sim, url, speed)


def default_printer_url(fast: bool = False) -> str:
    """The embedded default printer: a simulator linked to :func:`default_balance_url`."""
    return "sim://printer?plate=default&seed=0" + ("&fast=1" if fast else "")


def default_balance_url(fast: bool = False) -> str:
    """The embedded default balance, weighing the default printer's plate."""
    return "sim://balance?plate=default&seed=0" + ("&fast=1" if fast else "")
