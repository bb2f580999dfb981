"""A Marlin 2.1 printer simulator: a protocol state machine fed bytes, producing bytes.

Faithful where the host protocol is concerned (reference §1): ``N``/``*``
checks in Marlin's order (line number first, then checksum), RX flush and
``Resend: N`` (+ ``ok`` as in 2.1.x, or without it), ADVANCED_OK with a finite
command buffer (``BUFSIZE``) and planner, ``M110``, ``M115`` with ``Cap:``
lines, ``M105``/``M155``/``M109``/``M190``/``M400``/``G28`` with busy messages,
``M112`` through an emergency parser, ``kill()``. Every executed command is
recorded in :attr:`PrinterSim.executed` for tests. What the moves deposit
(mass by the ink's calibration, noise, drift, bubbles, clogs) is modelled by
:class:`~.process.Process` with :class:`~.process.ProcessConfig`; the extrusion
pressure a load cell reads (``M1105``, ``M1155``) by :mod:`.pressure`.

With ``baud`` set, the serial line has that speed in both directions (10 bits per
byte, :mod:`.link`): a line reaches the firmware only once its last byte has
arrived, and replies reach the host no faster. The planner consumes each move
in length / feed rate; a move that finds the planner empty while the print is in
progress (no heating, dwell, homing or ``M400`` since the previous move) is a
planner *underrun*: the nozzle stood still waiting for the host, which on a
paste printer leaves a blob. :attr:`PrinterSim.underruns` counts them and
:attr:`PrinterSim.stall_s` adds up how long the nozzle waited.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field

from printpharm.core.flavours import flavour
from printpharm.devices.marlin import checksum
from printpharm.devices.sim._base import SimDevice, corrupt
from printpharm.devices.sim.link import SerialWire
from printpharm.devices.sim.motion import Motion, parse_words
from printpharm.devices.sim.plate import Plate
from printpharm.devices.sim.pressure import PressureChannel, PressureConfig
from printpharm.devices.sim.process import Process, ProcessConfig
from printpharm.devices.sim.thermal import Heater

__all__ = ["PrinterFaults", "PrinterSim", "PrinterSimConfig"]

_M112_RE = re.compile(rb"(?:^|[\r\n])\s*(?:N-?\d+\s+)?M112\b")
_M108_RE = re.compile(rb"(?:^|[\r\n])\s*(?:N-?\d+\s+)?M108\b")
_BLOCKING = ("M109", "M190", "M400", "G28", "G4")
_NO_OPS = ("G21", "M110", "M105", "M106", "M107", "M84", "M18", "M117", "M300", "M108")


@dataclass
class PrinterFaults:
    """Faults to inject. Rates are per line (0-1); counts are numbered lines acknowledged."""

    corrupt_rx_rate: float = 0.0
    corrupt_tx_rate: float = 0.0
    drop_after_lines: int | None = None
    silent_after_lines: int | None = None
    thermal_runaway: bool = False


@dataclass
class PrinterSimConfig:
    """Firmware build options, machine meaning of E (see :class:`Motion`), the process."""

    seed: int = field(default=0, metadata={"help": "random seed of the process noise and faults"})
    bufsize: int = 8
    planner_blocks: int = 16
    advanced_ok: bool = True
    ok_after_resend: bool = True
    emergency_parser: bool = True
    busy_interval_s: float = 2.0
    e_units: str = "mm3"
    diameter_mm: float = 1.75
    baud: int | None = field(
        default=None,
        metadata={"help": "serial line rate in bit/s, 10 bits per byte (none: no line delay)"},
    )
    flavour: str = field(
        default="marlin_sse",
        metadata={"help": "firmware flavour whose FIRMWARE_NAME M115 reports (core/flavours.py)"},
    )
    firmware_name: str | None = field(
        default=None,
        metadata={
            "help": "what M115 reports as FIRMWARE_NAME (default: the flavour's "
            "simulator firmware); a name with 'simulator' never makes a patient batch"
        },
    )
    machine_type: str = field(
        default="printpharm SSE simulator", metadata={"help": "what M115 reports as MACHINE_TYPE"}
    )
    faults: PrinterFaults = field(default_factory=PrinterFaults)
    process: ProcessConfig = field(default_factory=ProcessConfig)
    pressure: PressureConfig = field(default_factory=PressureConfig)


class PrinterSim(SimDevice):
    """The simulated printer; see the module docstring."""

    def __init__(self, config: PrinterSimConfig | None = None, plate: Plate | None = None) -> None:
        self.config = cfg = config or PrinterSimConfig()
        default_name = f"{flavour(cfg.flavour).simulator_firmware} (printpharm simulator)"
        self.firmware = cfg.firmware_name or default_name  # InputError: unknown flavour
        super().__init__(cfg.seed, cfg.faults.corrupt_tx_rate)
        self.plate = plate or Plate()
        self.motion = Motion(cfg.e_units, cfg.diameter_mm)
        self.process = Process(cfg.process, cfg.seed)
        self.pressure = PressureChannel(cfg.pressure, cfg.seed)
        self.hotend = Heater("T", runaway=cfg.faults.thermal_runaway)
        self.bed = Heater("B", heat_rate_c_per_s=1.0, overshoot_c=0.5)
        self.executed: list[str] = []
        self.halted = False
        self.last_n = 0
        self.acked_numbered = 0
        self._rx = bytearray()
        self._queue: deque[tuple[int | None, str]] = deque()
        self._planner: deque[float] = deque()
        self._retracted_mm3 = 0.0  # material sucked back into the nozzle, owed before depositing
        self._now = 0.0
        self._blocked_since: float | None = None
        self._last_busy = 0.0
        self._wait_until: float | None = None
        self._break_wait = False
        self._autoreport_s = 0.0
        self.min_extrude_c = 170.0  # Marlin's EXTRUDE_MINTEMP; M302 S0 allows cold extrusion
        self._next_report = 0.0
        self._next_wait_report = 0.0
        self._init_link(cfg.baud)
        for line in ("start", f"echo:{self.firmware}", "echo: Last Updated: printpharm simulator"):
            self.emit(line)

    # -- input ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Bytes from the host; ``M112`` is acted on as it arrives (emergency parser)."""
        with self.lock:
            if self.halted or self.disconnected:
                return
            if self._wire_in is not None:
                self._wire_in.send(data, self._now)  # received byte by byte: see _arrive
                return
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        """Bytes that have arrived at the firmware's serial port."""
        if self.config.emergency_parser and _M112_RE.search(data):
            self._kill("M112 Shutdown")
            return
        if self.config.emergency_parser and _M108_RE.search(data):
            self._break_wait = True  # M108: stop waiting for a heater
        self._rx += data

    def _read_lines(self) -> None:
        while len(self._queue) < self.config.bufsize and not self.halted:
            end = min(
                (i for i in (self._rx.find(b"\n"), self._rx.find(b"\r")) if i >= 0), default=-1
            )
            if end < 0:
                return
            raw = bytes(self._rx[:end])
            del self._rx[: end + 1]
            rate = self.config.faults.corrupt_rx_rate
            if rate and raw.strip() and self._rx_rng.random() < rate:
                raw = corrupt(raw, self._rx_rng, first=1)  # a lost leading N is undetectable
            text = raw.decode("ascii", errors="replace").split(";", 1)[0].strip()
            if text:
                self._accept(text)

    def _accept(self, text: str) -> None:
        number: int | None = None
        if text.startswith("N"):
            is_m110 = "M110" in text
            npos = text.find("N", text.find("M110") + 4) if is_m110 else 0
            match = re.match(r"N(-?\d+)", text[npos:]) if npos >= 0 else None
            if match is None and is_m110:
                match = re.match(r"N(-?\d+)", text)
            gcode_n = int(match.group(1)) if match else 0
            if gcode_n != self.last_n + 1 and not is_m110:
                return self._line_error("Line Number is not Last Line Number+1")
            star = text.rfind("*")
            if star < 0:
                return self._line_error("No Checksum with line number")
            digits = re.match(r"\s*(-?\d+)", text[star + 1 :])
            if digits is None or int(digits.group(1)) != checksum(text[:star]):
                return self._line_error("checksum mismatch")
            self.last_n = gcode_n
            number = gcode_n
            text = re.sub(r"^N-?\d+\s*", "", text[:star]).strip()
        self._queue.append((number, text))

    def _line_error(self, message: str) -> None:
        self.emit(f"Error:{message}, Last Line: {self.last_n}")
        self._rx.clear()  # Marlin flushes its whole RX buffer
        self.emit(f"Resend: {self.last_n + 1}")
        if self.config.ok_after_resend:
            self.emit("ok")

    # -- time --------------------------------------------------------------------------
    def step(self, now_s: float) -> None:
        """Run the firmware loop up to simulator time ``now_s`` (seconds)."""
        with self.lock:
            self._transmit()  # what the last step printed leaves at that step's time
            if self.halted or self.disconnected:
                return
            self._now = max(self._now, now_s)
            self._arrive()
            self.hotend.advance(self._now)
            self.bed.advance(self._now)
            while self._planner and self._planner[0] <= self._now:
                self._planner.popleft()
            for heater, hid in ((self.hotend, 0), (self.bed, -1)):
                if heater.runaway_detected(self._now):
                    self._kill(f"Thermal Runaway, system stopped! Heater_ID: {hid}")
                    return
            while not self.halted and not self.disconnected:
                self._read_lines()
                if not self._queue or not self._run_front():
                    break
            self._periodic()

    def next_event_s(self, now_s: float) -> float | None:
        """Simulator time of the next move end, report, busy message or heater change."""
        with self.lock:
            if self.halted or self.disconnected:
                return None
            events = [self._planner[0]] if self._planner else []
            events += self._link_events()
            if self._autoreport_s:
                events.append(self._next_report)
            if (pressure_s := self.pressure.next_event_s()) is not None:
                events.append(pressure_s)
            if self._blocked_since is not None:
                if self.config.busy_interval_s > 0:  # 0: no busy messages (Marlin M113 S0)
                    events.append(self._last_busy + self.config.busy_interval_s)
                events.append(now_s + 0.25)
                events = [e for e in events if e > now_s] or [now_s + 0.25]
            if self._wait_until is not None:
                events.append(self._wait_until)
            if self.hotend.runaway and self.hotend.target_c > 0:
                events.append(now_s + 0.25)
            # never "now": a float tie would stop a virtual clock from advancing (1 µs, well
            # under a byte's time on the fastest line)
            return max(min(events), now_s + 1e-6) if events else None

    def _periodic(self) -> None:
        if self._autoreport_s and self._now >= self._next_report:
            self.emit(" " + self._temps())
            self._next_report = self._now + self._autoreport_s
        pressure = self.pressure.due(self._now)
        if pressure is not None:
            self.emit(pressure)
        if self._blocked_since is None or self._queue[0][1].split(" ", 1)[0] not in _BLOCKING:
            return  # moves waiting for the planner print no busy messages
        if self.config.busy_interval_s <= 0:
            return  # Marlin's M113 S0: host keepalive off, no busy messages
        if self._now - self._last_busy >= self.config.busy_interval_s - 1e-9:
            self.emit("echo:busy: processing")
            self._last_busy = self._now

    def _temps(self) -> str:
        return f"{self.hotend.report()} {self.bed.report()} @:0 B@:0"

    # -- execution -------------------------------------------------------------------
    def _run_front(self) -> bool:
        number, command = self._queue[0]
        if not self._execute(command):
            if self._blocked_since is None:
                self._blocked_since = self._last_busy = self._now
            return False
        self._blocked_since = None
        self._queue.popleft()
        if self.halted:
            return False
        self.executed.append(command)
        self._ack(number, command)
        return True

    def _ack(self, number: int | None, command: str) -> None:
        if command.startswith("M105"):
            self.emit(f"ok {self._temps()}")  # M105 prints its own ok, without ADVANCED_OK
        elif self.config.advanced_ok:
            planner_free = self.config.planner_blocks - len(self._planner)
            buffer_free = self.config.bufsize - len(self._queue) - 1
            prefix = f"N{number} " if number is not None else ""
            self.emit(f"ok {prefix}P{planner_free} B{buffer_free}")
        else:
            self.emit("ok")
        if number is None:
            return
        self.acked_numbered += 1
        faults = self.config.faults
        if faults.drop_after_lines is not None and self.acked_numbered >= faults.drop_after_lines:
            self.disconnected = True
        if faults.silent_after_lines is not None:
            self.silent = self.acked_numbered >= faults.silent_after_lines  # "go AWOL"

    def _execute(self, command: str) -> bool:
        """Execute (or continue) ``command``; False while it must wait."""
        code, words = parse_words(command)
        if code in ("G0", "G1"):
            return self._move(words)
        if code in _BLOCKING:
            self._moving = False  # a deliberate stop: the next move is no underrun
            return self._blocking(code, words)
        if code == "M112":
            self._kill("M112 Shutdown")
        elif code in ("M104", "M140"):
            heater = self.hotend if code == "M104" else self.bed
            heater.set_target(words.get("S", 0.0), self._now)
        elif code == "M155":
            self._autoreport_s = words.get("S", 0.0)
            self._next_report = self._now + self._autoreport_s
        elif code == "M115":
            self._report_firmware()
        elif code == "M114":
            p = self.motion.position
            self.emit(
                f"X:{p['X']:.2f} Y:{p['Y']:.2f} Z:{p['Z']:.2f} E:{p['E']:.2f} Count X:0 Y:0 Z:0"
            )
        elif code == "M118":
            self._m118(command)
        elif code in ("M1105", "M1155") and self.pressure.enabled:
            line = self.pressure.command(code, words, self._now)
            if line is not None:
                self.emit(line)
        elif code in ("G90", "G91", "M82", "M83"):
            self.motion.set_mode(code)
        elif code == "G92":
            self.motion.set_position(words)
        elif code == "M221":
            self.motion.flow_percent = words.get("S", 100.0)
        elif code == "M302":
            self._m302(words)
        elif code not in _NO_OPS:
            self.emit(f'echo:Unknown command: "{command}"')
        return True

    def _move(self, words: dict[str, float]) -> bool:
        if len(self._planner) >= self.config.planner_blocks:
            return False
        duration_s, e_delta = self.motion.move(words)
        volume_mm3 = e_delta * self.motion.mm3_per_e * self.motion.flow_percent / 100.0
        pushed_mm3 = volume_mm3  # what the plunger displaces (the load cell feels it)
        # A retraction (suck-back) pulls material back into the nozzle; it never takes
        # material off the plate. The next forward move refills the nozzle first.
        if volume_mm3 < 0:
            self._retracted_mm3 -= volume_mm3
            volume_mm3 = 0.0
        else:
            refill = min(volume_mm3, self._retracted_mm3)
            self._retracted_mm3 -= refill
            volume_mm3 -= refill
        printing = volume_mm3 > 0 and any(axis in words for axis in "XY")
        if volume_mm3 > 0 or e_delta:
            self.plate.deposit(*self.process.deposit(self.plate.unit, volume_mm3, printing))
        else:
            self.process.pause()  # a travel: the next bead starts again
        start_s, end_s = self._plan(duration_s)
        if pushed_mm3:
            self._press(start_s, end_s, pushed_mm3, any(axis in words for axis in "XY"))
        return True

    def _press(self, start_s: float, end_s: float, pushed_mm3: float, bead: bool) -> None:
        """Tell the load cell's model what the plunger does (clog and bubble of the unit)."""
        unit, process = self.plate.unit, self.process
        factor = process.config.clog_factor
        gain = (math.inf if factor <= 0 else 1.0 / factor) if process.clogged(unit) else 1.0
        model = self.pressure.model
        model.add_move(start_s, end_s, pushed_mm3, unit, gain, process.bubble, bead)

    # -- serial line speed and planner underruns --------------------------------------
    def _init_link(self, baud: int | None) -> None:
        self._wire_in = None if baud is None else SerialWire(baud)  # host -> firmware
        self._wire_out = None if baud is None else SerialWire(baud)  # firmware -> host
        self.underruns = 0
        self.stall_s = 0.0
        self._moving = False
        self._last_move_end = 0.0

    def _arrive(self) -> None:
        """Hand the firmware the bytes that have arrived over the line by now."""
        if self._wire_in is not None and self._wire_in.busy:
            data = self._wire_in.receive(self._now)
            if data:
                self._receive(data)

    def take_output(self) -> bytes:
        """The bytes that have reached the host by now (all of them without ``baud``)."""
        with self.lock:
            if self._wire_out is None:
                return super().take_output()
            self._transmit()
            return self._wire_out.receive(self._now)

    def _transmit(self) -> None:
        """Put what the firmware printed on the line, timed from the current step."""
        if self._wire_out is not None and self._out:
            self._wire_out.send(bytes(self._out), self._now)
            self._out.clear()

    def _link_events(self) -> list[float]:
        """When the next line will have crossed the wire, in either direction."""
        wires = (self._wire_in, self._wire_out)
        times = [wire.next_line_s() for wire in wires if wire is not None]
        return [t for t in times if t is not None]

    def _plan(self, duration_s: float) -> tuple[float, float]:
        """Queue a move of ``duration_s`` behind the planner's last one; count an underrun if
        the planner ran dry while the print was in progress. Returns its (start, end) in s."""
        if duration_s <= 0:  # Marlin plans no block for a move that goes nowhere
            at = max(self._planner[-1], self._now) if self._planner else self._now
            self._planner.append(at)
            return at, at
        if self._planner:
            start = max(self._planner[-1], self._now)
        else:
            start = self._now
            stall = self._now - self._last_move_end
            if self._moving and stall > 1e-9:
                self.underruns += 1
                self.stall_s += stall
        self._planner.append(start + duration_s)
        self._last_move_end = start + duration_s
        self._moving = True
        return start, start + duration_s

    def _blocking(self, code: str, words: dict[str, float]) -> bool:
        if code == "M400":
            return not self._planner
        if code == "G28":
            return self._timed(3.0, lambda: self.motion.home(words))
        if code == "G4":
            return self._timed(words.get("P", 0.0) / 1000.0 + words.get("S", 0.0), None)
        heater = self.hotend if code == "M109" else self.bed
        if self._blocked_since is None:
            heater.set_target(words.get("S", words.get("R", heater.target_c)), self._now)
            self._next_wait_report = self._now + 1.0
        if heater.at_target() or heater.target_c <= 0 or self._break_wait:
            self._break_wait = False
            return True
        if self._now >= self._next_wait_report:
            self.emit(f"{self._temps()} W:?")
            self._next_wait_report = self._now + 1.0
        return False

    def _timed(self, duration_s: float, done: object) -> bool:
        if self._wait_until is None:
            self._wait_until = self._now + duration_s
        if self._now < self._wait_until:
            return False
        self._wait_until = None
        if callable(done):
            done()
        return True

    def _m302(self, words: dict[str, float]) -> None:
        """Cold extrusion: ``M302 S<min °C>`` sets the limit; Marlin answers with the state.

        The simulator reports the setting like Marlin but does not block cold moves
        (syringe paste is extruded cold; the thermal model does not gate E).
        """
        if "S" in words:
            self.min_extrude_c = words["S"]
        state = "enabled" if self.min_extrude_c <= 0 else "disabled"
        self.emit(f"echo:Cold extrudes are {state} (min temp {self.min_extrude_c:.0f}C)")

    def _m118(self, command: str) -> None:
        text = command[4:].strip()
        parts = text.split()
        if len(parts) == 3 and parts[:2] == ["PRINTPHARM", "UNIT"] and parts[2].isdigit():
            self.plate.set_unit(int(parts[2]))
        self.emit(text)

    def _report_firmware(self) -> None:
        self.emit(
            f"FIRMWARE_NAME:{self.firmware} "
            "SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 "
            f"MACHINE_TYPE:{self.config.machine_type} EXTRUDER_COUNT:1 "
            "UUID:00000000-0000-4000-8000-000000000000"
        )
        caps = {
            "SERIAL_XON_XOFF": False,
            "AUTOREPORT_TEMP": True,
            "EMERGENCY_PARSER": self.config.emergency_parser,
            "BUSY_PROTOCOL": True,
            "HOST_ACTION_COMMANDS": False,
            "PROMPT_SUPPORT": False,
            PressureChannel.CAPABILITY: self.pressure.enabled,
        }
        for name, on in caps.items():
            self.emit(f"Cap:{name}:{int(on)}")

    def _kill(self, reason: str) -> None:
        self.hotend.set_target(0.0, self._now)
        self.bed.set_target(0.0, self._now)
        if reason.startswith("M112"):
            self.executed.append("M112")
            self.emit(f"echo:{reason}")
        else:
            self.emit(f"Error:{reason}")
        self.emit("Error:Printer halted. kill() called!")
        self.halted = True
