"""Machine limits of a G-code program, checked before any line of it is sent.

A printer does what it is told: a heater target above what the machine is built
for, a move outside the bed or an E move of a whole syringe in one line would be
executed. :func:`check_limits` reads the program as the firmware would (G90/G91,
M82/M83, G92, G28, arcs with I/J) and reports every line that asks for

* a nozzle temperature (M104/M109 S or R) or bed temperature (M140/M190) above
  the printer definition's maximum, or below zero;
* a position outside the bed (X, Y in 0..bed size, Z in 0..max Z), including an
  arc whose circle leaves the bed;
* an E move larger than :data:`MAX_E_MOVE` for the E unit (a sane bound far above
  any move a plan holds: a whole unit's bead is deposited over many moves). The
  unit is the printer definition's, unless the file declares its own with the
  planner's ``;PRINTPHARM EXTRUSION e_units=...`` header.

Positions that are not known yet (relative moves before homing) are not judged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_E_MOVE", "LimitViolation", "MachineLimits", "check_limits"]

#: Largest |E| of one move in each meaning of E: filament mm, plunger mm (a 14.5 mm
#: syringe bore: 10 mm is 1.65 ml) and mm³. A plan's moves stay below 1 % of these.
MAX_E_MOVE: dict[str, float] = {"filament_mm": 50.0, "plunger_mm": 10.0, "mm3": 1000.0}

_EPS = 1e-6
_HEATERS = {"M104": "nozzle", "M109": "nozzle", "M140": "bed", "M190": "bed"}
_MOVES = ("G0", "G1", "G2", "G3")
_MODES = ("G90", "G91", "M82", "M83", "G28", "G92")
#: Only these commands are read; others (M117/M118 text, M221 ...) are not judged.
_JUDGED = frozenset({*_HEATERS, *_MOVES, *_MODES})


@dataclass(frozen=True)
class MachineLimits:
    """What one printer may be asked for: bed (mm), maximum temperatures (°C), E unit."""

    bed_x_mm: float
    bed_y_mm: float
    max_z_mm: float
    max_nozzle_c: float
    max_bed_c: float
    e_units: str

    @property
    def max_e_move(self) -> float:
        """Largest |E| of one move, in the E unit."""
        return MAX_E_MOVE[self.e_units]


@dataclass(frozen=True)
class LimitViolation:
    """A line asking for more than the machine allows: its number (1-based), text, why."""

    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.text[:40]}): {self.problem}"


_WORD = re.compile(r"([A-Z])\s*([^A-Z\s]*)")
_EXTRUSION = re.compile(r";PRINTPHARM EXTRUSION e_units=(\w+)")


def _words(line: str) -> tuple[str, dict[str, float]] | None:
    """``("G1", {"X": 10.0, ...})`` of a judged line; None for any other line.

    Read as the firmware reads it: spaces between words are optional (``G1X10``),
    a line number (``N12``) and a checksum (``*71``) are ignored, ``G01`` is ``G1``.

    Raises
    ------
    ValueError
        A parameter that is not a finite number.
    """
    code = line.split(";", 1)[0].split("*", 1)[0].strip().upper()
    words = _WORD.findall(code)
    if words and words[0][0] == "N":
        words = words[1:]
    if not words or words[0][0] not in "GM":
        return None
    letter, number = words[0]
    try:
        head = f"{letter}{int(float(number))}"
    except ValueError:
        return None
    if head not in _JUDGED:
        return None
    params: dict[str, float] = {}
    for axis, text in words[1:]:
        value = float(text) if text else 0.0
        if not math.isfinite(value):
            raise ValueError(f"{axis}{text} is not a finite number")
        params[axis] = value
    return head, params


class _Machine:
    """The position and modes a firmware keeps while reading the program."""

    def __init__(self, limits: MachineLimits) -> None:
        self.limits = limits
        self.pos: dict[str, float | None] = {"X": None, "Y": None, "Z": None}
        self.relative_xyz = False
        self.relative_e = False
        self.e = 0.0
        self.e_units = limits.e_units

    def modes(self, head: str, params: dict[str, float]) -> None:
        if head in ("G90", "G91"):  # in Marlin, G90/G91 also set E
            self.relative_xyz = self.relative_e = head == "G91"
        elif head in ("M82", "M83"):
            self.relative_e = head == "M83"
        elif head == "G28":
            homed = [a for a in "XYZ" if a in params] or ["X", "Y", "Z"]
            for axis in homed:
                self.pos[axis] = 0.0
        elif head == "G92":
            for axis in "XYZ":
                if axis in params:
                    self.pos[axis] = params[axis]
            self.e = params.get("E", self.e)

    def heater(self, head: str, params: dict[str, float]) -> str | None:
        target = params.get("S", params.get("R"))
        if target is None:
            return None
        which = _HEATERS[head]
        limit = self.limits.max_nozzle_c if which == "nozzle" else self.limits.max_bed_c
        if target < 0:
            return f"{which} temperature {target:g} °C is below zero"
        if target > limit + _EPS:
            return f"{which} temperature {target:g} °C is above the printer's maximum {limit:g} °C"
        return None

    def move(self, head: str, params: dict[str, float]) -> list[str]:
        problems = self._e_move(params)
        start = dict(self.pos)
        for axis in "XYZ":
            if axis in params:
                base = self.pos[axis]
                if self.relative_xyz:
                    self.pos[axis] = None if base is None else base + params[axis]
                else:
                    self.pos[axis] = params[axis]
        problems += self._outside({a: v for a, v in self.pos.items() if a in params})
        if head in ("G2", "G3") and ("I" in params or "J" in params):
            problems += self._arc(start, params)
        return problems

    def _e_move(self, params: dict[str, float]) -> list[str]:
        if "E" not in params:
            return []
        delta = params["E"] if self.relative_e else params["E"] - self.e
        if not self.relative_e:
            self.e = params["E"]
        bound = MAX_E_MOVE[self.e_units]
        if abs(delta) > bound + _EPS:
            unit = self.e_units
            return [f"E move of {delta:g} ({unit}) is beyond the sane bound of {bound:g}"]
        return []

    def _outside(self, pos: dict[str, float | None]) -> list[str]:
        spans = {"X": self.limits.bed_x_mm, "Y": self.limits.bed_y_mm, "Z": self.limits.max_z_mm}
        out = []
        for axis, high in spans.items():
            value = pos.get(axis)
            if value is not None and not -_EPS <= value <= high + _EPS:
                out.append(f"{axis}{value:g} mm is outside the bed (0..{high:g} mm)")
        return out

    def _arc(self, start: dict[str, float | None], params: dict[str, float]) -> list[str]:
        x0, y0 = start["X"], start["Y"]
        if x0 is None or y0 is None:
            return []
        cx, cy = x0 + params.get("I", 0.0), y0 + params.get("J", 0.0)
        radius = math.hypot(params.get("I", 0.0), params.get("J", 0.0))
        box = {"X": cx - radius, "Y": cy - radius, "Z": None}
        far = {"X": cx + radius, "Y": cy + radius, "Z": None}
        if self._outside(box) or self._outside(far):
            return [f"the arc around X{cx:g} Y{cy:g} (radius {radius:g} mm) leaves the bed"]
        return []


def check_limits(lines: Iterable[str], limits: MachineLimits) -> list[LimitViolation]:
    """Every line of ``lines`` that asks the machine for more than ``limits`` allow.

    A parameter that is not a finite number is reported as a violation too
    (the firmware would read it as something else).
    """
    machine = _Machine(limits)
    found: list[LimitViolation] = []
    for number, line in enumerate(lines, start=1):
        declared = _EXTRUSION.match(line.strip())
        if declared and declared.group(1) in MAX_E_MOVE:
            machine.e_units = declared.group(1)
        try:
            parsed = _words(line)
        except ValueError as exc:
            found.append(LimitViolation(number, line.strip(), f"unreadable parameter ({exc})"))
            continue
        if parsed is None:
            continue
        head, params = parsed
        problems: list[str] = []
        if head in _HEATERS:
            problem = machine.heater(head, params)
            problems = [problem] if problem else []
        elif head in _MOVES:
            problems = machine.move(head, params)
        else:
            machine.modes(head, params)
        found += [LimitViolation(number, line.strip(), p) for p in problems]
    return found
