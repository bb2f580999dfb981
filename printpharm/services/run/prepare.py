"""Compose a run from the catalog and the planner: the one path the CLI and the GUI share.

:func:`prepare_run` plans the plate (:func:`~printpharm.services.run.planning.plan_batch`),
splits its G-code at the unit markers and resolves the heater targets, giving a
:class:`~printpharm.services.run.request.RunRequest` ready for
:func:`~printpharm.services.run.loop.run_batch`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog
from printpharm.errors import InputError
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.lot import ink_required
from printpharm.services.run.planning import PlanResult, plan_batch
from printpharm.services.run.program import parse_plate_gcode
from printpharm.services.run.request import RunRequest

__all__ = ["PreparedRun", "new_batch_id", "prepare_run"]


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """A planned plate and the run request built from it."""

    request: RunRequest
    plan: PlanResult


def new_batch_id(recipe_id: str, now: datetime | None = None) -> str:
    """``<recipe>-<UTC yyyymmddThhmmssZ>-<6 hex>``: unique, sortable, readable."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{recipe_id}-{stamp}-{secrets.token_hex(3)}"


def prepare_run(
    catalog: Catalog,
    recipe_id: str,
    dose_mg: Decimal,
    units: int,
    *,
    dose_record: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
    calibration: CalibrationInForce | None = None,
) -> PreparedRun:
    """Plan ``units`` units of ``dose_mg`` (mg per unit) and build the run request.

    ``calibration`` is the site calibration in force for the ink and printer
    (:meth:`printpharm.services.control.calibration.CalibrationService.in_force`);
    ``None`` plans with the ink file's default, and the record says so.

    Raises
    ------
    InputError
        ``units`` < 1.
    DesignSpaceError, CatalogError, CalibrationError, SizingError, SlicingError, PreflightError
        As :func:`~printpharm.services.run.planning.plan_batch` (the plan is refused).
    """
    if units < 1:
        raise InputError(f"units = {units}; at least 1 unit is needed")
    recipe = catalog.recipe(recipe_id)
    plan = plan_batch(catalog, recipe.id, dose_mg, units, calibration=calibration)
    process = catalog.resolve(recipe.id).process
    ink = catalog.ink(recipe.ink)
    request = RunRequest(
        recipe=recipe,
        ink=ink,
        printer_definition=catalog.printer(recipe.printer),
        program=parse_plate_gcode(plan.gcode),
        dose_mg=dose_mg,
        recipe_sha256=catalog.file_sha256("recipe", recipe.id),
        nozzle_c=process.nozzle_temperature.value,
        bed_c=process.bed_temperature.value,
        dose_record=dict(dose_record or {}),
        batch_id=batch_id or new_batch_id(recipe.id),
        ink_need=ink_required(plan, ink),
        prediction=plan.prediction,
    )
    return PreparedRun(request, plan)
