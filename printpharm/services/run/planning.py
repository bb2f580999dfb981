"""Plan a batch: dose → ink mass → volume → sized form → toolpaths → plate G-code → analysis.

The planner is the only place that maps the catalog (inks, recipes, printer
definitions, resolved process) onto the plain settings of
:mod:`printpharm.geometry` and :mod:`printpharm.slicing`. It checks the dose
against the recipe's validated design space, converts it to the mass to weigh
(drug load of the weighed printlet) and to the volume to deposit (the ink's
calibration ``mass = a·V + b``), sizes the form so that the *sliced* toolpaths
deposit that volume, lays the units out on the bed, writes the G-code and reads
it back with the independent analyser. A plan whose analysed unit volumes are
not within ±0.5 % of the target is refused, never returned, and so is a plate
that needs more ink than the printer's syringe or spool holds
(:mod:`printpharm.services.run.ink_capacity`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from printpharm.catalog import Catalog, ResolvedSettings
from printpharm.catalog.schema import Ink, PrinterDefinition, Recipe
from printpharm.core.text import shown
from printpharm.core.units import ink_mass_mg
from printpharm.errors import DesignSpaceError, InputError, SizingError, SlicingError
from printpharm.geometry.plate import layout_plate
from printpharm.geometry.sizing import FormSpec
from printpharm.geometry.tablet import Form
from printpharm.services.run.calibration import (
    CalibrationInForce,
    MassPrediction,
    density_check,
    predict_unit,
)
from printpharm.services.run.form_specs import recipe_form_spec
from printpharm.services.run.ink_capacity import (
    InkRequirement,
    analysis_requirement,
    check_capacity,
    correction_reserve,
)
from printpharm.services.run.plan_warnings import LINK_SHARE, PLANNER_BLOCKS, warnings_of
from printpharm.slicing.analysis import GcodeAnalysis, analyse_gcode
from printpharm.slicing.fit import fit_unit
from printpharm.slicing.gcode import write_plate
from printpharm.slicing.settings import Extrusion, MachineSettings, ProcessSettings
from printpharm.slicing.toolpaths import SlicedUnit

__all__ = [
    "DOSE_TOLERANCE_FRACTION",
    "LINK_SHARE",
    "PLANNER_BLOCKS",
    "PlanResult",
    "machine_settings",
    "plan_batch",
    "process_settings",
    "save_unit_stl",
]

#: A plan is refused if any unit's analysed volume is further than this from the target.
DOSE_TOLERANCE_FRACTION = 0.005
_HOST_FRAMING_CHARS = len("N999999 ") + len("*255")


@dataclass(frozen=True, eq=False)
class PlanResult:
    """A planned plate and everything needed to check it independently.

    Masses in mg, volumes in mm³, lengths in mm, time in s. ``unit_volumes_mm3``
    come from analysing the written G-code, not from the slicer. ``toolpaths``
    are one unit's layers around its own origin (what the plate repeats).
    """

    recipe_id: str
    ink_id: str
    printer_id: str
    dose_mg: Decimal
    units: int
    ink_mass_mg: float
    target_mass_mg: float
    target_volume_mm3: float
    template: str
    dimensions_mm: dict[str, float]
    layers: int
    fill_fraction: float | None
    line_width_mm: float
    first_layer_line_width_mm: float
    layer_height_mm: float
    first_layer_height_mm: float
    extrusion: dict[str, Any]
    unit_volumes_mm3: tuple[float, ...]
    path_length_mm: float
    estimated_time_s: float
    line_count: int
    plate_capacity: int
    ink: InkRequirement
    warnings: tuple[str, ...]
    settings: dict[str, Any]
    gcode: str
    form: Form
    toolpaths: SlicedUnit
    #: The unit mass the calibration predicts, with its 95 % interval and the calibration.
    prediction: MassPrediction | None = None

    @property
    def worst_volume_error_fraction(self) -> float:
        """Largest |unit volume / target − 1| over the plate."""
        return max(abs(v / self.target_volume_mm3 - 1) for v in self.unit_volumes_mm3)


def _dec(value: Decimal | float | int | str, name: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise DesignSpaceError(f"{name}={shown(value)} is not a number") from None
    if not result.is_finite():
        raise DesignSpaceError(f"{name}={shown(value)} is not a finite number")
    return result


def process_settings(resolved: ResolvedSettings) -> ProcessSettings:
    """The slicer's process settings from a resolved catalog process (mm, mm/s)."""
    p = resolved.process
    retract = float(p.retraction_length.value)
    return ProcessSettings(
        layer_height_mm=float(p.layer_height.value),
        first_layer_height_mm=float(p.first_layer_height.value),
        line_width_mm=float(p.line_width.value),
        perimeters=p.perimeters_count,
        infill_pattern=p.infill_pattern,
        infill_density=float(p.infill_density.value),
        print_speed_mm_s=float(p.print_speed.value),
        first_layer_speed_mm_s=float(p.first_layer_speed.value),
        travel_speed_mm_s=float(p.travel_speed.value),
        retract_mm=retract,
        retract_speed_mm_s=max(float(p.retraction_speed.value), 0.1) if retract else 5.0,
        z_hop_mm=float(p.z_hop.value),
    )


