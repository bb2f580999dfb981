"""Extrusion pressure during a run: logged per unit, judged against the ink's limits.

Where the print head reports the pressure at its plunger (``Cap:PRESSURE_REPORT``;
``M1155 S<s>`` auto-reports ``echo:PRESSURE kPa:<p> Q:<flow>``, see
``docs/pressure.md``) and the ink declares ``[pressure]`` limits, the run asks for
a report every :data:`REPORT_INTERVAL_S` and streams each unit in chunks of at
most :data:`CHECK_EVERY_LINES` lines; after every chunk the reports received are
judged:

- **over-pressure**: any report above the ink's ``max`` — a clog building. It is
  seen within a second or two of the clogged bead, long before the unit could be
  weighed: the alarm stops (or pauses) the run while the unit is still printing.
  A report line has no checksum, so one report alone is confirmed by a poll
  (:mod:`.printing`); two reports in a row above the limit (``held``) are a
  pressure that stays up, which a garbled line is not, and need no poll (the poll
  reads one instant, and the pressure of a clogged head falls at every travel);
- **under-pressure**: a report below ``min`` while the plunger has pushed for
  :data:`STEADY_REPORTS` reports in a row (so the rise after a start or a prime is
  not mistaken for it) — an air pocket passing the nozzle, or an empty syringe.

Each kind alarms once per unit (a paused run that goes on is not asked again for
the same excursion). Every report of a unit, with its minimum, mean and maximum,
is kept with the unit's record (:class:`PressureLog`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from printpharm.catalog.schema import PressureLimits
from printpharm.devices.marlin import PressureReading

__all__ = [
    "CHECK_EVERY_LINES",
    "REPORT_INTERVAL_S",
    "STEADY_REPORTS",
    "Excursion",
    "PressureLog",
    "PressureWatch",
    "pressure_text",
]

#: Seconds between two pressure reports the run asks for (``M1155 S0.5``).
REPORT_INTERVAL_S = Decimal("0.5")
#: While the pressure is watched, a unit is streamed in chunks of at most this many lines.
CHECK_EVERY_LINES = 10
#: Reports in a row with the plunger pushing before a low pressure counts (the rise
#: after a start or a prime takes about a second).
STEADY_REPORTS = 3
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Excursion:
    """A report outside the ink's limits: ``high`` (over-pressure) or ``low``."""

    kind: Literal["high", "low"]
    kpa: Decimal
    limit_kpa: Decimal
    held: bool = False
    """The report before it, in the same unit, was outside the same limit too."""

    def describe(self, unit: int | None) -> str:
        """The alarm message."""
        where = f"unit {unit}: " if unit is not None else ""
        if self.kind == "high":
            return (
                f"{where}extrusion pressure {self.kpa} kPa is above the ink's limit of "
                f"{self.limit_kpa} kPa: a clog building? (seen while the unit prints, before "
                "it is weighed)"
            )
        return (
            f"{where}extrusion pressure {self.kpa} kPa fell below the ink's limit of "
            f"{self.limit_kpa} kPa while extruding: air in the syringe, or is it empty?"
        )


@dataclass(frozen=True)
class PressureLog:
    """The pressure reports of one unit (kPa, in order) and what they say.

    ``min_kpa``/``mean_kpa`` are over steady extrusion (:data:`STEADY_REPORTS`),
    ``max_kpa`` over every report; the limits are the ink's as judged.
    """

    reports_kpa: tuple[Decimal, ...]
    steady: int
    min_kpa: Decimal | None
    mean_kpa: Decimal | None
    max_kpa: Decimal | None
    limit_min_kpa: Decimal | None
    limit_max_kpa: Decimal
    interval_s: Decimal = REPORT_INTERVAL_S

    def record(self) -> dict[str, Any]:
        """The log as stored with the unit (Decimals kept exact)."""
        return {
            "reports_kpa": list(self.reports_kpa),
            "steady": self.steady,
            "min_kpa": self.min_kpa,
            "mean_kpa": self.mean_kpa,
            "max_kpa": self.max_kpa,
            "limits_kpa": [self.limit_min_kpa, self.limit_max_kpa],
            "interval_s": self.interval_s,
        }

    def text(self) -> str:
        """``112.4 kPa mean (98.1–131.0), 84 reports`` or that nothing steady was read."""
        if self.mean_kpa is None:
            return f"{len(self.reports_kpa)} reports, no steady extrusion (max {self.max_kpa} kPa)"
        return (
            f"{self.mean_kpa} kPa mean ({self.min_kpa}–{self.max_kpa}), "
            f"{len(self.reports_kpa)} reports"
        )


