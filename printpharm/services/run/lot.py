"""The ink lot a run prints from, the ink a batch needs, and the ink it used.

A recorded run binds one lot from the database (see
:mod:`printpharm.services.control.lots`); a training run without a database
keeps the ink file's example lot, labelled :data:`EXAMPLE_LOT_LABEL` in its
output and record. :func:`ink_required` is the one place that says how much ink
a planned batch needs (its units plus the prime/purge line); :func:`ink_used`
how much a finished run took from its lot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

from printpharm.catalog.schema import Ink
from printpharm.core.ink_lots import BulkAssay, UnitContent, unit_content

if TYPE_CHECKING:
    from printpharm.services.run.planning import PlanResult

__all__ = [
    "EXAMPLE_LOT_LABEL",
    "BoundLot",
    "InkNeed",
    "QuantityUnit",
    "ink_required",
    "ink_used",
    "number",
]

#: How a training run names the ink file's lot in its output and record.
EXAMPLE_LOT_LABEL = "example lot from the ink file — training only"

QuantityUnit = Literal["mL", "g"]
_Q = Decimal("0.001")


@dataclass(frozen=True)
class BoundLot:
    """The lot a run prints from, as it was when the run was authorised.

    ``source`` is ``database`` for a recorded lot (``lot_id`` set) or ``ink_file``
    for the example lot of a training run. ``assay`` is the lot's bulk assay (the
    ink file's nominal assay for the example lot, which is not a measurement).
    """

    lot_number: str
    ink_id: str
    ink_version: int | None
    status: str
    beyond_use_date: date
    quantity_remaining: Decimal | None
    quantity_unit: QuantityUnit | None
    assay: BulkAssay | None
    density_g_per_ml: Decimal | None
    source: Literal["database", "ink_file"]
    lot_id: int | None = None
    container: str = ""

    @classmethod
    def from_ink_file(cls, ink: Ink) -> BoundLot:
        """The ink file's example lot (training runs): its nominal assay, no quantity."""
        nominal = BulkAssay("pct_label_claim", ink.assay.value, "nominal value in the ink file")
        return cls(
            ink.lot, ink.id, None, "example", ink.expiry, None, None, nominal, None, "ink_file"
        )

    @property
    def label(self) -> str:
        """``lot L-1 (released)``, or the example lot's training-only label."""
        if self.source == "ink_file":
            return f"lot {self.lot_number} ({EXAMPLE_LOT_LABEL})"
        return f"lot {self.lot_number} ({self.status.replace('_', ' ')})"

    @property
    def assay_is_measured(self) -> bool:
        """Whether the assay is a measurement of this lot (not the file's nominal value)."""
        return self.source == "database" and self.assay is not None

    def content(self, mass_mg: Decimal, label_claim_mg_per_g: Decimal) -> UnitContent | None:
        """A unit's API content from its measured (as dispensed) mass, or ``None`` without assay."""
        if self.assay is None or mass_mg <= 0 or label_claim_mg_per_g <= 0:
            return None
        conc = self.assay.concentration_mg_per_g(label_claim_mg_per_g)
        spread = self.assay.concentration_uncertainty_mg_per_g(label_claim_mg_per_g)
        return unit_content(mass_mg, conc, spread)

    def record(self) -> dict[str, Any]:
        """The lot as the batch record keeps it (status and quantity at the time of printing)."""
        a = self.assay
        return {
            "lot": self.lot_number,
            "source": self.source,
            "label": self.label,
            "lot_id": self.lot_id,
            "ink_version": self.ink_version,
            "status_at_printing": self.status,
            "beyond_use_date": self.beyond_use_date,
            "quantity_remaining": self.quantity_remaining,
            "quantity_unit": self.quantity_unit,
            "container": self.container,
            "density_g_per_ml": self.density_g_per_ml,
            "assay": None
            if a is None
            else {
                "basis": a.basis,
                "value": a.value,
                "uncertainty": a.uncertainty,
                "method": a.method,
                "analyst": a.analyst,
                "measured": self.assay_is_measured,
            },
        }


@dataclass(frozen=True)
class InkNeed:
    """Ink a planned batch needs: its units and the prime/purge line (mm³, mg as dispensed)."""

    units: int
    units_volume_mm3: Decimal
    units_mass_mg: Decimal
    purge_volume_mm3: Decimal
    ink_density_g_per_ml: Decimal

    def amount(self, unit: QuantityUnit, density_g_per_ml: Decimal | None = None) -> Decimal:
        """The need in mL (volumes) or g (masses; the purge line at ``density_g_per_ml``)."""
        density = density_g_per_ml or self.ink_density_g_per_ml
        if unit == "mL":
            total = (self.units_volume_mm3 + self.purge_volume_mm3) / 1000
        else:
            total = (self.units_mass_mg + self.purge_volume_mm3 * density) / 1000
        return total.quantize(_Q, rounding=ROUND_CEILING)

    def record(self) -> dict[str, Any]:
        """For the batch record."""
        return {
            "units": self.units,
            "units_volume_mm3": self.units_volume_mm3,
            "units_mass_mg": self.units_mass_mg,
            "purge_volume_mm3": self.purge_volume_mm3,
            "ml": self.amount("mL"),
            "basis": "planned unit volumes + prime/purge line (no dead volume)",
        }


def number(value: Decimal) -> str:
    """A stored decimal for people: ``20``, ``0.5`` (not ``20.000000`` as NUMERIC returns it)."""
    return f"{value.normalize():f}"


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_Q, rounding=ROUND_HALF_UP)


def ink_required(plan: PlanResult, ink: Ink) -> InkNeed:
    """The ink a planned batch needs: the analysed unit volumes plus the prime/purge line.

    The purge line is read back from the plan's start code (the same analyser that
    checks the units). This is the one helper the run and the lot checks use; when the
    plan states its own ink requirement (prime, purge and dead volume) it switches to it.
    """
    from printpharm.slicing.analysis import analyse_gcode

    start = plan.gcode.split(";PRINTPHARM UNIT_START", 1)[0]
    extrusion = plan.extrusion
    purge = analyse_gcode(start, str(extrusion["e_units"]), float(extrusion["diameter_mm"]))
    return InkNeed(
        units=plan.units,
        units_volume_mm3=_dec(sum(plan.unit_volumes_mm3)),
        units_mass_mg=_dec(plan.ink_mass_mg * plan.units),
        purge_volume_mm3=_dec(purge.total.volume_mm3),
        ink_density_g_per_ml=ink.density.value,
    )


def ink_used(
    need: InkNeed,
    measured_mg: list[Decimal],
    completed: bool,
    unit: QuantityUnit,
    density_g_per_ml: Decimal,
) -> Decimal:
    """What a run took from its lot, in the lot's unit (mL or g).

    The purge line as planned, every weighed unit's measured (as dispensed) mass, and,
    when the run did not complete, one more planned unit for the unit in progress
    (it may have been printed in part and was not weighed).
    """
    mass = sum(measured_mg, Decimal(0))
    if not completed and len(measured_mg) < need.units:
        mass += need.units_mass_mg / need.units
    if unit == "g":
        total = (mass + need.purge_volume_mm3 * density_g_per_ml) / 1000
    else:
        total = (mass / density_g_per_ml + need.purge_volume_mm3) / 1000
    return total.quantize(_Q, rounding=ROUND_CEILING)
