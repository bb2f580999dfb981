"""Motion and extrusion bookkeeping of the printer simulator.

Tracks G90/G91, M82/M83 and G92 like Marlin, turns E moves into deposited
volume according to what E means on this machine, and times each move from
its length and feed rate (simulator seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from printpharm.errors import InputError

__all__ = ["E_UNITS", "Motion", "parse_words"]

#: What an E unit means: filament length, syringe plunger travel, or volume.
E_UNITS = ("filament_mm", "plunger_mm", "mm3")


def parse_words(command: str) -> tuple[str, dict[str, float]]:
    """Split ``G1 X10 E0.5`` into ``("G1", {"X": 10.0, "E": 0.5})``.

    Words that are not a letter and a number are ignored (Marlin does the same).
    """
    parts = command.split()
    code = parts[0].upper() if parts else ""
    words: dict[str, float] = {}
    for part in parts[1:]:
        try:
            words[part[0].upper()] = float(part[1:]) if len(part) > 1 else 0.0
        except ValueError:
            continue
    return code, words


@dataclass
class Motion:
    """Positions (mm), modes, feed rate (mm/min) and the E-to-volume factor."""

    e_units: str = "mm3"
    diameter_mm: float = 1.75
    position: dict[str, float] = field(default_factory=lambda: dict.fromkeys("XYZE", 0.0))
    relative_xyz: bool = False
    relative_e: bool = False
    feed_mm_per_min: float = 1500.0
    flow_percent: float = 100.0

    def __post_init__(self) -> None:
        if self.e_units not in E_UNITS:
            raise InputError(f"e_units = {self.e_units!r}; expected one of {', '.join(E_UNITS)}")
        if not self.diameter_mm > 0:
            raise InputError(f"diameter_mm = {self.diameter_mm}; must be > 0")

    @property
    def mm3_per_e(self) -> float:
        """Volume in mm³ pushed out by one E unit."""
        if self.e_units == "mm3":
            return 1.0
        return math.pi * self.diameter_mm**2 / 4.0

    def set_mode(self, code: str) -> None:
        """Apply G90/G91/M82/M83 (G90/G91 also set E, as in Marlin)."""
        if code in ("G90", "G91"):
            self.relative_xyz = self.relative_e = code == "G91"
        elif code in ("M82", "M83"):
            self.relative_e = code == "M83"

    def set_position(self, words: dict[str, float]) -> None:
        """G92: declare the current position without moving."""
        axes = [a for a in "XYZE" if a in words] or list("XYZE")
        for axis in axes:
            self.position[axis] = words.get(axis, 0.0)

    def move(self, words: dict[str, float]) -> tuple[float, float]:
        """Apply a G0/G1; return (duration in s, E delta in E units)."""
        if "F" in words and words["F"] > 0:
            self.feed_mm_per_min = words["F"]
        deltas: dict[str, float] = {}
        for axis in "XYZE":
            if axis not in words:
                continue
            relative = self.relative_e if axis == "E" else self.relative_xyz
            target = self.position[axis] + words[axis] if relative else words[axis]
            deltas[axis] = target - self.position[axis]
            self.position[axis] = target
        length = math.sqrt(sum(deltas.get(a, 0.0) ** 2 for a in "XYZ")) or abs(deltas.get("E", 0))
        return length / (self.feed_mm_per_min / 60.0), deltas.get("E", 0.0)

    def home(self, words: dict[str, float]) -> None:
        """G28: the named axes (or all) go to 0."""
        for axis in [a for a in "XYZ" if a in words] or list("XYZ"):
            self.position[axis] = 0.0
