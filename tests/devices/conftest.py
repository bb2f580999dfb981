"""Device-test helpers: scripted exchanges (à la pymeasure ``expected_protocol``),
realistic generated G-code, and simulators served over real pseudo-terminals."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from printpharm.devices.marlin import frame_line
from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer

Exchange = tuple[bytes | None, bytes | Sequence[bytes]]


class ScriptedTransport:
    """A transport that checks each written line against a script and replies.

    ``exchanges`` is a list of ``(expected_line, replies)``. Writing a line pops
    the next exchange, asserts the line (terminator stripped) equals
    ``expected_line`` and queues its replies; an exchange whose expected line is
    None queues its replies as soon as it is reached (unsolicited output).
    ``readline`` returns queued replies and None (a timeout) when there are none,
    at once: tests never sleep.
    """

    name = "scripted"

    def __init__(self, exchanges: Sequence[Exchange]) -> None:
        self.script: deque[Exchange] = deque(exchanges)
        self.replies: deque[bytes] = deque()
        self.written: list[bytes] = []
        self.chunks: list[bytes] = []
        self._release_unsolicited()

    def _release_unsolicited(self) -> None:
        while self.script and self.script[0][0] is None:
            self._queue(self.script.popleft()[1])

    def _queue(self, replies: bytes | Sequence[bytes]) -> None:
        self.replies.extend([replies] if isinstance(replies, bytes) else replies)

    def write(self, data: bytes) -> None:
        self.chunks.append(data)
        for line in data.replace(b"\r", b"").split(b"\n"):
            if not line:
                continue
            self.written.append(line)
            assert self.script, f"unexpected write {line!r}: the script is finished"
            expected, replies = self.script.popleft()
            assert line == expected, f"wrote {line!r}, the script expected {expected!r}"
            self._queue(replies)
            self._release_unsolicited()

    def readline(self, timeout_s: float) -> bytes | None:
        return self.replies.popleft() if self.replies else None

    def close(self) -> None:
        pass


@contextmanager
def scripted(driver: Any, exchanges: Sequence[Exchange], **kwargs: Any) -> Iterator[Any]:
    """Build ``driver(ScriptedTransport(exchanges), **kwargs)``; check the script was used up."""
    transport = ScriptedTransport(exchanges)
    yield driver(transport, **kwargs)
    assert not transport.script, f"exchanges never reached: {list(transport.script)}"


def framed(number: int, command: str) -> bytes:
    """The bytes a host sends for ``command`` as line ``number`` (no newline)."""
    return frame_line(number, command).encode()


def tablet_gcode(units: int = 4, layers: int = 12, segments: int = 48) -> list[str]:
    """Realistic SSE G-code: start code, per unit and layer two perimeters and
    an infill zig-zag, travel with retraction, comments and blank lines, end code."""
    lines = [
        "; generated for the printpharm device tests",
        "G21 ; millimetres",
        "G90",
        "M83 ; relative extrusion",
        "M104 S37",
        "M140 S30",
        "G28",
        "M109 S37",
        "M190 S30",
        "G92 E0",
        "",
    ]
    for unit in range(units):
        cx, cy = 30.0 + 20.0 * (unit % 4), 30.0 + 20.0 * (unit // 4)
        lines.append(f";PRINTPHARM UNIT_START n={unit + 1}")
        for layer in range(layers):
            z = 0.2 * (layer + 1)
            lines += [f";LAYER:{layer}", f"G1 Z{z:.2f} F600", "G1 E0.5 F300 ; unretract"]
            for radius in (4.0, 3.6):
                for k in range(segments + 1):
                    a = 2 * math.pi * k / segments
                    x, y = cx + radius * math.cos(a), cy + radius * math.sin(a)
                    lines.append(f"G1 X{x:.3f} Y{y:.3f} E0.0211 F1200")
            for row in range(-3, 4):
                lines.append(f"G1 X{cx - 3:.3f} Y{cy + row:.3f} E0.0500")
                lines.append(f"G1 X{cx + 3:.3f} Y{cy + row:.3f} E0.1000")
            lines += ["G1 E-0.5 F1800 ; retract", f"G0 X{cx:.3f} Y{cy:.3f} F3000", ""]
    lines += ["M400", "M104 S0", "M140 S0", "M84", "; end"]
    return lines


@pytest.fixture
def pty_printer() -> Iterator[Any]:
    """A factory: ``pty_printer(plate, speed, **options)`` → (PrinterSim, PtyServer).

    The clock runs ``speed`` (default 1000) times faster than the wall clock."""
    servers: list[PtyServer] = []

    def start(
        plate: Plate | None = None, speed: float = 1000.0, **options: Any
    ) -> tuple[Any, PtyServer]:
        sim = build_printer({k: str(v) for k, v in options.items()}, plate)
        server = PtyServer(sim, speed=speed).start()
        servers.append(server)
        return sim, server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def pty_balance() -> Iterator[Any]:
    """A factory: ``pty_balance(**options)`` → (BalanceSim, PtyServer), fast clock."""
    servers: list[PtyServer] = []

    def start(plate: Plate | None = None, **options: Any) -> tuple[Any, PtyServer]:
        sim = build_balance({k: str(v) for k, v in options.items()}, plate)
        server = PtyServer(sim, speed=1000.0).start()
        servers.append(server)
        return sim, server

    yield start
    for server in servers:
        server.stop()
