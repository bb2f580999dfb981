"""The ink lot a run prints from, the ink a batch needs, and the ink it used.

A recorded run binds one lot from the database (see
:mod:`printpharm.services.control.lots`); a training run without a database
keeps the ink file's example lot, labelled :data:`EXAMPLE_LOT_LABEL` in its
output and record. :func:`ink_required` gives the ink a planned batch needs as
the plan computed it (:mod:`printpharm.services.run.ink_capacity`: units with their
primes, the purge and the reservoir's dead volume); :func:`ink_used` how much a
finished run took from its lot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

from printpharm.catalog.schema import Ink
from printpharm.core.ink_lots import BulkAssay, UnitContent, unit_content
from printpharm.services.run.ink_capacity import InkRequirement

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
    """Ink a planned batch needs, and what a run takes from its lot.

    ``requirement`` is the plan's one computation of the ink a plate needs
    (:class:`~printpharm.services.run.ink_capacity.InkRequirement`, the plan's
    ``ink_required_ml``): every unit's deposit and primes and the purge, read back
    from the written G-code, plus the reservoir's dead volume. ``unit_mass_mg`` is
    one planned unit as dispensed (the unit a stopped run was printing).
    """

    requirement: InkRequirement
    unit_mass_mg: Decimal
    ink_density_g_per_ml: Decimal

    @property
    def units(self) -> int:
        """Units planned."""
        return self.requirement.units

    def amount(self, unit: QuantityUnit, density_g_per_ml: Decimal | None = None) -> Decimal:
        """The need in mL, or in g at ``density_g_per_ml`` (the ink's density if None)."""
        total = self.requirement.total_ml
        if unit == "g":
            total *= density_g_per_ml or self.ink_density_g_per_ml
        return total.quantize(_Q, rounding=ROUND_CEILING)

    def units_fitting(
        self, quantity: Decimal, unit: QuantityUnit, density_g_per_ml: Decimal | None = None
    ) -> int:
        """How many units of this plate ``quantity`` (mL, or g at the density) holds."""
        density = density_g_per_ml or self.ink_density_g_per_ml
        return self.requirement.units_fitting(quantity if unit == "mL" else quantity / density)

    def record(self) -> dict[str, Any]:
        """For the batch record: the plan's ``ink_required_ml`` and the planned unit mass."""
        return {
            **self.requirement.to_record(),
            "unit_mass_mg": self.unit_mass_mg,
            "basis": "each unit's deposit and primes + purge (read back from the G-code) "
            "+ the reservoir's dead volume",
        }


def number(value: Decimal) -> str:
    """A stored decimal for people: ``20``, ``0.5`` (not ``20.000000`` as NUMERIC returns it)."""
    return f"{value.normalize():f}"


def ink_required(plan: PlanResult, ink: Ink) -> InkNeed:
    """The ink a planned batch needs: the plan's own :attr:`PlanResult.ink` (one computation).

    The run's lot check and the lot's consumption use it; the planner and the run's
    preflight check the same requirement against the printer's syringe or spool.
    """
    unit_mass = Decimal(repr(plan.ink_mass_mg)).quantize(_Q, rounding=ROUND_HALF_UP)
    return InkNeed(plan.ink, unit_mass, ink.density.value)


def ink_used(
    need: InkNeed,
    measured_mg: list[Decimal],
    completed: bool,
    unit: QuantityUnit,
    density_g_per_ml: Decimal,
) -> Decimal:
    """What a run took from its lot, in the lot's unit (mL or g).

    The purge as planned, every weighed unit's measured (as dispensed) mass, and,
    when the run did not complete, one more planned unit for the unit in progress
    (it may have been printed in part and was not weighed). The reservoir's dead
    volume is needed to print but stays in the syringe or filament path: it is not
    taken from the lot.
    """
    mass = sum(measured_mg, Decimal(0))
    if not completed and len(measured_mg) < need.units:
        mass += need.unit_mass_mg
    purge_ml = need.requirement.purge_ml
    if unit == "g":
        total = mass / 1000 + purge_ml * density_g_per_ml
    else:
        total = mass / density_g_per_ml / 1000 + purge_ml
    return total.quantize(_Q, rounding=ROUND_CEILING)
