"""Progress events of a print run, published through :class:`~printpharm.services.jobs.EventHub`.

Frozen dataclasses, no Qt: the CLI prints them, the GUI re-emits them as
signals, tests collect them. Order in a run: ``PreflightPassed`` (a failed
preflight raises instead, and nothing else is published), ``RunStarted``,
``Heating`` (``reached=False`` then ``True``), then per unit ``UnitStarted``,
``UnitProgress``…, ``UnitWeighed``, ``Temperatures``, optionally ``FlowCorrected``;
``Temperatures`` also between chunks of lines, and ``Pressure`` (where the head
reports it) between chunks and after each unit; ``Alarm``
whenever a limit is left; always ``RunFinished`` last.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from printpharm.services.run.result import AlarmRecord, BatchResult, FlowCorrection, UnitRecord

__all__ = [
    "Alarm",
    "FlowCorrected",
    "Heating",
    "PreflightPassed",
    "Pressure",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "Temperatures",
    "UnitProgress",
    "UnitStarted",
    "UnitWeighed",
]


@dataclass(frozen=True)
class RunStarted:
    """A run began: batch id, recipe, dose per unit (mg), number of units.

    ``noise_prior`` says which unit-to-unit noise the flow controller starts from and
    why (the site calibration's measured scatter, or the ink file's declared RSD).
    """

    batch_id: str
    recipe_id: str
    dose_mg: Decimal
    units_total: int
    noise_prior: str = ""


@dataclass(frozen=True)
class PreflightPassed:
    """Every preflight check passed; ``checks`` are ``(name, detail)`` pairs."""

    checks: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Heating:
    """Heaters set to their targets (°C; None = not heated); ``reached`` once at target."""

    hotend_c: Decimal | None
    bed_c: Decimal | None
    reached: bool
    hotend_actual_c: Decimal | None = None
    bed_actual_c: Decimal | None = None


@dataclass(frozen=True)
class UnitStarted:
    """Unit ``n`` of ``of`` starts printing; its target ink mass in mg."""

    n: int
    of: int
    target_mg: Decimal
    flow_pct: Decimal


@dataclass(frozen=True)
class UnitProgress:
    """Lines of unit ``n`` acknowledged by the printer so far, of its total."""

    n: int
    lines_sent: int
    lines_total: int


@dataclass(frozen=True)
class Temperatures:
    """Measured heater temperatures in °C while printing, for unit ``unit``.

    Published after each unit (M105) and between chunks of lines (auto-reports).
    """

    unit: int | None
    hotend_c: Decimal | None
    bed_c: Decimal | None


@dataclass(frozen=True)
class Pressure:
    """Extrusion-pressure reports received while printing ``unit`` (kPa, oldest first).

    ``limits_kpa`` are the ink's (min or None, max). ``flows_mm3_s`` the commanded flow
    of each report (0: the plunger stood still).
    """

    unit: int | None
    readings_kpa: tuple[Decimal, ...]
    flows_mm3_s: tuple[Decimal, ...]
    limits_kpa: tuple[Decimal | None, Decimal]


@dataclass(frozen=True)
class UnitWeighed:
    """Unit ``n`` was weighed and judged against its target."""

    unit: UnitRecord


@dataclass(frozen=True)
class FlowCorrected:
    """The flow rate for the next unit was changed (within the recipe's bounds)."""

    correction: FlowCorrection


@dataclass(frozen=True)
class Alarm:
    """A unit, a temperature, the balance or the connection left its limits."""

    alarm: AlarmRecord


@dataclass(frozen=True)
class RunFinished:
    """The run ended (completed, stopped or interrupted); the full result."""

    result: BatchResult


RunEvent = (
    RunStarted
    | PreflightPassed
    | Heating
    | UnitStarted
    | UnitProgress
    | Temperatures
    | Pressure
    | UnitWeighed
    | FlowCorrected
    | Alarm
    | RunFinished
)
