"""Serving a simulator: in-process as a Transport, or over a real pseudo-terminal.

``SimTransport`` drives the state machine from the caller's thread. With
``speed=None`` it runs on a *virtual clock* that jumps to the simulator's next
event whenever the host waits, so heating, settling and timeouts take no wall
time and runs are deterministic. ``PtyServer`` serves the master side of
``os.openpty()`` in a thread on the wall clock × ``speed``; clients open
:attr:`PtyServer.path` with pyserial like a USB port. Dropping the connection
closes the master, which the client sees as a hang-up.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import threading
import time

from printpharm.devices._lines import pop_line
from printpharm.devices.sim._base import SimDevice
from printpharm.errors import DeviceDisconnected, DeviceError

__all__ = ["PtyServer", "SimTransport"]

#: Most events run one by one when the server thread wakes up late.
_MAX_CATCH_UP = 1000


class SimTransport:
    """A simulator as a :class:`~printpharm.devices.transport.Transport`.

    Parameters
    ----------
    sim : SimDevice
        The state machine.
    name : str
        Shown in logs and errors (the ``sim://`` URL).
    speed : float or None
        Simulator seconds per wall-clock second; None for the virtual clock.
    """

    def __init__(self, sim: SimDevice, name: str, speed: float | None = None) -> None:
        self.sim = sim
        self.name = name
        self._speed = speed
        self._t0 = time.monotonic()
        self._virtual_s = 0.0
        self._buffer = bytearray()
        self._closed = False

    def _now(self) -> float:
        if self._speed is None:
            return self._virtual_s
        return (time.monotonic() - self._t0) * self._speed

    def write(self, data: bytes) -> None:
        """Feed ``data`` to the simulator."""
        if self._closed or self.sim.disconnected:
            raise DeviceDisconnected(f"{self.name}: the simulated connection is closed")
        self.sim.step(self._now())  # bring the simulator to the time the bytes are sent
        self.sim.feed(data)

    def readline(self, timeout_s: float) -> bytes | None:
        """Run the simulator until it prints a line or ``timeout_s`` wall seconds pass."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = pop_line(self._buffer)
            if line is not None:
                return line
            if self._closed:
                raise DeviceDisconnected(f"{self.name}: the simulated connection is closed")
            now = self._now()
            self.sim.step(now)
            self._buffer += self.sim.take_output()
            if b"\n" in self._buffer:
                continue
            if self.sim.disconnected:
                raise DeviceDisconnected(f"{self.name}: the simulated connection dropped")
            event = self.sim.next_event_s(now)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if self._speed is None and event is not None:
                self._virtual_s = max(self._virtual_s, event)
                continue
            wait = remaining if event is None else (event - now) / (self._speed or 1.0)
            time.sleep(max(0.0, min(remaining, wait, 0.02)))

    def close(self) -> None:
        """Close the simulated link."""
        self._closed = True


class PtyServer:
    """Serve ``sim`` on the master side of a new pseudo-terminal (POSIX only).

    Parameters
    ----------
    sim : SimDevice
        The state machine (its own lock makes it safe to inspect from tests).
    speed : float
        Simulator seconds per wall-clock second (1 is real time).
    """

    def __init__(self, sim: SimDevice, speed: float = 1.0) -> None:
        if not hasattr(os, "openpty"):
            raise DeviceError(
                "simulators on a pseudo-terminal need Linux or macOS; on Windows use the "
                "in-process sim:// URLs (or a virtual COM-port pair such as com0com)"
            )
        import tty  # POSIX only: imported here so that sim:// works on Windows too

        self.sim = sim
        self.speed = speed
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline before a client opens it
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._stop_r, self._stop_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-pty {self.path}", daemon=True
        )
        self._t0 = time.monotonic()
        self._stepped = 0.0  # simulator time of the last step
        self.dropped = threading.Event()

    def start(self) -> PtyServer:
        """Start serving in a daemon thread; returns self."""
        self._thread.start()
        return self

    def __enter__(self) -> PtyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        pending = bytearray()
        try:
            while not self._stopping:
                now = (time.monotonic() - self._t0) * self.speed
                pending += self._catch_up(now)
                if pending:
                    with contextlib.suppress(BlockingIOError):
                        del pending[: os.write(self._master, pending)]
                if self.sim.disconnected and not pending:
                    break
                event = self.sim.next_event_s(now)
                wait = 0.05 if event is None else max(0.0, min(0.05, (event - now) / self.speed))
                readers, _, _ = select.select(
                    [self._master, self._stop_r], [self._master] if pending else [], [], wait
                )
                if self._master in readers:
                    with contextlib.suppress(BlockingIOError):
                        data = os.read(self._master, 65536)
                        # the bytes are sent now, not at the top of the loop (a paced line
                        # times them from here)
                        pending += self._catch_up((time.monotonic() - self._t0) * self.speed)
                        self.sim.feed(data)
        except OSError:
            pass  # the client side is gone
        finally:
            if self.sim.disconnected:
                self._wait_until_read(timeout_s=5.0)
                self._close_master()
                self.dropped.set()

    def _catch_up(self, now: float) -> bytes:
        """Run the simulator through each of its events up to ``now``, at the event's time,
        and return what it sent meanwhile.

        A thread woken late (a busy machine) must not delay what the firmware would have
        done on time: a line that arrived at t is acknowledged at t, not at the wake-up.
        """
        output = bytearray()
        for _ in range(_MAX_CATCH_UP):
            event = self.sim.next_event_s(self._stepped)
            if event is None or event >= now:
                break
            self.sim.step(event)
            output += self.sim.take_output()
            self._stepped = event
        self.sim.step(now)
        self._stepped = max(self._stepped, now)
        return bytes(output + self.sim.take_output())

    def _wait_until_read(self, timeout_s: float) -> None:
        """Let the client read what was sent before the "cable is pulled"."""
        import fcntl
        import termios

        deadline = time.monotonic() + timeout_s
        quiet_checks = 0
        while time.monotonic() < deadline and quiet_checks < 10:
            # the pty moves written bytes to the reader asynchronously: want 10 empty looks
            unread = struct.unpack("i", fcntl.ioctl(self._slave, termios.FIONREAD, b"\0" * 4))[0]
            quiet_checks = quiet_checks + 1 if unread == 0 else 0
            time.sleep(0.005)

    def _close_master(self) -> None:
        if self._master >= 0:
            os.close(self._master)
            os.close(self._slave)
            self._master = self._slave = -1

    def stop(self) -> None:
        """Stop serving and close the pseudo-terminal (idempotent)."""
        if self._stop_r < 0:
            return
        self._stopping = True
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5.0)
        self._close_master()
        os.close(self._stop_r)
        os.close(self._stop_w)
        self._stop_r = self._stop_w = -1
