"""How much ink a plate needs, and whether the printer's syringe or spool holds it.

The ink a plate takes from the reservoir is the net advance of the E axis over
the whole program, read back from the G-code with the independent analyser: every
unit's deposit and its primes and retractions, the start code's purge line, and
the primes between units. The reservoir (the printer definition's ``[reservoir]``:
a syringe in mL or a filament spool in g) also keeps a dead volume that can never
be printed. A syringe printer is limited by the smaller of its barrel and the
ink's own syringe; a spool's mass is turned into mL by the ink's density.

The flow controller may print each unit with up to the recipe's validated
correction range more material (``flow_correction.max``, e.g. +5 %): that much
of the units' ink is kept in reserve, so a plate that fits does not run short on
its last unit after corrections.

A plate that does not fit is refused with the largest number of units that does
(:func:`check_capacity`); the planner and the run's preflight both call
:func:`ink_requirement` on what they are about to print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from printpharm.catalog.schema import Ink, PrinterDefinition
from printpharm.core.units import format_decimal
from printpharm.errors import InputError
from printpharm.slicing.analysis import GcodeAnalysis, analyse_gcode

if TYPE_CHECKING:  # a plan has no parsed program: `printpharm plan` does not import it
    from printpharm.services.run.program import PlateProgram

__all__ = [
    "InkRequirement",
    "Reservoir",
    "analysis_requirement",
    "check_capacity",
    "correction_reserve",
    "ink_requirement",
    "program_requirement",
    "reservoir_of",
]

_ML = Decimal("0.001")


def _ml(volume_mm3: float) -> Decimal:
    """mm³ → mL, to 3 decimals (µL), rounded up: ink a plate needs is never understated."""
    return (Decimal(repr(volume_mm3)) / 1000).quantize(_ML, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Reservoir:
    """What the printer can hold of an ink: usable mL, the dead volume, and how it was found."""

    capacity_ml: Decimal
    dead_volume_ml: Decimal
    description: str


def reservoir_of(printer: PrinterDefinition, ink: Ink) -> Reservoir | None:
    """The reservoir of ``printer`` loaded with ``ink``; ``None`` if the printer declares none."""
    declared = printer.reservoir
    if declared is None:
        return None
    dead = declared.dead_volume.value
    if declared.syringe is not None:
        barrel = declared.syringe.value
        loaded = barrel if ink.syringe is None else min(barrel, ink.syringe.volume.value)
        sizes = f"printer {printer.id} {format_decimal(barrel)} mL"
        if ink.syringe is not None:
            sizes += f", ink {ink.id} {format_decimal(ink.syringe.volume.value)} mL"
        return Reservoir(loaded, dead, f"{format_decimal(loaded)} mL syringe ({sizes})")
    assert declared.spool is not None
    grams = declared.spool.value
    ml = (grams / ink.density.value).quantize(_ML)
    text = (
        f"{format_decimal(grams)} g spool (printer {printer.id}; {format_decimal(ml)} mL of "
        f"{ink.id} at {format_decimal(ink.density.value)} g/cm³)"
    )
    return Reservoir(ml, dead, text)


@dataclass(frozen=True)
class InkRequirement:
    """Ink a plate of ``units`` needs (mL) against the reservoir; ``max_units`` that fit."""

    units: int
    per_unit_ml: Decimal
    purge_ml: Decimal
    dead_volume_ml: Decimal
    total_ml: Decimal
    reservoir: Reservoir | None
    max_units: int | None
    reserve_fraction: Decimal = Decimal(0)

    @property
    def reserve_ml(self) -> Decimal:
        """Ink kept for the flow controller's corrections: the units' ink × the fraction (mL)."""
        reserve = self.units * self.per_unit_ml * self.reserve_fraction
        return reserve.quantize(_ML, rounding=ROUND_CEILING)

    @property
    def fits(self) -> bool:
        """Whether the reservoir holds the plate (``True`` when none is declared)."""
        return self.reservoir is None or self.total_ml <= self.reservoir.capacity_ml

    def units_fitting(self, available_ml: Decimal) -> int:
        """How many units of this plate ``available_ml`` holds (after purge and dead volume).

        The rule the reservoir's ``max_units`` follows, for another quantity (an ink
        lot's remaining ink).
        """
        if self.per_unit_ml <= 0:
            return self.units
        room = available_ml - self.dead_volume_ml - self.purge_ml
        return max(0, int(room // (self.per_unit_ml * (1 + self.reserve_fraction))))

    def describe(self) -> str:
        """One line: what is needed, from what, and how many units fit."""
        text = (
            f"ink needed: {format_decimal(self.total_ml)} mL for {self.units} unit(s) "
            f"({self.breakdown()})"
        )
        if self.reservoir is None:
            return text + "; the printer declares no syringe or spool: not checked"
        return text + (
            f"; the {self.reservoir.description} holds "
            f"{format_decimal(self.reservoir.capacity_ml)} mL: at most {self.max_units} "
            "unit(s) fit"
        )

    def summary(self) -> str:
        """A short line for a screen: ``5.567 mL of the 10 mL syringe (0.253 mL per unit; ...)``."""
        f = format_decimal
        where = "" if self.reservoir is None else f" of the {self.reservoir.description}"
        fit = "" if self.max_units is None else f"; at most {self.max_units} units fit"
        return f"{f(self.total_ml)} mL{where} ({f(self.per_unit_ml)} mL per unit{fit})"

    def breakdown(self) -> str:
        """``10 × 0.673 mL (deposit and primes) + 0.016 mL purge + 0.5 mL dead volume``."""
        f = format_decimal
        reserve = (
            f" + {f(self.reserve_ml)} mL reserve for flow corrections "
            f"(+{f(self.reserve_fraction * 100)} %)"
            if self.reserve_fraction > 0
            else ""
        )
        return (
            f"{self.units} × {f(self.per_unit_ml)} mL (deposit and primes) + "
            f"{f(self.purge_ml)} mL purge + {f(self.dead_volume_ml)} mL dead volume{reserve}"
        )

    def to_record(self) -> dict[str, Any]:
        """The ``ink_required_ml`` object of the plan's JSON."""
        reservoir = self.reservoir
        return {
            "units": self.units,
            "per_unit": self.per_unit_ml,
            "purge": self.purge_ml,
            "dead_volume": self.dead_volume_ml,
            "correction_reserve": self.reserve_ml,
            "total": self.total_ml,
            "capacity": None if reservoir is None else reservoir.capacity_ml,
            "reservoir": None if reservoir is None else reservoir.description,
            "max_units": self.max_units,
            "fits": self.fits,
        }


