"""Pure helpers of the Marlin host protocol: framing, checksums and reply parsing.

Nothing here does I/O. The rules follow ``shared/reference/serial-protocols.md`` §1:
the checksum is the XOR of every byte before ``*`` including the ``N<n> `` prefix;
comments are stripped before numbering; a framed line must fit Marlin's
``MAX_CMD_SIZE`` (96 bytes including the terminating NUL, so 95 characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from printpharm.errors import InputError

__all__ = [
    "MAX_FRAMED_LINE_CHARS",
    "AdvancedOk",
    "HeaterReading",
    "PRESSURE_CAPABILITY",
    "PressureReading",
    "PrinterInfo",
    "checksum",
    "clean_gcode",
    "frame_line",
    "is_fatal_error",
    "parse_firmware_info",
    "parse_ok",
    "parse_pressure",
    "parse_resend",
    "parse_temperatures",
]

#: Longest framed line (``N<n> <cmd>*<cs>``, without the newline) Marlin stores whole.
MAX_FRAMED_LINE_CHARS = 95

_OK_RE = re.compile(r"^ok\b(?P<rest>.*)$")
_ADV_FIELD_RE = re.compile(r"\b([NPB])(-?\d+)\b")
# "Resend: 5" must end after the number (a noisy "Resend: 5x" is not a request);
# Teacup/RepRapFirmware "rs N5 ..." may carry text after it.
_RESEND_RE = re.compile(
    r"^(?:resend:?\s*(?:N:?)?\s*(?P<n>[-+]?\d+)\s*$|rs\s+(?:N:?)?(?P<m>[-+]?\d+)\b)",
    re.IGNORECASE,
)
_TEMP_RE = re.compile(r"(?<![A-Za-z@])([TBC]\d*):\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*(-?\d+(?:\.\d+)?))?")
_PRESSURE_RE = re.compile(
    r"^(?:echo:)?\s*PRESSURE\s+kPa:\s*(?P<kpa>-?\d+(?:\.\d+)?)(?:\s+Q:\s*(?P<q>-?\d+(?:\.\d+)?))?"
)
#: The ``M115`` capability of a head that reports its extrusion pressure (``M1105``/``M1155``).
PRESSURE_CAPABILITY = "PRESSURE_REPORT"
_FW_SPLIT_RE = re.compile(r"(?:^|\s+)([A-Z][A-Z0-9_]*):")
_FATAL_MARKERS = (
    "printer halted",
    "kill()",
    "printer stopped",
    "thermal runaway",
    "mintemp",
    "maxtemp",
    "heating failed",
    "system stopped",
)


def checksum(text: str) -> int:
    """XOR of every byte of ``text`` (the part of a line before ``*``).

    Parameters
    ----------
    text : str
        ASCII text, e.g. ``"N0 M115"``.

    Returns
    -------
    int
        The checksum, 0-255, sent in decimal after ``*``.
    """
    value = 0
    for byte in text.encode("ascii"):
        value ^= byte
    return value


def frame_line(number: int, command: str) -> str:
    """Frame ``command`` as ``N<number> <command>*<checksum>`` (no newline).

    Raises
    ------
    InputError
        If the framed line is longer than :data:`MAX_FRAMED_LINE_CHARS`, which
        Marlin would silently truncate.
    """
    body = f"N{number} {command}"
    framed = f"{body}*{checksum(body)}"
    if len(framed) > MAX_FRAMED_LINE_CHARS:
        raise InputError(
            f"G-code line {command!r} is {len(framed)} characters once framed as line "
            f"N{number}; Marlin keeps at most {MAX_FRAMED_LINE_CHARS} (MAX_CMD_SIZE 96)"
        )
    return framed


def clean_gcode(lines: Iterable[str]) -> list[str]:
    """Strip ``;`` comments, surrounding whitespace and blank lines.

    Raises
    ------
    InputError
        If a line holds a non-ASCII character or a ``*`` (which would corrupt
        the checksum); the message names the 1-based source line.
    """
    commands: list[str] = []
    for index, raw in enumerate(lines, start=1):
        command = raw.split(";", 1)[0].strip()
        if not command:
            continue
        if not command.isascii() or "*" in command or "\n" in command or "\r" in command:
            raise InputError(
                f"G-code line {index} {command!r} holds a character that cannot be sent "
                "(non-ASCII, '*' or a line break)"
            )
        commands.append(command)
    return commands


@dataclass(frozen=True)
class AdvancedOk:
    """An ``ok`` line: ``ok``, ``ok N12 P15 B3``, or ``ok T:...`` (M105)."""

    line: int | None
    planner_free: int | None
    buffer_free: int | None
    rest: str

    @property
    def advanced(self) -> bool:
        """Whether the line carried ADVANCED_OK buffer counts."""
        return self.planner_free is not None and self.buffer_free is not None


def parse_ok(line: str) -> AdvancedOk | None:
    """Parse an ``ok`` line; return None if ``line`` is not one.

    A line whose ``N``/``P``/``B`` fields are malformed (noise) is not an ok.
    """
    match = _OK_RE.match(line.strip())
    if match is None:
        return None
    rest = match.group("rest").strip()
    if "T:" in rest or not rest:
        return AdvancedOk(None, None, None, rest)
    fields = dict((k, int(v)) for k, v in _ADV_FIELD_RE.findall(rest))
    if _ADV_FIELD_RE.sub("", rest).strip():
        return None  # unexpected text after ok: a corrupted line
    if "P" not in fields or "B" not in fields:
        return None
    return AdvancedOk(fields.get("N"), fields["P"], fields["B"], rest)


def parse_resend(line: str) -> int | None:
    """Return the line number of a ``Resend: N`` / ``rs N`` request, else None."""
    match = _RESEND_RE.match(line.strip())
    if match is None:
        return None
    return int(match.group("n") or match.group("m"))


@dataclass(frozen=True)
class HeaterReading:
    """One heater: current and target temperature in °C (target None if absent)."""

    actual_c: Decimal
    target_c: Decimal | None


def parse_temperatures(line: str) -> dict[str, HeaterReading]:
    """Parse a temperature report (``T:210.0 /210.0 B:60.0 /60.0 @:127``).

    Accepts the M105 ok line, M155 auto-reports, the M109 wait lines
    (``T:190.12 E:0 W:?``), OctoPrint's ``T:21.30/ 0.00`` and Klipper's ``T:0``.
    Returns an empty dict when the line holds no temperature.
    """
    readings: dict[str, HeaterReading] = {}
    for name, actual, target in _TEMP_RE.findall(line):
        readings.setdefault(
            name, HeaterReading(Decimal(actual), Decimal(target) if target else None)
        )
    return readings


@dataclass(frozen=True)
class PressureReading:
    """One extrusion-pressure report: kPa at the plunger and the commanded flow (mm³/s)."""

    kpa: Decimal
    flow_mm3_s: Decimal | None = None

    @property
    def extruding(self) -> bool:
        """Whether the plunger was pushing when the pressure was read."""
        return self.flow_mm3_s is not None and self.flow_mm3_s > 0


def parse_pressure(line: str) -> PressureReading | None:
    """Parse ``echo:PRESSURE kPa:152.3 Q:4.32`` (``M1105``/``M1155``); ``None`` otherwise.

    A print head with a load cell under the plunger reports it (``Cap:PRESSURE_REPORT``).
    """
    match = _PRESSURE_RE.match(line.strip())
    if match is None:
        return None
    q = match.group("q")
    return PressureReading(Decimal(match.group("kpa")), Decimal(q) if q is not None else None)


def is_fatal_error(line: str) -> bool:
    """Whether an ``Error:``/``!!`` line means the firmware halted or stopped."""
    low = line.lower()
    return any(marker in low for marker in _FATAL_MARKERS)


@dataclass(frozen=True)
class PrinterInfo:
    """What ``M115`` reported: firmware fields and ``Cap:`` capabilities."""

    firmware_name: str
    fields: dict[str, str] = field(default_factory=dict)
    capabilities: dict[str, bool] = field(default_factory=dict)

    def has(self, capability: str) -> bool:
        """Whether ``Cap:<capability>:1`` was reported."""
        return self.capabilities.get(capability, False)


def parse_firmware_info(lines: Iterable[str]) -> PrinterInfo:
    """Parse the lines an ``M115`` printed before its ``ok``.

    ``FIRMWARE_NAME:Marlin 2.1.2 (Jan  1 2024) SOURCE_CODE_URL:... EXTRUDER_COUNT:1``
    is split on ``KEY:`` tokens because values contain spaces; ``Cap:NAME:0|1``
    lines become capabilities. Klipper's ``ok FIRMWARE_NAME:...`` form works too.
    """
    fields: dict[str, str] = {}
    caps: dict[str, bool] = {}
    for raw in lines:
        line = raw.strip()
        if line.startswith("ok"):
            line = line[2:].strip()
        if line.startswith("Cap:"):
            parts = line[4:].rsplit(":", 1)
            if len(parts) == 2 and parts[1].strip() in ("0", "1"):
                caps[parts[0].strip()] = parts[1].strip() == "1"
            continue
        pieces = _FW_SPLIT_RE.split(line)
        # pieces: [prefix, KEY1, value1, KEY2, value2, ...]
        for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
            fields[key] = value.strip()
    return PrinterInfo(fields.get("FIRMWARE_NAME", ""), fields, caps)
