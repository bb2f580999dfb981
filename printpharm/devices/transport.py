"""The serial seam: a small ``Transport`` protocol and ``open_transport(url)``.

Every byte to and from a printer or balance passes through :class:`LoggedTransport`
(the one serial log: the ``printpharm.devices.serial`` logger and optionally a
file). pyserial exceptions are translated here into printpharm's device errors.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from printpharm.devices._lines import pop_line
from printpharm.errors import DeviceDisconnected, DeviceTimeout

__all__ = [
    "SERIAL_LOGGER",
    "LoggedTransport",
    "ResettableTransport",
    "SerialTransport",
    "Transport",
    "open_transport",
    "pop_line",
]


#: The logger every transport writes its traffic to (DEBUG level).
SERIAL_LOGGER = logging.getLogger("printpharm.devices.serial")


@runtime_checkable
class Transport(Protocol):
    """A line-oriented byte channel to one device.

    ``readline`` returns one line without its ``\\r``/``\\n`` terminator, or None
    when ``timeout_s`` seconds pass without a complete line. Implementations
    raise :class:`~printpharm.errors.DeviceDisconnected` when the channel is gone.
    """

    name: str

    def write(self, data: bytes) -> None:
        """Send ``data`` as is."""

    def readline(self, timeout_s: float) -> bytes | None:
        """Return the next line (terminator stripped) or None after ``timeout_s`` s."""

    def close(self) -> None:
        """Release the channel; further use raises DeviceDisconnected."""


@runtime_checkable
class ResettableTransport(Transport, Protocol):
    """A transport that can pulse DTR (resets boards with a USB-UART bridge)."""

    def pulse_dtr(self) -> None:
        """Toggle DTR; ports without modem lines (ptys) ignore it."""


def _serial_module() -> ModuleType:
    # Imported on first use: the CLI and the GUI start without loading pyserial.
    import serial

    module: ModuleType = serial
    return module


class SerialTransport:
    """A transport over any pyserial URL (``COM3``, ``/dev/ttyACM0``, ``socket://``...).

    Parameters
    ----------
    url : str
        A port name or pyserial URL (``serial.serial_for_url``).
    baudrate : int
        Line speed in baud (ignored by USB-CDC and pseudo-terminals).
    write_timeout_s : float
        Seconds a write may block before :class:`DeviceTimeout`.

    Raises
    ------
    DeviceDisconnected
        If the port cannot be opened.
    """

    _POLL_S = 0.05

    def __init__(self, url: str, baudrate: int = 115200, write_timeout_s: float = 5.0) -> None:
        self.name = url
        self._serial = _serial_module()
        self._buffer = bytearray()
        try:
            # exclusive: a second host on the port (another run, the GUI) would read this
            # run's ok lines and interleave its G-code; flock on POSIX, COM ports always are
            self._port: Any = self._serial.serial_for_url(
                url,
                baudrate=baudrate,
                timeout=self._POLL_S,
                write_timeout=write_timeout_s,
                exclusive=True,
            )
        except (self._serial.SerialException, OSError, ValueError) as exc:
            why = (
                "it is in use by another program (another printpharm run?)"
                if "exclusively lock" in str(exc)
                else str(exc)
            )
            raise DeviceDisconnected(f"could not open serial port {url!r}: {why}") from exc

    def write(self, data: bytes) -> None:
        """Write ``data``; raise DeviceTimeout or DeviceDisconnected on failure."""
        try:
            self._port.write(data)
        except self._serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"{self.name} did not accept {data!r} in time") from exc
        except (self._serial.SerialException, OSError, TypeError) as exc:
            raise DeviceDisconnected(f"{self.name}: write failed ({exc})") from exc

    def readline(self, timeout_s: float) -> bytes | None:
        """Return one line without terminator, or None after ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = pop_line(self._buffer)
            if line is not None:
                return line
            try:
                waiting = self._port.in_waiting
                if waiting == 0 and time.monotonic() >= deadline:
                    return None
                chunk = self._port.read(max(1, waiting))
            except (self._serial.SerialException, OSError, TypeError) as exc:
                raise DeviceDisconnected(f"{self.name}: the port went away ({exc})") from exc
            self._buffer.extend(chunk)

    def pulse_dtr(self) -> None:
        """Toggle DTR low then high; a pty's ``OSError`` is tolerated."""
        try:
            self._port.dtr = False
            time.sleep(0.05)
            self._port.dtr = True
        except (OSError, self._serial.SerialException) as exc:
            SERIAL_LOGGER.debug("%s: DTR not supported (%s)", self.name, exc)

    def close(self) -> None:
        """Close the port (idempotent)."""
        try:
            self._port.close()
        except (self._serial.SerialException, OSError) as exc:
            SERIAL_LOGGER.debug("%s: error on close ignored (%s)", self.name, exc)


class LoggedTransport:
    """Wraps a transport and logs every byte written and every line read.

    Parameters
    ----------
    inner : Transport
        The transport doing the I/O.
    log_path : Path or None
        Optional file that receives the same traffic, one line per event.
    """

    def __init__(self, inner: Transport, log_path: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._lock = threading.Lock()
        self._file = log_path.open("a", encoding="utf-8") if log_path is not None else None

    def _log(self, arrow: str, data: bytes) -> None:
        if SERIAL_LOGGER.isEnabledFor(logging.DEBUG):
            SERIAL_LOGGER.debug("%s %s %r", self.name, arrow, data)
        if self._file is not None:
            with self._lock:
                self._file.write(f"{time.time():.6f} {self.name} {arrow} {data!r}\n")

    def write(self, data: bytes) -> None:
        """Log and write ``data``."""
        self._log(">", data)
        self.inner.write(data)

    def readline(self, timeout_s: float) -> bytes | None:
        """Read and log one line (None on timeout)."""
        line = self.inner.readline(timeout_s)
        if line is not None:
            self._log("<", line)
        return line

    def pulse_dtr(self) -> None:
        """Pulse DTR if the inner transport can."""
        if isinstance(self.inner, ResettableTransport):
            self._log("!", b"DTR pulse")
            self.inner.pulse_dtr()

    def close(self) -> None:
        """Close the inner transport and the log file."""
        self.inner.close()
        if self._file is not None:
            with self._lock:
                self._file.close()
                self._file = None


def open_transport(url: str, *, baudrate: int = 115200, log_path: Path | None = None) -> Transport:
    """Open a transport by URL.

    Parameters
    ----------
    url : str
        ``sim://printer?seed=3&fast=1`` or ``sim://balance?...`` for the built-in
        simulators, otherwise any pyserial port name or URL (``COM3``,
        ``/dev/ttyACM0``, ``socket://host:port``, ``rfc2217://host:port``).
    baudrate : int
        Line speed in baud for real ports (MT-SICS balances default to 9600).
    log_path : Path or None
        Optional serial-log file (the ``printpharm.devices.serial`` logger always logs).

    Returns
    -------
    Transport
        A logged transport.

    Raises
    ------
    DeviceDisconnected
        If the port cannot be opened.
    InputError
        If a ``sim://`` URL names an unknown simulator or a bad option.
    """
    inner: Transport
    if url.startswith("sim://"):
        from printpharm.devices.sim import open_sim_transport

        inner = open_sim_transport(url)
    else:
        inner = SerialTransport(url, baudrate=baudrate)
    return LoggedTransport(inner, log_path)