def ink_requirement(
    unit_mm3: Sequence[float],
    purge_mm3: float,
    printer: PrinterDefinition,
    ink: Ink,
    reserve: Decimal = Decimal(0),
) -> InkRequirement:
    """The ink of a plate whose units take ``unit_mm3`` each and whose purge ``purge_mm3``.

    Volumes are E advances in mm³: a unit's deposit and its primes net of its own
    retractions; the purge is what the rest of the program deposits or primes.
    ``reserve`` is the fraction of the units' ink kept for flow corrections (0.05).
    """
    reservoir = reservoir_of(printer, ink)
    dead = Decimal(0) if reservoir is None else reservoir.dead_volume_ml
    need = InkRequirement(
        len(unit_mm3), _ml(max(unit_mm3)), _ml(purge_mm3), dead, Decimal(0), reservoir, None,
        max(Decimal(0), reserve),
    )  # fmt: skip
    need = replace(need, total_ml=_ml(sum(unit_mm3) + purge_mm3) + dead + need.reserve_ml)
    if reservoir is None:
        return need
    return replace(need, max_units=need.units_fitting(reservoir.capacity_ml))


def analysis_requirement(
    analysis: GcodeAnalysis,
    units: int,
    printer: PrinterDefinition,
    ink: Ink,
    reserve: Decimal = Decimal(0),
) -> InkRequirement:
    """:func:`ink_requirement` from an analysed plate (units numbered 1..``units``).

    Retractions never count as ink given back (what is sucked back stays in the nozzle):
    each unit's primes net of its retractions count only when they add, and outside the
    units only what is deposited or primed counts.
    """
    stats = [analysis.units[n] for n in range(1, units + 1)]
    per_unit = [s.volume_mm3 + max(0.0, s.retract_net_mm3) for s in stats]
    outside_deposit = analysis.total.volume_mm3 - sum(s.volume_mm3 for s in stats)
    outside_prime = analysis.total.retract_net_mm3 - sum(s.retract_net_mm3 for s in stats)
    purge = max(0.0, outside_deposit) + max(0.0, outside_prime)
    return ink_requirement(per_unit, purge, printer, ink, reserve)


def program_requirement(
    program: PlateProgram, printer: PrinterDefinition, ink: Ink, reserve: Decimal = Decimal(0)
) -> InkRequirement:
    """The ink the run's program will take, read back from its own G-code.

    Raises
    ------
    SlicingError
        The program does not say what E means (no ``;PRINTPHARM EXTRUSION`` header).
    """
    lines = [*program.preamble, *(ln for u in program.units for ln in u.lines)]
    analysis = analyse_gcode("\n".join([*lines, *program.postamble]) + "\n")
    return analysis_requirement(analysis, len(program.units), printer, ink, reserve)


def correction_reserve(flow_correction_max_pct: Decimal) -> Decimal:
    """The fraction of ink kept for the controller: the recipe's upper correction limit."""
    return max(Decimal(0), flow_correction_max_pct) / 100


def check_capacity(need: InkRequirement, dose_text: str = "") -> None:
    """Refuse a plate the reservoir cannot hold, naming the largest batch that fits.

    Raises
    ------
    InputError
        The plate needs more ink than the syringe or spool holds.
    """
    if need.fits:
        return
    assert need.reservoir is not None
    raise InputError(
        f"{need.units} units{dose_text} need {format_decimal(need.total_ml)} mL of ink "
        f"({need.breakdown()}); the "
        f"{need.reservoir.description} holds {format_decimal(need.reservoir.capacity_ml)} mL: "
        f"the largest batch that fits is {need.max_units} unit(s)"
    )