def machine_settings(
    printer: PrinterDefinition, ink: Ink, resolved: ResolvedSettings
) -> MachineSettings:
    """The writer's machine settings: flavour, bed, E axis (syringe or filament), heat.

    Raises
    ------
    SlicingError
        If the ink gives no diameter for the printer's E axis.
    """
    if printer.e_axis == "plunger_mm":
        if ink.syringe is None:
            raise SlicingError(
                f"ink {ink.id} has no syringe for the plunger E axis of {printer.id}"
            )
        diameter = float(ink.syringe.inner_diameter.value)
    elif ink.filament_diameter is not None:
        diameter = float(ink.filament_diameter.value)
    elif ink.syringe is not None:
        diameter = float(ink.syringe.inner_diameter.value)
    else:
        raise SlicingError(f"ink {ink.id} gives no filament or syringe diameter")
    p = resolved.process
    return MachineSettings(
        flavour=printer.flavour,
        extrusion=Extrusion(printer.e_axis, diameter, relative=printer.relative_e),
        bed_x_mm=float(printer.bed_x.value),
        bed_y_mm=float(printer.bed_y.value),
        max_z_mm=float(printer.max_z.value),
        nozzle_temp_c=float(p.nozzle_temperature.value),
        bed_temp_c=float(p.bed_temperature.value),
        park_x_mm=0.0,
        park_y_mm=float(printer.bed_y.value),
        name=printer.id,
        start_template=printer.start_template,
        end_template=printer.end_template,
    )


def _targets(
    ink: Ink, dose_mg: Decimal, calibration: CalibrationInForce
) -> tuple[float, float, float]:
    """(ink mass dispensed, mass to weigh, volume to deposit) for one unit (mg, mg, mm³).

    A site calibration was weighed in line, as dispensed; the ink file's default
    calibration reads the weighed printlet's mass.
    """
    dispensed = ink_mass_mg(dose_mg, drug_load_mg_per_g=ink.drug_load.value)
    weighed = ink_mass_mg(dose_mg, drug_load_mg_per_g=ink.weighed_drug_load().value)
    mass = dispensed if calibration.fitted else weighed
    volume = calibration.line.volume_for_mass(float(mass))
    return float(dispensed), float(weighed), volume


