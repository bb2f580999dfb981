"""``Balance``: an MT-SICS (level 0/1) analytical balance over a :class:`Transport`.

One command is in flight at a time (the manual warns that pipelined commands
are confused or ignored); every command ends with CR LF; replies are split on
whitespace, never sliced by column; weights stay exact ``Decimal`` values with
their unit. ``S D`` (dynamic) is never accepted as a dose weight.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from printpharm.devices.transport import Transport
from printpharm.errors import (
    BalanceError,
    BalanceOverload,
    BalanceUnstable,
    DeviceTimeout,
    InputError,
    ProtocolError,
)

__all__ = ["Balance", "BalanceInfo", "Weighing", "parse_weight_reply"]

_MG_PER_UNIT = {"mg": Decimal(1), "g": Decimal(1000), "kg": Decimal(1_000_000)}
_GENERAL_ERRORS = {
    "ES": "syntax error (command not recognised)",
    "ET": "transmission error",
    "EL": "logical error (cannot execute)",
}


@dataclass(frozen=True)
class Weighing:
    """One balance reading: an exact mass in ``unit`` and whether it was stable."""

    mass: Decimal
    unit: str
    stable: bool
    raw: str
    timestamp: datetime

    @property
    def mass_mg(self) -> Decimal:
        """The mass converted exactly to milligrams.

        Raises
        ------
        BalanceError
            If the unit is not g, mg or kg.
        """
        try:
            return self.mass * _MG_PER_UNIT[self.unit]
        except KeyError:
            raise BalanceError(
                f"balance unit {self.unit!r} cannot be converted to mg (expected g, mg or kg)"
            ) from None

    @property
    def mass_g(self) -> Decimal:
        """The mass converted exactly to grams (see :attr:`mass_mg`)."""
        return self.mass_mg / Decimal(1000)


#: Unrequested lines drained before a command; more means the balance streams on its own.
_MAX_STALE_LINES = 64


@dataclass(frozen=True)
class BalanceInfo:
    """Identity from ``I2``/``I4``: model text, capacity with unit, serial number."""

    model: str
    capacity: str
    serial_number: str


def _check_general_error(line: str, command: str) -> None:
    code = line.strip()
    if code in _GENERAL_ERRORS:
        raise BalanceError(f"balance answered {code} to {command!r}: {_GENERAL_ERRORS[code]}")


def parse_weight_reply(line: str, command: str = "S") -> Weighing:
    """Parse ``S S     12.3456 g`` (or ``S D ...``) into a :class:`Weighing`.

    Raises
    ------
    BalanceError
        ``ES``/``ET``/``EL``.
    BalanceUnstable
        ``S I`` (no stable value in time, or busy).
    BalanceOverload
        ``S +`` or ``S -``.
    ProtocolError
        Anything else that is not a weight reply.
    """
    _check_general_error(line, command)
    tokens = line.split()
    if len(tokens) >= 2 and tokens[0] == "S":
        status = tokens[1]
        if status == "I":
            raise BalanceUnstable(
                f"balance gave no stable weight for {command!r} ({line.strip()!r})"
            )
        if status in ("+", "-"):
            which = "overload" if status == "+" else "underload"
            raise BalanceOverload(f"balance reports {which} ({line.strip()!r})")
        if status in ("S", "D") and len(tokens) == 4:
            try:
                mass = Decimal(tokens[2])
            except InvalidOperation:
                mass = Decimal("NaN")
            if mass.is_finite():
                return Weighing(mass, tokens[3], status == "S", line, datetime.now(UTC))
    raise ProtocolError(f"balance answered {line!r} to {command!r}; expected 'S S <value> <unit>'")


class Balance:
    """An MT-SICS balance. The driver never opens ports: pass a transport.

    Parameters
    ----------
    transport : Transport
        ``open_transport("sim://balance?...")`` or a serial port (9600 8N1).
    command_timeout_s : float
        Seconds to wait for the answer to a quick command (``@``, ``I2``, ``SI``).
    stable_timeout_s : float
        Seconds to wait for the answer to a command that waits for stability
        (``S``, ``T``, ``Z``) unless the call gives its own: longer than the
        balance's own stability timeout. A balance that stays silent this long is
        lost (:class:`DeviceTimeout`).
    """

    def __init__(
        self, transport: Transport, command_timeout_s: float = 5.0, stable_timeout_s: float = 30.0
    ) -> None:
        self.transport = transport
        self.command_timeout_s = command_timeout_s
        self.stable_timeout_s = stable_timeout_s
        self._lock = threading.Lock()

    def _command(self, command: str, timeout_s: float | None = None) -> str:
        """Send one command and return its (single-line) answer."""
        wait_s = self.command_timeout_s if timeout_s is None else timeout_s
        with self._lock:
            for _ in range(_MAX_STALE_LINES):  # late answers to earlier, timed-out commands
                if self.transport.readline(0.0) is None:
                    break
            else:
                raise ProtocolError(
                    f"{self.transport.name}: the balance keeps sending without being asked "
                    f"(more than {_MAX_STALE_LINES} lines; continuous output switched on?)"
                )
            self.transport.write(command.encode("ascii") + b"\r\n")
            raw = self.transport.readline(wait_s)
        if raw is None:
            raise DeviceTimeout(
                f"{self.transport.name}: no answer to {command!r} within {wait_s} s"
            )
        line = raw.decode("ascii", errors="replace").strip()
        _check_general_error(line, command)
        return line

    def _quoted(self, command: str) -> str:
        line = self._command(command)
        head, _, rest = line.partition('"')
        if head.split() != [command, "A"] or not rest.endswith('"'):
            raise ProtocolError(f"balance answered {line!r} to {command!r}")
        return rest[:-1]

    def identify(self) -> BalanceInfo:
        """Reset (``@``, stops any stream) and read ``I2`` and ``I4``.

        Raises
        ------
        DeviceTimeout, BalanceError, ProtocolError
        """
        self._command("@")
        data = self._quoted("I2").split()
        serial_number = self._quoted("I4")
        if len(data) < 3:
            raise ProtocolError(f"balance data {' '.join(data)!r} lacks '<type> <capacity> <unit>'")
        return BalanceInfo(" ".join(data[:-2]), f"{data[-2]} {data[-1]}", serial_number)

    def zero(self, timeout_s: float | None = None) -> None:
        """Zero when stable (``Z``).

        Raises
        ------
        BalanceUnstable
            ``Z I``: no stable value in time.
        BalanceOverload
            ``Z +``/``Z -``: outside the zeroing range.
        """
        wait_s = self.stable_timeout_s if timeout_s is None else timeout_s
        self._expect_ok("Z", self._command("Z", wait_s), "Z A")

    def tare(self, timeout_s: float | None = None) -> Decimal:
        """Tare when stable (``T``); return the tare weight in the balance unit.

        Raises
        ------
        BalanceUnstable, BalanceOverload, ProtocolError
        """
        line = self._command("T", self.stable_timeout_s if timeout_s is None else timeout_s)
        tokens = line.split()
        self._expect_ok("T", line, "T S")
        try:
            return Decimal(tokens[2])
        except (IndexError, InvalidOperation):
            raise ProtocolError(f"balance answered {line!r} to 'T'") from None

    @staticmethod
    def _expect_ok(command: str, line: str, expected: str) -> None:
        status = line.split()[1:2]
        if status == ["I"]:
            raise BalanceUnstable(f"balance could not execute {command!r} ({line!r}): not stable")
        if status in (["+"], ["-"]):
            raise BalanceOverload(f"balance refused {command!r} ({line!r}): out of range")
        if not line.startswith(expected):
            raise ProtocolError(f"balance answered {line!r} to {command!r}; expected {expected!r}")

    def weigh(self, timeout_s: float | None = None, retries: int = 2) -> Weighing:
        """Read a stable weight (``S``), retrying ``S I`` up to ``retries`` times.

        Parameters
        ----------
        timeout_s : float or None
            Seconds to wait for each answer; longer than the balance's own
            stability timeout (None: :attr:`stable_timeout_s`).
        retries : int
            Further attempts after an ``S I``.

        Raises
        ------
        BalanceUnstable
            Still no stable weight after the retries.
        BalanceOverload
            Over- or underload.
        DeviceTimeout
            No answer within ``timeout_s``.
        """
        if retries < 0:
            raise InputError(f"retries = {retries}; must be >= 0")
        timeout_s = self.stable_timeout_s if timeout_s is None else timeout_s
        for attempt in range(retries + 1):
            try:
                weighing = parse_weight_reply(self._command("S", timeout_s), "S")
            except BalanceUnstable:
                if attempt == retries:
                    raise BalanceUnstable(
                        f"{self.transport.name}: no stable weight after {retries + 1} attempts "
                        f"of up to {timeout_s} s"
                    ) from None
                continue
            if not weighing.stable:
                raise ProtocolError(f"balance answered a dynamic value to 'S': {weighing.raw!r}")
            return weighing
        raise AssertionError("unreachable")  # pragma: no cover

    def weigh_immediate(self) -> Weighing:
        """Read the current weight at once (``SI``); it may be unstable (``stable=False``)."""
        return parse_weight_reply(self._command("SI"), "SI")
