"""Printer and balance simulators that speak the real serial protocols.

``sim://printer?seed=3&fast=1&corrupt_rx=0.01`` and ``sim://balance?...`` URLs
(see :func:`open_sim_transport`) build them in-process; ``PtyServer`` serves
them over a pseudo-terminal. A printer and a balance given the same
``plate=<name>`` share one build plate: the balance weighs what the printer
deposited.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from printpharm.devices.sim.balance import BalanceFaults, BalanceSim, BalanceSimConfig
from printpharm.devices.sim.options import OptionTable, apply_options, describe, flag, option_table
from printpharm.devices.sim.plate import Plate
from printpharm.devices.sim.printer import PrinterFaults, PrinterSim, PrinterSimConfig
from printpharm.devices.sim.process import IDEAL, KIND_DEFAULTS, ProcessConfig
from printpharm.devices.sim.pty import PtyServer, SimTransport
from printpharm.errors import InputError

__all__ = [
    "BALANCE_OPTIONS",
    "COMMON_OPTIONS",
    "FAST_PTY_SPEED",
    "PRINTER_OPTIONS",
    "PROCESS_OPTIONS",
    "BalanceFaults",
    "BalanceSim",
    "BalanceSimConfig",
    "Plate",
    "PrinterFaults",
    "PrinterSim",
    "PrinterSimConfig",
    "ProcessConfig",
    "PtyServer",
    "SimTransport",
    "build_balance",
    "build_printer",
    "default_balance_url",
    "default_printer_url",
    "open_sim_transport",
    "options_help",
    "parse_sim_url",
    "shared_plate",
]

#: Simulator seconds per wall second of ``fast`` simulators served over a pty.
FAST_PTY_SPEED = 1000.0


_PRINTER_ALIASES = {
    "corrupt_rx": "corrupt_rx_rate",
    "corrupt_tx": "corrupt_tx_rate",
    "drop_after": "drop_after_lines",
    "silent_after": "silent_after_lines",
}
#: Options of the printer simulator: every field of PrinterSimConfig, its faults and process.
PRINTER_OPTIONS: OptionTable = option_table(PrinterSimConfig, _PRINTER_ALIASES)
#: Options of the balance simulator: every field of BalanceSimConfig and its faults.
BALANCE_OPTIONS: OptionTable = option_table(BalanceSimConfig)
#: Options of the transport rather than the device (``sim://`` URLs).
COMMON_OPTIONS = ("fast", "speed", "plate")
#: The process options shown first in help texts (what a study varies).
PROCESS_OPTIONS = (
    "process_rsd",
    "process_sd_mg",
    "drift_pct_per_unit",
    "bias",
    "clog_unit",
    "clog_factor",
    "bubble_rate",
    "bubble_loss",
    "start_lag_mm3",
    "ink_kind",
    "mass_per_mm3",
    "mass_offset_mg",
    "balance_sd_mg",
    "drift_mg_per_min",
    "settle_s",
    "seed",
)

_PLATES: dict[str, Plate] = {}
_PLATES_LOCK = threading.Lock()


def shared_plate(name: str) -> Plate:
    """The process-wide plate called ``name`` (links ``sim://`` printers and balances)."""
    with _PLATES_LOCK:
        return _PLATES.setdefault(name, Plate())


def _process_defaults(options: Mapping[str, str]) -> dict[str, float]:
    """The defaults of the ink kind; ``process_rsd=0`` also turns drift, bubbles and lag off."""
    defaults = dict(KIND_DEFAULTS.get(options.get("ink_kind", "sse_paste"), {}))
    try:
        ideal = "process_rsd" in options and float(options["process_rsd"]) == 0
    except ValueError:
        ideal = False  # apply_options reports the bad value
    if ideal:
        defaults.update(IDEAL)
    return defaults


def build_printer(options: Mapping[str, str], plate: Plate | None = None) -> PrinterSim:
    """Build a printer simulator from ``key=value`` options (:data:`PRINTER_OPTIONS`).

    ``ink_kind`` picks the realistic process defaults of that kind
    (:data:`~.process.KIND_DEFAULTS`); ``process_rsd=0`` makes the process ideal
    (no noise, drift, bubbles or start lag unless one is given explicitly).

    Raises
    ------
    InputError
        Unknown option, unparsable or out-of-range value, or unknown ``e_units``.
    """
    config = PrinterSimConfig()
    for name, value in _process_defaults(options).items():
        setattr(config.process, name, value)
    apply_options(config, options, PRINTER_OPTIONS, ignore=COMMON_OPTIONS)
    return PrinterSim(config, plate)


def build_balance(options: Mapping[str, str], plate: Plate | None = None) -> BalanceSim:
    """Build a balance simulator from ``key=value`` options (:data:`BALANCE_OPTIONS`).

    Raises
    ------
    InputError
        Unknown option or unparsable value.
    """
    config = BalanceSimConfig()
    apply_options(config, options, BALANCE_OPTIONS, ignore=COMMON_OPTIONS)
    return BalanceSim(config, plate)


def options_help() -> str:
    """The simulator options as help text (``printpharm sim --help``, the README)."""
    both = PRINTER_OPTIONS | BALANCE_OPTIONS
    others = sorted(n for n in PRINTER_OPTIONS if n not in PROCESS_OPTIONS)
    balance = sorted(n for n in BALANCE_OPTIONS if n not in PROCESS_OPTIONS)
    lines = ["process (the printer deposits what the ink's calibration predicts; the balance"]
    lines.append("weighs it with its own noise):")
    lines += ["  " + line for line in describe(both, PROCESS_OPTIONS)]
    lines.append("printer firmware and faults: " + ", ".join(others))
    lines.append("balance identity and faults: " + ", ".join(balance))
    return "\n".join(lines)


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
    try:
        fast = flag(options.get("fast", "0"))
    except ValueError as exc:
        raise InputError(f"simulator option fast={options['fast']!r}: {exc}") from exc
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
