"""The line engine behind :class:`~printpharm.devices.printer.PrinterLink`.

One ``_Run`` sends a list of commands as numbered, checksummed lines and reads
the replies until every line is acknowledged. It keeps a sliding window of
unacknowledged lines (1 without ADVANCED_OK, otherwise the firmware's command
buffer size learned from ``ok N.. P.. B..``), rewinds to ``N`` on ``Resend: N``
(everything from N on, ignoring the duplicate requests its own in-flight lines
cause), and probes a stalled printer by re-sending the oldest unacknowledged line,
which the firmware's own line-number check turns into either an ``ok`` or a
``Resend:`` (never a duplicate execution).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from printpharm.devices.marlin import (
    AdvancedOk,
    HeaterReading,
    PressureReading,
    frame_line,
    is_fatal_error,
    parse_ok,
    parse_pressure,
    parse_resend,
    parse_temperatures,
)
from printpharm.devices.transport import Transport
from printpharm.errors import (
    DeviceDisconnected,
    DeviceTimeout,
    InputError,
    PrinterHalted,
    ProtocolError,
)

__all__ = ["LinkOptions", "ProgressCallback", "StreamStats"]

_LOG = logging.getLogger("printpharm.devices.printer")
_LAST_LINE_RE = re.compile(r"Last Line:\s*(-?\d+)\s*$")

#: ``on_progress(lines_acked, lines_total)``, called from the streaming thread.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class StreamStats:
    """What one stream did: counts and elapsed wall time in seconds."""

    lines: int
    lines_acked: int
    resends: int
    errors: int
    probes: int
    elapsed_s: float
    aborted: bool = False

    @property
    def lines_per_s(self) -> float:
        """Acknowledged lines per second of wall time."""
        return self.lines_acked / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class LinkOptions:
    """Timeouts (seconds) and window limits of a printer link.

    ``ok_timeout_s`` is the time without an answer after which a stalled line is
    probed; answers, ``busy`` lines and, during a heater wait, temperatures restart
    it, but not periodic reports (M155 temperatures, M1155 pressure), ``wait`` or
    noise, which come whether or not the firmware got the line. After ``max_probes``
    unanswered probes the printer is declared lost (:class:`DeviceTimeout`).
    After a ``Resend:`` the host sends nothing until no further resend request
    has come for ``resend_quiet_s`` (with ADVANCED_OK: the duplicates caused by
    lines in flight coalesce into one rewind) or, without ADVANCED_OK, until the
    ``ok`` that follows ``Resend:`` or ``resend_ok_timeout_s``.

    ``max_wait_s`` bounds every wait: a line still unacknowledged that long after
    it was sent fails with :class:`DeviceTimeout` even while the printer keeps
    talking (``busy``, ``wait``, temperature reports). A heater wait (M109/M190)
    takes minutes at most; a firmware that never acknowledges must not hold a
    run (and its batch) for ever.
    """

    ok_timeout_s: float = 30.0
    max_probes: int = 2
    resend_ok_timeout_s: float = 0.5
    resend_quiet_s: float = 0.1
    max_window: int = 32
    poll_s: float = 0.25
    max_wait_s: float = 600.0


@dataclass
class _Wire:
    """Connection state shared by successive runs (line numbers, learned window)."""

    transport: Transport
    options: LinkOptions
    next_n: int = 1
    advanced: bool = False
    capacity: int = 1
    needs_resync: bool = False
    halted: str | None = None
    temperatures: dict[str, HeaterReading] = field(default_factory=dict)
    #: extrusion-pressure reports not yet taken by the host (oldest first, bounded)
    pressures: deque[PressureReading] = field(default_factory=lambda: deque(maxlen=10_000))
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    paused: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    estop: threading.Event = field(default_factory=threading.Event)

    def write(self, data: bytes) -> None:
        with self.write_lock:
            self.transport.write(data)

    def readline(self, timeout_s: float) -> str | None:
        raw = self.transport.readline(timeout_s)
        if raw is None:
            return None
        return raw.decode("ascii", errors="replace").strip()

    def confirm_halt(self) -> PrinterHalted:
        """After an M112: read until the firmware reports ``kill()``; mark the link halted."""
        deadline = time.monotonic() + self.options.ok_timeout_s
        answer = f"it did not confirm within {self.options.ok_timeout_s} s"
        while (remaining := deadline - time.monotonic()) > 0:
            line = self.readline(remaining)
            if line is not None and is_fatal_error(line):
                answer = f"it answered {line!r}"
                break
        self.halted = f"emergency stop (M112) sent by the host; {answer}"
        self.estop.clear()
        return PrinterHalted(f"{self.transport.name}: {self.halted}")

    def learn(self, ok: AdvancedOk) -> None:
        if ok.advanced and ok.buffer_free is not None:
            self.advanced = True
            size = min(self.options.max_window, max(1, ok.buffer_free + 1))
            self.capacity = max(self.capacity, size)


class _Run:
    """Send ``commands`` as lines ``first_n, first_n + 1, ...`` until all are acknowledged."""

    def __init__(
        self,
        wire: _Wire,
        commands: list[str],
        on_progress: ProgressCallback | None = None,
        collect: list[str] | None = None,
        max_wait_s: float | None = None,
    ) -> None:
        self.wire = wire
        self.opt = wire.options
        self.max_wait_s = self.opt.max_wait_s if max_wait_s is None else max_wait_s
        self.first_n = wire.next_n
        self.resync = wire.needs_resync
        if self.resync:
            commands = [f"M110 N{self.first_n}", *commands]
        self.commands = commands
        self.framed: list[bytes] = []
        for index, command in enumerate(commands):
            try:
                self.framed.append((frame_line(self.first_n + index, command) + "\n").encode())
            except InputError as exc:
                raise InputError(f"command {index + 1} of {len(commands)}: {exc}") from exc
        self.total = len(commands)
        self.on_progress = on_progress
        self.collect = collect
        self.next_i = self.acked = self.high_i = 0
        self.confirmed = 0  # lines whose own ok (or a later line's) arrived, not just accepted
        self.jumped = False  # the last ok acknowledged more than one line
        self.resends = self.errors = self.probes = self.probes_in_row = 0
        self.rewound_to: int | None = None
        self.hold_until: float | None = None
        self.last_activity = self.progress_at = time.monotonic()

    # -- main loop ---------------------------------------------------------------
    def run(self) -> StreamStats:
        start = time.monotonic()
        aborted = False
        try:
            aborted = self._loop()
            while not aborted and self._late_resend():
                aborted = self._loop()
            aborted = aborted or self.wire.abort.is_set()  # asked for while the last line ran
        except DeviceDisconnected as exc:
            self.wire.needs_resync = True
            self._drain()  # count the acknowledgements that arrived before the loss
            raise DeviceDisconnected(
                f"{self.wire.transport.name}: connection lost after {self.acked} of "
                f"{self.total} lines acknowledged ({exc})"
            ) from exc
        except (PrinterHalted, DeviceTimeout, ProtocolError):
            self.wire.needs_resync = True
            raise
        finally:
            self.stats = StreamStats(
                self.total,
                self.acked,
                self.resends,
                self.errors,
                self.probes,
                time.monotonic() - start,
                aborted,
            )
        self.wire.needs_resync = aborted or self.high_i > self.acked
        self.wire.next_n = self.first_n + self.acked
        return self.stats

    def _loop(self) -> bool:
        """Send and read until every line is acknowledged; True if aborted."""
        while self.acked < self.total:
            if self.wire.estop.is_set():
                raise self.wire.confirm_halt()
            if self.wire.halted:
                raise PrinterHalted(f"{self.wire.transport.name}: {self.wire.halted}")
            if self.wire.abort.is_set() and self.next_i <= self.acked:
                return True
            self._fill()
            wait_s = self.opt.poll_s
            if self.hold_until is not None:
                wait_s = min(wait_s, max(0.0, self.hold_until - time.monotonic()))
            line = self.wire.readline(wait_s)
            now = time.monotonic()
            progress = line is not None and self._shows_progress(line)
            if progress:
                self.last_activity = now
            if line is not None:
                self._handle(line, now)
            if not progress and self._on_quiet(now):
                return True
            self._check_progress(now)
        return False

    def _shows_progress(self, line: str) -> bool:
        """Whether ``line`` answers the pending lines or shows the firmware working on them.

        Answers (``ok``, ``Resend:``, errors) and ``busy`` do; so do temperatures during a
        heater wait (M109/M190), which prints them as its progress. Periodic reports
        (M155 temperatures, M1155 pressure), ``wait`` and noise come whether or not the
        firmware got the line: they must not hold off the probe of a lost ``ok``.
        """
        if parse_ok(line) is not None or parse_resend(line) is not None:
            return True
        if line.lower().startswith(("error", "!!", "echo:busy")):
            return True
        if "T:" not in line:
            return False
        pending = self.commands[self.acked] if self.acked < self.next_i else ""
        return pending.startswith(("M109", "M190"))

    def _check_progress(self, now: float) -> None:
        """Raise when the oldest unacknowledged line has waited longer than ``max_wait_s``."""
        if self.next_i <= self.acked or now - self.progress_at <= self.max_wait_s:
            return
        command = self.commands[self.acked] if self.acked < self.total else "?"
        raise DeviceTimeout(
            f"{self.wire.transport.name}: line N{self.first_n + self.acked} ({command[:40]}) "
            f"not acknowledged within {self.max_wait_s:g} s although the printer kept "
            f"reporting (busy or temperatures); {self.acked} of {self.total} lines "
            "acknowledged: check the printer and its firmware"
        )

    def _late_resend(self) -> bool:
        """Listen ``resend_quiet_s`` for a late Resend if the last ok skipped numbers.

        ``ok N`` is not checksummed: a garbled digit could count the last lines
        early. True if a Resend then reopened the run.
        """
        if not self.jumped:
            return False
        self.jumped = False
        deadline = time.monotonic() + self.opt.resend_quiet_s
        while (remaining := deadline - time.monotonic()) > 0:
            line = self.wire.readline(remaining)
            if line is not None:
                self._handle(line, time.monotonic())
                if self.acked < self.total:
                    return True
        return False

    def _drain(self) -> None:
        try:
            while (line := self.wire.readline(0.0)) is not None:
                self._handle(line, time.monotonic())
        except (DeviceDisconnected, PrinterHalted, DeviceTimeout):
            pass  # already failing; the first error is the one to report

    def _fill(self) -> None:
        if self.wire.paused.is_set() or self.wire.abort.is_set():
            return
        if self.hold_until is not None:
            if time.monotonic() < self.hold_until:
                return
            self.hold_until = None  # this firmware sends no ok after Resend
        window = self.wire.capacity if self.wire.advanced else 1
        if self.next_i - self.acked >= window or self.next_i >= self.total:
            return
        if self.next_i == self.acked:
            # the ok clock and the wait bound start with the send
            self.last_activity = self.progress_at = time.monotonic()
        stop = min(self.total, self.acked + window)
        batch = b"".join(self.framed[self.next_i : stop])
        self.next_i = stop
        self.high_i = max(self.high_i, stop)
        self.wire.write(batch)

    def _on_quiet(self, now: float) -> bool:
        """Handle a read timeout; return True when an abort may stop waiting."""
        if self.hold_until is not None and now >= self.hold_until:
            self.hold_until = None  # this firmware sends no ok after Resend
            return False
        if self.next_i <= self.acked or now - self.last_activity < self.opt.ok_timeout_s:
            return False
        if self.wire.abort.is_set():
            return True
        self.probes += 1
        self.probes_in_row += 1
        if self.probes_in_row > self.opt.max_probes:
            raise DeviceTimeout(
                f"{self.wire.transport.name}: no answer to line N{self.first_n + self.acked} "
                f"within {self.opt.ok_timeout_s} s after {self.opt.max_probes} probes "
                f"({self.acked} of {self.total} lines acknowledged)"
            )
        _LOG.warning("no ok for N%d; re-sending it as a probe", self.first_n + self.acked)
        self.next_i = self.acked
        self.rewound_to = None
        self.last_activity = now
        return False

    # -- replies ------------------------------------------------------------------
    def _handle(self, line: str, now: float) -> None:
        ok = parse_ok(line)
        if ok is not None:
            self._on_ok(ok)
            return
        resend = parse_resend(line)
        if resend is not None:
            self._on_resend(resend, now)
            return
        low = line.lower()
        if low.startswith(("error:", "error ", "!!")):
            if is_fatal_error(line):
                self.wire.halted = line
                raise PrinterHalted(f"{self.wire.transport.name} halted: {line}")
            self.errors += 1
            # "Last Line: L" asks for L+1 even if the Resend line that follows is garbled,
            # and marks the ok after it as no acknowledgement
            last = _LAST_LINE_RE.search(line)
            if last is not None:
                self._on_resend(int(last.group(1)) + 1, now)
            return
        if line == "start":
            self.wire.halted = "the board restarted ('start') mid-job"
            raise PrinterHalted(
                f"{self.wire.transport.name} restarted during line N{self.first_n + self.acked}: "
                "position and temperatures are lost, the job is aborted"
            )
        if "T:" in line:
            self.wire.temperatures.update(parse_temperatures(line))
        elif "PRESSURE" in line and (pressure := parse_pressure(line)) is not None:
            self.wire.pressures.append(pressure)
            return  # a report, not an answer: never part of a command's output
        if "unknown command" in low:
            _LOG.warning("%s: %s", self.wire.transport.name, line)
        if self.collect is not None and not low.startswith(("echo:busy", "wait")):
            self.collect.append(line)

    def _on_ok(self, ok: AdvancedOk) -> None:
        if "T:" in ok.rest:
            self.wire.temperatures.update(parse_temperatures(ok.rest))
        if ok.advanced:
            self.wire.learn(ok)
            if ok.line is not None and 0 <= ok.line - self.first_n < self.high_i:
                self._ack_to(ok.line - self.first_n + 1)
            return  # a bare ADVANCED_OK ok follows a Resend or an unnumbered command
        if self.collect is not None and ok.rest:
            self.collect.append(ok.rest)
        if self.wire.advanced:
            # M105 answers "ok T:..." without N even with ADVANCED_OK
            pending = self.commands[self.acked] if self.acked < self.next_i else ""
            if "T:" in ok.rest and pending.startswith("M105"):
                self._ack_to(self.acked + 1)
            return
        if self.hold_until is not None:
            self.hold_until = None  # the ok Marlin sends after "Resend:" acknowledges nothing
            return
        if self.next_i > self.acked:
            self._ack_to(self.acked + 1)

    def _ack_to(self, count: int, inferred: bool = False) -> None:
        """Count lines up to ``count`` as done: by an ok, or ``inferred`` from ``Resend:``.

        ``Resend: N`` proves lines before N were *accepted* (they will run, in
        order) but not that they have *finished*, which only an ok shows.
        """
        if not inferred:
            self.confirmed = max(self.confirmed, count)
            self.jumped = count > self.acked + 1
        if count <= self.acked:
            return
        self.acked = count
        self.next_i = max(self.next_i, count)
        self.probes_in_row = 0
        self.progress_at = time.monotonic()
        if self.on_progress is not None:
            self.on_progress(count, self.total)

    def _on_resend(self, number: int, now: float) -> None:
        index = number - self.first_n
        if index < 0 and self.resync:
            index = 0  # the M110 that renumbers this run was refused: send it again
        if index < 0:
            raise ProtocolError(
                f"{self.wire.transport.name} asks for line N{number}, sent before this exchange "
                "and counted as done; a line may have been lost: stop and check the printer"
            )
        if index > self.high_i:
            _LOG.debug("ignoring Resend: %d beyond the lines sent", number)
            return
        hold_s = self.opt.resend_quiet_s if self.wire.advanced else self.opt.resend_ok_timeout_s
        if self.hold_until is not None and index == self.rewound_to:
            # a duplicate: a line in flight when the first request came was refused too
            self.hold_until = now + hold_s
            return
        if index < self.acked:  # the firmware is the authority: those lines did not get in
            self.acked = index
            self.confirmed = min(self.confirmed, index)
        self.rewound_to = index
        self.next_i = index
        self.resends += 1
        self._ack_to(index, inferred=True)  # e.g. after a probe of a line whose ok was lost
        self.hold_until = now + hold_s
