"""The built-in simulators served on pseudo-terminals for any host (``printpharm sim``).

:func:`serve_simulators` builds a printer (optionally with the plate balance that
weighs its deposits) or a balance from ``KEY[=VALUE]`` options and serves them on
ptys; :class:`ServedSimulators` says where and stops them. The CLI only parses
arguments and waits for a signal.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from printpharm.devices.sim import (
    BALANCE_OPTIONS,
    FAST_PTY_SPEED,
    PRINTER_OPTIONS,
    Plate,
    PtyServer,
    build_balance,
    build_printer,
    options_help,
)
from printpharm.errors import InputError

__all__ = [
    "FAST_PTY_SPEED",
    "ServedSimulators",
    "options_help",
    "serve_simulators",
    "split_option_pairs",
]


def split_option_pairs(pairs: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Sort ``KEY[=VALUE]`` pairs into printer and balance options (by who knows the key).

    Raises
    ------
    InputError
        A pair without a key.
    """
    printer: dict[str, str] = {}
    balance: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not key:
            raise InputError(f"--option {pair!r}: expected KEY or KEY=VALUE")
        if key.startswith("balance."):
            balance[key.removeprefix("balance.")] = value
        elif key in BALANCE_OPTIONS and key not in PRINTER_OPTIONS:
            balance[key] = value
        else:
            printer[key] = value
    return printer, balance


@dataclass
class ServedSimulators:
    """Simulators being served: their pty paths by name (``printer``, ``balance``)."""

    servers: dict[str, PtyServer]

    @property
    def paths(self) -> dict[str, str]:
        """The pty path of each simulator."""
        return {name: server.path for name, server in self.servers.items()}

    def wait(self, stop: threading.Event) -> str | None:
        """Serve until ``stop`` is set or a simulated connection drops (returns why)."""
        while not stop.wait(0.2):
            if any(server.dropped.is_set() for server in self.servers.values()):
                return "the simulated connection was dropped (fault); stopping"
        return None

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.stop()


def serve_simulators(
    kind: str, pairs: Sequence[str], *, seed: int, speed: float, link: bool
) -> ServedSimulators:
    """Build and start a ``printer`` (with its plate balance if ``link``) or a ``balance``.

    Raises
    ------
    InputError
        An unknown or malformed option, a balance option without ``link``, or a
        speed that is not positive.
    """
    options, balance_options = split_option_pairs(pairs)
    chosen = options.get("seed", balance_options.get("seed", str(seed)))
    for target in (options, balance_options):
        target.setdefault("seed", chosen)
    if not speed > 0:
        raise InputError(f"--speed {speed}: must be > 0")
    servers: dict[str, PtyServer] = {}
    if kind == "printer":
        plate = Plate()
        if not link and len(balance_options) > 1:  # more than the seed
            stray = ", ".join(sorted(k for k in balance_options if k != "seed"))
            raise InputError(f"balance option(s) {stray} need --link (a balance to serve)")
        servers["printer"] = PtyServer(build_printer(options, plate), speed)
        if link:
            servers["balance"] = PtyServer(build_balance(balance_options, plate), speed)
    else:
        servers["balance"] = PtyServer(build_balance({**options, **balance_options}), speed)
    for server in servers.values():
        server.start()
    return ServedSimulators(servers)