def pressure_text(record: Mapping[str, Any] | None) -> str | None:
    """A stored pressure log in words: ``mean 112.4 kPa (98.1–131.0), max 131.0, 84 reports``.

    ``None`` for a unit without a log (no load cell, or no limits).
    """
    if not record:
        return None
    reports = len(record.get("reports_kpa") or ())
    low, high = (record.get("limits_kpa") or [None, None])[:2]
    limits = f"limits {low or '—'}–{high} kPa"
    if record.get("mean_kpa") is None:
        return f"no steady extrusion, max {record.get('max_kpa')} kPa, {reports} reports; {limits}"
    return (
        f"mean {record['mean_kpa']} kPa ({record['min_kpa']}–{record['max_kpa']}), "
        f"{reports} reports; {limits}"
    )


@dataclass
class PressureWatch:
    """Judges one run's pressure reports unit by unit (see the module docstring)."""

    limits: PressureLimits | None
    active: bool = False
    _reports: list[PressureReading] = field(default_factory=list)
    _pushing: int = 0
    _alarmed: set[str] = field(default_factory=set)
    _high: bool = False

    def begin_unit(self) -> None:
        """A new unit: its own log, and each kind may alarm once more."""
        self._reports, self._pushing, self._alarmed, self._high = [], 0, set(), False

    def add(self, readings: Iterable[PressureReading]) -> list[Excursion]:
        """Log ``readings`` (oldest first); return the excursions not yet alarmed in this unit."""
        found: list[Excursion] = []
        limits = self.limits
        for reading in readings:
            self._reports.append(reading)
            self._pushing = self._pushing + 1 if reading.extruding else 0
            if limits is None:
                continue
            high = reading.kpa > limits.max.value
            if high:
                found.append(Excursion("high", reading.kpa, limits.max.value, held=self._high))
            self._high = high
            low = limits.min
            if low is not None and self._pushing >= STEADY_REPORTS and reading.kpa < low.value:
                found.append(Excursion("low", reading.kpa, low.value))
        new = []
        held = [e for e in found if e.kind == "high" and e.held]
        if held:  # a pressure that stayed up speaks first: it needs no confirmation
            found = held[:1] + [e for e in found if e.kind != "high"]
        for excursion in found:
            if excursion.kind not in self._alarmed:
                self._alarmed.add(excursion.kind)
                new.append(excursion)
        return new

    def rearm(self, kind: Literal["high", "low"]) -> None:
        """Let ``kind`` alarm again in this unit (its excursion was not confirmed)."""
        self._alarmed.discard(kind)

    def log(self) -> PressureLog | None:
        """The current unit's log (``None`` when nothing is watched or nothing came)."""
        if not self.active or self.limits is None or not self._reports:
            return None
        steady: list[Decimal] = []
        pushing = 0
        for reading in self._reports:
            pushing = pushing + 1 if reading.extruding else 0
            if pushing >= STEADY_REPORTS:
                steady.append(reading.kpa)
        mean = (
            (sum(steady, Decimal(0)) / len(steady)).quantize(_TENTH, ROUND_HALF_UP)
            if steady
            else None
        )
        low = self.limits.min
        return PressureLog(
            reports_kpa=tuple(r.kpa for r in self._reports),
            steady=len(steady),
            min_kpa=min(steady) if steady else None,
            mean_kpa=mean,
            max_kpa=max(r.kpa for r in self._reports),
            limit_min_kpa=None if low is None else low.value,
            limit_max_kpa=self.limits.max.value,
        )
