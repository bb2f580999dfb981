"""``PrinterLink``: a Marlin-family printer over a :class:`Transport`.

Typical use::

    link = PrinterLink(open_transport("sim://printer?seed=3&fast=1"))
    info = link.connect()
    link.heat_and_wait(hotend_c=Decimal("37"))
    stats = link.stream(gcode_lines, on_progress=print)
    link.wait_for_moves()

All calls block the calling thread; ``pause``, ``resume``, ``abort`` and
``emergency_stop`` may be called from another thread while a stream runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from decimal import Decimal

from printpharm.devices._stream import (
    LinkOptions,
    ProgressCallback,
    StreamStats,
    _Run,
    _Wire,
)
from printpharm.devices.marlin import (
    PRESSURE_CAPABILITY,
    HeaterReading,
    PressureReading,
    PrinterInfo,
    clean_gcode,
    frame_line,
    is_fatal_error,
    parse_firmware_info,
    parse_ok,
    parse_resend,
)
from printpharm.devices.transport import ResettableTransport, Transport
from printpharm.errors import DeviceTimeout, InputError, PrinterHalted

__all__ = [
    "HeaterReading",
    "LinkOptions",
    "PressureReading",
    "PrinterInfo",
    "PrinterLink",
    "ProgressCallback",
    "StreamStats",
]

#: Commands that leave the printer safe after an abort: heaters, fan and motors off.
SAFE_STATE_COMMANDS = ("M104 S0", "M140 S0", "M107", "M84")


class PrinterLink:
    """The Marlin host protocol over one transport.

    Parameters
    ----------
    transport : Transport
        An open transport (``open_transport(url)``); the link never opens ports.
    options : LinkOptions or None
        Timeouts in seconds and the window limit.
    """

    def __init__(self, transport: Transport, options: LinkOptions | None = None) -> None:
        self.transport = transport
        self._wire = _Wire(transport, options or LinkOptions())
        self._busy = threading.RLock()
        self._streaming = False
        self._last_confirmed = False
        self.info: PrinterInfo | None = None
        self.last_stats: StreamStats | None = None

    # -- connection ------------------------------------------------------------------
    def connect(self, timeout_s: float = 10.0, hello_interval_s: float = 1.0) -> PrinterInfo:
        """Reset (DTR) if possible, say hello (``M110 N0``) until ``ok``, read ``M115``.

        Returns
        -------
        PrinterInfo
            Firmware fields and ``Cap:`` capabilities.

        Raises
        ------
        DeviceTimeout
            No ``ok`` to the hello within ``timeout_s`` seconds.
        DeviceDisconnected, PrinterHalted
            The port went away, or the firmware reports it is halted.
        """
        with self._busy:
            if isinstance(self.transport, ResettableTransport):
                self.transport.pulse_dtr()
            hello = (frame_line(0, "M110 N0") + "\n").encode()
            deadline = time.monotonic() + timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeviceTimeout(
                        f"{self.transport.name}: no answer to M110 N0 within {timeout_s} s "
                        "(is it a Marlin printer, the right port and baud rate?)"
                    )
                self._wire.write(hello)
                if self._await_hello(min(hello_interval_s, remaining)):
                    break
            self._wire.next_n, self._wire.needs_resync, self._wire.halted = 1, False, None
            self.info = parse_firmware_info(self.send("M115"))
            return self.info

    def _await_hello(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        failed = booted = False
        while (remaining := deadline - time.monotonic()) > 0:
            # after "start", the boot banner's end (a short silence) means a hello
            # sent during the reset was eaten by the bootloader: say hello again
            line = self._wire.readline(min(remaining, 0.3) if booted else remaining)
            if line is None:
                if booted:
                    return False
                continue
            if line == "start":
                booted = True
                continue
            if parse_resend(line) is not None or line.lower().startswith("error"):
                if is_fatal_error(line):
                    raise PrinterHalted(f"{self.transport.name} is halted: {line}")
                failed = True
                continue
            ok = parse_ok(line)
            if ok is None:
                continue  # boot banner, echo lines, garbage
            self._wire.learn(ok)
            if failed:
                return False
            if ok.line in (0, None):
                return True
        return False

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    # -- sending ---------------------------------------------------------------------
    def send(self, command: str) -> list[str]:
        """Send one command, wait for its ``ok`` and return what it printed.

        Returns
        -------
        list of str
            The lines printed before the ``ok`` and the ``ok`` line's payload
            (e.g. the temperatures of ``M105``).

        Raises
        ------
        InputError
            Empty, commented-out, non-ASCII or over-long command.
        DeviceTimeout, DeviceDisconnected, PrinterHalted
            See :meth:`stream`.
        """
        commands = clean_gcode([command])
        if len(commands) != 1:
            raise InputError(f"command {command!r} is empty once its comment is stripped")
        collected: list[str] = []
        self._execute(commands, None, collected)
        return collected

    def stream(
        self, lines: Iterable[str], on_progress: ProgressCallback | None = None
    ) -> StreamStats:
        """Stream G-code: strip comments and blank lines, number, checksum, send all.

        Every line is executed exactly once and in order: resend requests rewind
        to the requested line, stalls are probed, and the function returns only
        when every line is acknowledged (or ``abort()`` was called).

        Parameters
        ----------
        lines : iterable of str
            G-code text lines (comments allowed).
        on_progress : callable or None
            ``on_progress(lines_acked, lines_total)`` after each acknowledgement.

        Returns
        -------
        StreamStats
            Lines, resends, errors, probes, elapsed seconds, aborted flag.

        Raises
        ------
        InputError
            A line longer than Marlin's 96-byte buffer once framed, or non-ASCII.
        DeviceDisconnected
            The port went away (the message counts the acknowledged lines).
        DeviceTimeout
            The printer stopped answering (probed, then declared lost).
        PrinterHalted
            ``Printer halted``/thermal error, an emergency stop, or a board reset.
        """
        return self._execute(clean_gcode(lines), on_progress, None)

    def _execute(
        self,
        commands: list[str],
        on_progress: ProgressCallback | None,
        collect: list[str] | None,
    ) -> StreamStats:
        with self._busy:
            run = _Run(self._wire, commands, on_progress, collect)
            self._streaming = True
            try:
                self.last_stats = run.run()
            finally:
                self._streaming = False
                self.last_stats = run.stats
            self._last_confirmed = run.confirmed >= run.total
            if self.last_stats.aborted:
                self._make_safe()
            return self.last_stats

    def _make_safe(self) -> None:
        self._wire.abort.clear()
        self._wire.paused.clear()
        _Run(self._wire, list(SAFE_STATE_COMMANDS)).run()

    # -- conveniences ---------------------------------------------------------------
    def wait_for_moves(self, attempts: int = 3) -> None:
        """Block until every queued move has finished (``M400``).

        Only M400's own ``ok`` proves the moves are done. If that ok was lost and
        the firmware merely showed (by ``Resend:``) that it accepted the M400,
        another M400 is sent, up to ``attempts`` in all.

        Raises
        ------
        DeviceTimeout
            No M400 completion was confirmed after ``attempts`` tries.
        """
        for _ in range(attempts):
            self.send("M400")
            if self._last_confirmed:
                return
        raise DeviceTimeout(
            f"{self.transport.name}: M400 was accepted but its completion was not confirmed "
            f"after {attempts} attempts"
        )

    def set_temperatures(
        self, hotend_c: Decimal | None = None, bed_c: Decimal | None = None
    ) -> None:
        """Set targets in °C without waiting (``M104``/``M140``); None leaves one alone."""
        if hotend_c is not None:
            self.send(f"M104 S{_temp(hotend_c, 'hotend_c')}")
        if bed_c is not None:
            self.send(f"M140 S{_temp(bed_c, 'bed_c')}")

    def heat_and_wait(self, hotend_c: Decimal | None = None, bed_c: Decimal | None = None) -> None:
        """Set targets in °C and wait until reached (``M190`` then ``M109``).

        Raises
        ------
        PrinterHalted
            A thermal fault (e.g. thermal runaway) halted the firmware.
        """
        self.set_temperatures(hotend_c, bed_c)
        if bed_c is not None:
            self.send(f"M190 S{_temp(bed_c, 'bed_c')}")
        if hotend_c is not None:
            self.send(f"M109 S{_temp(hotend_c, 'hotend_c')}")

    def temperatures(self) -> dict[str, HeaterReading]:
        """Poll ``M105`` and return the heaters (``"T"``, ``"B"``, ...) in °C."""
        self.send("M105")
        return dict(self._wire.temperatures)

    @property
    def last_temperatures(self) -> dict[str, HeaterReading]:
        """The latest temperatures seen in any reply (M105, M155 auto-report, M109)."""
        return dict(self._wire.temperatures)

    def start_auto_report(self, interval_s: int = 1) -> None:
        """Ask for temperature reports every ``interval_s`` s (``M155``; 0 stops)."""
        self.send(f"M155 S{int(interval_s)}")

    # -- extrusion pressure (a load cell under the plunger) ---------------------------
    @property
    def reports_pressure(self) -> bool:
        """Whether ``M115`` announced ``Cap:PRESSURE_REPORT`` (``M1105``/``M1155``)."""
        return self.info is not None and self.info.has(PRESSURE_CAPABILITY)

    def start_pressure_report(self, interval_s: Decimal) -> None:
        """Ask for a pressure report every ``interval_s`` s (``M1155 S<s>``; 0 stops).

        Raises
        ------
        InputError
            ``interval_s`` outside 0–60 s.
        """
        if not Decimal(0) <= interval_s <= Decimal(60):
            raise InputError(f"pressure report interval {interval_s} s is outside 0-60 s")
        self.send(f"M1155 S{format(interval_s.normalize(), 'f')}")

    def pressure(self) -> PressureReading | None:
        """Poll the extrusion pressure (``M1105``); ``None`` if the printer sent none."""
        self.send("M1105")
        return self._wire.pressures[-1] if self._wire.pressures else None

    def take_pressures(self) -> list[PressureReading]:
        """The pressure reports received since the last call, oldest first."""
        taken: list[PressureReading] = []
        while self._wire.pressures:
            taken.append(self._wire.pressures.popleft())
        return taken

    # -- control from another thread ------------------------------------------------
    def pause(self) -> None:
        """Stop sending new lines (lines in flight still finish)."""
        self._wire.paused.set()

    def resume(self) -> None:
        """Continue a paused stream."""
        self._wire.paused.clear()

    def abort(self) -> None:
        """Stop the stream after the lines in flight, then heaters and motors off.

        With ``Cap:EMERGENCY_PARSER`` an out-of-band ``M108`` ends a heater wait
        in flight. Called while no stream runs, it sends the safe-state commands
        at once.
        """
        self._wire.abort.set()
        if self._streaming and self.info is not None and self.info.has("EMERGENCY_PARSER"):
            self._wire.write(b"M108\n")  # out of band: end a heater wait (M109/M190) now
        if not self._streaming:
            with self._busy:
                if self._wire.abort.is_set():  # a stream that just ended did not handle it
                    self._make_safe()

    def make_safe_blind(self) -> None:
        """Send the safe-state commands unnumbered, without waiting for any answer.

        For a printer that stopped answering (a broken TX line, a hung USB bridge) but
        may still listen: Marlin runs lines without ``N``/``*`` unchecked, so its heaters
        and motors go off. A leading newline ends any line cut short on the wire.

        Raises
        ------
        DeviceDisconnected
            The port is gone.
        """
        self._wire.write(b"\n" + b"".join(c.encode() + b"\n" for c in SAFE_STATE_COMMANDS))

    def emergency_stop(self) -> None:
        """Send ``M112`` at once, unnumbered and out of band; the printer halts.

        A running stream then raises :class:`PrinterHalted` once the firmware
        confirms (or ``ok_timeout_s`` passes). Only a reset
        (re-opening the port on DTR-reset boards) brings the firmware back.
        """
        self._wire.estop.set()
        self._wire.write(b"M112\n")
        if not self._streaming:
            with self._busy:
                if self._wire.estop.is_set():
                    self._wire.confirm_halt()


def _temp(value: Decimal, name: str) -> str:
    if not Decimal("0") <= value <= Decimal("400"):
        raise InputError(f"{name} = {value} °C is outside 0-400 °C")
    return format(value.normalize(), "f")