def _capsule_fraction(recipe: Recipe, spec: FormSpec, volume_mm3: float) -> float | None:
    if recipe.form.template != "capsule_fill":
        return None
    assert spec.max_volume_mm3 is not None
    fraction = volume_mm3 / spec.max_volume_mm3
    low, high = (float(x) for x in recipe.form.limits("fill_fraction"))
    if not low <= fraction <= high:
        raise SizingError(
            f"a {volume_mm3:.1f} mm³ fill is {fraction * 100:.1f} % of the "
            f"{spec.max_volume_mm3:.0f} mm³ size {recipe.form.capsule_size} capsule; "
            f"the bounds allow {low * 100:.0f}–{high * 100:.0f} %"
        )
    return fraction


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Everything decided before sizing: the checked dose, its targets and the settings."""

    recipe: Recipe
    ink: Ink
    printer: PrinterDefinition
    resolved: ResolvedSettings
    dose: Decimal
    dispensed_mg: float
    weighed_mg: float
    volume_mm3: float
    spec: FormSpec
    fill_fraction: float | None
    process: ProcessSettings
    machine: MachineSettings
    calibration: CalibrationInForce


def _prepare(
    catalog: Catalog,
    recipe_id: str,
    dose_mg: Decimal | str | int,
    printer_id: str | None,
    overrides: Mapping[str, Any] | None,
    calibration: CalibrationInForce | None,
) -> _Prepared:
    recipe = catalog.recipe(recipe_id)
    if printer_id is not None and printer_id != recipe.printer:
        raise DesignSpaceError(
            f"recipe {recipe.id} is validated on printer {recipe.printer}, not {printer_id}"
        )
    dose = recipe.check_dose(_dec(dose_mg, "dose_mg"))
    resolved = catalog.resolve(recipe_id, overrides)
    ink, printer = catalog.ink(recipe.ink), catalog.printer(recipe.printer)
    calibration = calibration or CalibrationInForce.from_ink_file(ink)
    if calibration.ink_id != ink.id or calibration.printer_type not in (None, printer.id):
        raise InputError(f"{calibration.label} is not for ink {ink.id} on {printer.id}")
    dispensed, weighed, volume = _targets(ink, dose, calibration)
    spec = recipe_form_spec(recipe)
    return _Prepared(
        recipe,
        ink,
        printer,
        resolved,
        dose,
        dispensed,
        weighed,
        volume,
        spec,
        _capsule_fraction(recipe, spec, volume),
        process_settings(resolved),
        machine_settings(printer, ink, resolved),
        calibration,
    )


def plan_batch(
    catalog: Catalog,
    recipe_id: str,
    dose_mg: Decimal | str | int,
    units: int,
    printer_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    calibration: CalibrationInForce | None = None,
) -> PlanResult:
    """Plan ``units`` identical units of ``dose_mg`` with a recipe.

    Parameters
    ----------
    catalog : Catalog
        Inks, recipes and printer definitions.
    recipe_id : str
        A validated recipe with a dose range.
    dose_mg : Decimal or str or int
        Dose per unit (mg); must lie in the recipe's range and on its dose step.
    units : int
        Units on the plate (each printed completely, then weighed).
    printer_id : str, optional
        Must be the recipe's printer (a recipe is validated on one printer).
    overrides : Mapping, optional
        Batch overrides of process settings (file-style values, see ``Catalog.resolve``).
    calibration : CalibrationInForce, optional
        The site calibration in force for the ink and printer; ``None``: the ink
        file's default (labelled "ink file, not fitted on site").

    Raises
    ------
    DesignSpaceError
        Dose outside the validated range or off its step, another printer, or a
        resolved temperature outside its window.
    CatalogError, InputError
        Unknown recipe or a bad override.
    CalibrationError
        The mass needs a volume outside the calibrated range.
    PreflightError
        The calibration's 95 % prediction interval of a unit reaches outside the
        recipe's unit tolerance.
    SizingError, GeometryError
        No size inside the bounds holds the dose; the plate does not fit.
    InputError
        The plate needs more ink (deposits, primes, purge and dead volume) than the
        printer's syringe or spool holds; the message names the largest batch that fits.
    SlicingError
        The written G-code does not deposit the target within ±0.5 % (never expected).
    """
    prep = _prepare(catalog, recipe_id, dose_mg, printer_id, overrides, calibration)
    recipe, ink, printer, dose = prep.recipe, prep.ink, prep.printer, prep.dose
    dispensed, weighed, volume = prep.dispensed_mg, prep.weighed_mg, prep.volume_mm3
    resolved, process, machine = prep.resolved, prep.process, prep.machine
    try:
        fitted = fit_unit(prep.spec, volume, process)
    except SizingError as exc:
        raise SizingError(f"a {dose} mg dose of recipe {recipe.id}: {exc}") from exc
    footprint = fitted.sized.form.footprint(0.0)
    layout = layout_plate(
        footprint,
        units,
        machine.bed_x_mm,
        machine.bed_y_mm,
        machine.clearance_mm,
        machine.margin_mm,
    )
    text = write_plate(fitted.sliced, layout.offsets_mm, machine, process, volume, weighed)
    analysis = analyse_gcode(
        text, machine.extrusion.e_units, machine.extrusion.diameter_mm, machine.acceleration_mm_s2
    )
    volumes = tuple(analysis.units[n].volume_mm3 for n in range(1, units + 1))
    _verify(volumes, volume, text, printer)
    _verify_primes(analysis, units, volume)
    basis = dispensed if prep.calibration.fitted else weighed
    dries = ink.dried_drug_load is not None and ink.dried_drug_load.value != ink.drug_load.value
    prediction = predict_unit(
        prep.calibration, sum(volumes) / units, Decimal(repr(basis)),
        recipe.tolerances.unit_mass.value, f"a {dose} mg dose of recipe {recipe.id}", dries=dries,
    )  # fmt: skip
    reserve = correction_reserve(recipe.tolerances.flow_correction.max)
    ink_needed = analysis_requirement(analysis, units, printer, ink, reserve)
    check_capacity(ink_needed, f" of {dose} mg")
    return PlanResult(
        recipe_id=recipe.id,
        ink_id=ink.id,
        printer_id=printer.id,
        dose_mg=dose,
        units=units,
        ink_mass_mg=dispensed,
        target_mass_mg=weighed,
        target_volume_mm3=volume,
        template=recipe.form.template,
        dimensions_mm=_dimensions(fitted.sized.form),
        layers=fitted.sized.layers,
        fill_fraction=prep.fill_fraction,
        line_width_mm=process.line_width_mm,
        first_layer_line_width_mm=process.first_width_mm,
        layer_height_mm=process.layer_height_mm,
        first_layer_height_mm=process.first_height_mm,
        extrusion={
            "e_units": machine.extrusion.e_units,
            "diameter_mm": machine.extrusion.diameter_mm,
            "relative": machine.extrusion.relative,
        },
        unit_volumes_mm3=volumes,
        path_length_mm=analysis.total.path_length_mm,
        estimated_time_s=analysis.total.time_s,
        line_count=analysis.line_count,
        plate_capacity=layout.capacity,
        ink=ink_needed,
        warnings=warnings_of(resolved, machine, units, analysis, printer)
        + density_check(ink, dispensed, volume),
        settings=resolved.to_record(),
        gcode=text,
        form=fitted.sized.form,
        toolpaths=fitted.sliced,
        prediction=prediction,
    )


def _dimensions(form: Form) -> dict[str, float]:
    dims = form.dimensions()
    return {k: v for k, v in dims.items() if k != "count" and not (k == "edge_mm" and v == 0)}


def _verify(
    volumes: tuple[float, ...], target: float, text: str, printer: PrinterDefinition
) -> None:
    worst = max(abs(v / target - 1) for v in volumes)
    if worst > DOSE_TOLERANCE_FRACTION:
        raise SlicingError(
            f"the written G-code deposits {worst * 100:.3f} % away from the {target:.3f} mm³ "
            "target; the plan is refused"
        )
    longest = max(map(len, text.splitlines()))  # whole lines: comments only make it stricter
    if longest + _HOST_FRAMING_CHARS > printer.max_command_length:
        raise SlicingError(
            f"a {longest}-character command exceeds the {printer.max_command_length}-character "
            f"limit of {printer.id} once the host adds a line number and checksum"
        )


def _verify_primes(analysis: GcodeAnalysis, units: int, target: float) -> None:
    """Each unit primes back exactly what it retracted: E-only moves deposit nothing net.

    A prime larger than its retraction extrudes paste the printing moves do not show.
    """
    for n in range(1, units + 1):
        net = analysis.units[n].retract_net_mm3
        if abs(net) > DOSE_TOLERANCE_FRACTION * target:
            raise SlicingError(
                f"unit {n}'s primes and retractions do not balance ({net:+.3f} mm³ of paste "
                f"outside its printing moves, {net / target * 100:+.3f} % of its dose); "
                "the plan is refused"
            )


def save_unit_stl(result: PlanResult, path: Path | str) -> Path:
    """Write one planned unit as a binary STL (mm).

    Raises
    ------
    GeometryError
        If the mesh is not a closed solid or the file cannot be written.
    """
    # trimesh (and SciPy, if installed: trimesh imports it) cost up to a second: only here
    from printpharm.geometry.mesh import form_mesh
    from printpharm.geometry.stl import save_stl

    return save_stl(form_mesh(result.form), path)
