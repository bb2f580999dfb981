"""Print and weigh a calibration series: discs of known volume over the ink's volume range.

:func:`plan_series` takes the calibration recipe's form (a disc) and the ink's own
process (its syringe, nozzle temperature, layer height), chooses the volumes —
as many levels as the recipe's ``calibration_series`` lists, spaced evenly on a
log scale over the ink's calibrated ``volume_range`` (narrowed to what the form
can hold), each printed ``replicates`` times, the replicates in alternating
order so that a drift while printing is not mistaken for the slope — sizes and
slices one disc per level, writes them as one plate (start code and purge once)
and reads the G-code back: each disc's volume is the *analysed* volume of its
moves, to 4 decimals. :func:`run_series` connects the printer (M115 checked
against the printer definition), heats to the ink's temperature (measured inside
the ink's window), and for each disc tares, prints, waits for the moves and
reads a stable weight. The points ``(volume_mm3, mass_mg)`` are what
:meth:`printpharm.services.control.calibration.CalibrationService.fit` fits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Ink, PrinterDefinition, Recipe
from printpharm.catalog.stack import resolve_recipe
from printpharm.errors import DeviceError, InputError, SizingError
from printpharm.geometry.plate import layout_plate
from printpharm.services.run.form_specs import recipe_form_spec
from printpharm.services.run.ink_capacity import analysis_requirement, check_capacity
from printpharm.services.run.planning import machine_settings, process_settings
from printpharm.services.run.preflight import (
    PreflightCheck,
    check_device,
    check_temperatures,
    raise_failures,
)
from printpharm.services.run.program import PlateProgram, parse_plate_gcode
from printpharm.services.run.request import RunDevices
from printpharm.services.run.weighing import read_confirmed
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.fit import FittedUnit, fit_unit
from printpharm.slicing.gcode import write_series
from printpharm.slicing.settings import MachineSettings, ProcessSettings

__all__ = [
    "DEFAULT_REPLICATES",
    "SERIES_RECIPE",
    "SeriesPlan",
    "SeriesPoint",
    "levels_text",
    "plan_series",
    "run_series",
]

#: The shipped calibration recipe (form, number of levels, process windows).
SERIES_RECIPE = "calibration-series"
#: Discs printed per volume level unless asked otherwise.
DEFAULT_REPLICATES = 2
_V4 = Decimal("0.0001")
#: How far the range's ends step inwards (×) when the form cannot hold them.
_SHRINK = 0.97


@dataclass(frozen=True, eq=False)
class SeriesPlan:
    """A planned calibration series: the plate, each disc's analysed volume (mm³), the heat."""

    recipe: Recipe
    ink: Ink
    printer: PrinterDefinition
    levels_mm3: tuple[float, ...]
    volumes_mm3: tuple[Decimal, ...]
    gcode: str
    program: PlateProgram
    nozzle_c: Decimal | None
    bed_c: Decimal | None
    notes: tuple[str, ...] = ()

    @property
    def gcode_sha256(self) -> str:
        """SHA-256 of the series' G-code (recorded with the calibration)."""
        return hashlib.sha256(self.gcode.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class SeriesPoint:
    """One weighed disc: its number, analysed volume (mm³), mass (mg) and the balance's line.

    ``set_aside`` lists the replies set aside before the mass was confirmed (a garbled
    line, a reading no other agreed with); empty normally.
    """

    n: int
    volume_mm3: Decimal
    mass_mg: Decimal
    raw: str
    set_aside: tuple[str, ...] = ()


def _series_recipe(recipe: Recipe, ink: Ink, printer: PrinterDefinition) -> Recipe:
    """The calibration recipe printed with ``ink`` on ``printer``, in the ink's own window."""
    if recipe.calibration_series is None:
        raise InputError(f"recipe {recipe.id} is not a calibration series recipe")
    windows = recipe.validated.model_copy(update={"nozzle_temperature": ink.temperature_window})
    return recipe.model_copy(update={"ink": ink.id, "printer": printer.id, "validated": windows})


def _resolve_process(catalog: Catalog, recipe: Recipe, ink: Ink, printer: PrinterDefinition) -> Any:
    files: dict[str, str] = {}
    for kind, item in (("recipe", recipe.id), ("ink", ink.id), ("printer", printer.id)):
        files.update({s.relpath: s.sha256 for s in catalog.sources(kind, item)})  # type: ignore[arg-type]
    origins = {
        "recipe": catalog.origin("recipe", recipe.id),
        "ink": catalog.origin("ink", ink.id),
        "printer": catalog.origin("printer", printer.id),
    }
    return resolve_recipe(recipe, ink, printer, origins=origins, files=files)


def _fit_end(
    spec: Any, volume: float, process: ProcessSettings, inwards: float
) -> tuple[float, FittedUnit]:
    """The disc nearest ``volume`` the form can hold, stepping inwards (× or ÷ 0.97)."""
    for _ in range(60):
        try:
            return volume, fit_unit(spec, volume, process)
        except SizingError:
            volume = volume * inwards
    raise SizingError(f"the calibration form holds no disc near {volume:.0f} mm³")


def _levels(
    ink: Ink, recipe: Recipe, spec: Any, process: ProcessSettings, wanted: Sequence[float] | None
) -> tuple[list[tuple[float, FittedUnit]], list[str]]:
    if wanted:
        return [(v, fit_unit(spec, v, process)) for v in sorted(wanted)], []
    assert recipe.calibration_series is not None
    count = len(recipe.calibration_series.values)
    low, high = (
        float(x) for x in (ink.calibration.volume_range.min, ink.calibration.volume_range.max)
    )
    low = max(low, 1.0)
    lo, first = _fit_end(spec, low, process, 1 / _SHRINK)
    hi, last = _fit_end(spec, high, process, _SHRINK)
    notes = []
    if (lo, hi) != (low, high):
        notes.append(
            f"the ink's range {low:.0f}–{high:.0f} mm³ is narrowed to {lo:.0f}–{hi:.0f} mm³, "
            f"what the {recipe.form.template} of recipe {recipe.id} can hold"
        )
    ratio = hi / lo
    middle = [lo * ratio ** (i / (count - 1)) for i in range(1, count - 1)]
    return [(lo, first), *((v, fit_unit(spec, v, process)) for v in middle), (hi, last)], notes


def _plate(
    levels: list[tuple[float, FittedUnit]], replicates: int, machine: MachineSettings,
    process: ProcessSettings, ink: Ink, printer: PrinterDefinition,
) -> tuple[str, tuple[Decimal, ...]]:  # fmt: skip
    """The series' G-code (replicates in alternating order) and each disc's analysed volume."""
    order = [
        levels[i] for r in range(replicates)
        for i in (range(len(levels)) if r % 2 == 0 else reversed(range(len(levels))))
    ]  # fmt: skip
    biggest = max(levels, key=lambda lv: lv[0])[1]
    layout = layout_plate(biggest.sized.form.footprint(0.0), len(order), machine.bed_x_mm,
                          machine.bed_y_mm, machine.clearance_mm, machine.margin_mm)  # fmt: skip
    nominal = ink.calibration.to_linear()  # each disc's target: only for the G-code's marker
    units = [
        (
            fitted.sliced,
            volume,
            max(nominal.mass_for_volume(volume, allow_extrapolation=True), 1e-3),
        )
        for volume, fitted in order
    ]
    text = write_series(units, layout.offsets_mm, machine, process)
    analysis = analyse_gcode(
        text, machine.extrusion.e_units, machine.extrusion.diameter_mm, machine.acceleration_mm_s2
    )
    check_capacity(analysis_requirement(analysis, len(order), printer, ink), " of the series")
    volumes = tuple(
        Decimal(repr(analysis.units[n].volume_mm3)).quantize(_V4, rounding=ROUND_HALF_UP)
        for n in range(1, len(order) + 1)
    )
    return text, volumes


def plan_series(
    catalog: Catalog,
    ink_id: str,
    printer_id: str,
    *,
    volumes_mm3: Sequence[float] | None = None,
    replicates: int = DEFAULT_REPLICATES,
    recipe_id: str = SERIES_RECIPE,
) -> SeriesPlan:
    """Plan the calibration series of ``ink_id`` on ``printer_id`` (one plate).

    Parameters
    ----------
    volumes_mm3
        The levels to print (mm³); default: the recipe's number of levels over the
        ink's calibrated volume range, log-spaced.
    replicates
        Discs per level (1–10).

    Raises
    ------
    CatalogError
        Unknown ink, printer or recipe.
    InputError
        Not a calibration recipe, replicates outside 1–10, or a plate the syringe or
        spool cannot hold.
    DesignSpaceError
        The ink's temperature is outside its own window or the recipe's bed window.
    SizingError, SlicingError
        A level the form cannot hold, or the plate does not fit the bed.
    """
    if not 1 <= replicates <= 10:
        raise InputError(f"replicates = {replicates}: print 1 to 10 discs per volume")
    ink, printer = catalog.ink(ink_id), catalog.printer(printer_id)
    recipe = _series_recipe(catalog.recipe(recipe_id), ink, printer)
    resolved = _resolve_process(catalog, recipe, ink, printer)
    process, machine = process_settings(resolved), machine_settings(printer, ink, resolved)
    levels, notes = _levels(ink, recipe, recipe_form_spec(recipe), process, volumes_mm3)
    text, volumes = _plate(levels, replicates, machine, process, ink, printer)
    p = resolved.process
    return SeriesPlan(
        recipe, ink, printer, tuple(v for v, _ in levels), volumes, text,
        parse_plate_gcode(text), p.nozzle_temperature.value, p.bed_temperature.value,
        tuple(notes),
    )  # fmt: skip


def _heated(value: Decimal | None) -> bool:
    return value is not None and value > 0


def run_series(
    plan: SeriesPlan,
    devices: RunDevices,
    *,
    on_point: Callable[[SeriesPoint], None] | None = None,
    connect_timeout_s: float = 10.0,
    printer_gate: Callable[[Mapping[str, str], str], Sequence[PreflightCheck]] | None = None,
    on_start: Callable[[], None] | None = None,
) -> tuple[SeriesPoint, ...]:
    """Print and weigh every disc of ``plan``; the printer is made safe if anything fails.

    ``printer_gate`` judges the printer once it answered M115 (its fields and
    ``firmware``, and its port), before it is heated: the equipment gates of a
    recorded run (:class:`printpharm.services.control.run_gates.RunGates`).
    ``on_start`` is called once every check passed, before the printer is heated
    (the printer's use is recorded then: a series that fails halfway has printed).

    Raises
    ------
    PreflightError
        The printer is not of the definition's firmware family, ``printer_gate``
        refused it, or a measured
        temperature is outside the ink's window after heating.
    DeviceError
        A device failed (a balance that does not settle raises ``BalanceUnstable``);
        nothing is fitted from an incomplete series.
    """
    printer, balance = devices.printer, devices.balance
    info = printer.connect(timeout_s=connect_timeout_s)
    checks = check_device(plan.printer, info)
    if printer_gate is not None:
        identity = {**info.fields, "firmware": info.firmware_name}
        checks += printer_gate(identity, devices.printer_port)
    raise_failures(checks)
    if on_start is not None:
        on_start()
    points: list[SeriesPoint] = []
    try:
        printer.heat_and_wait(hotend_c=plan.nozzle_c, bed_c=plan.bed_c)
        heated = (_heated(plan.nozzle_c), _heated(plan.bed_c))
        raise_failures(check_temperatures(plan.recipe, printer.temperatures(), heated))
        printer.stream(plan.program.preamble)
        for unit, volume in zip(plan.program.units, plan.volumes_mm3, strict=True):
            balance.tare()
            printer.stream(unit.lines)
            printer.wait_for_moves()
            # confirmed by a second reading: a garbled reply never enters the fit
            reading = read_confirmed(balance, plan.recipe.control.balance_sd.value)
            point = SeriesPoint(
                unit.n, volume, reading.mass_mg, reading.weighing.raw, reading.set_aside
            )
            points.append(point)
            if on_point is not None:
                on_point(point)
        printer.stream(plan.program.postamble)
    except BaseException:
        try:
            printer.abort()
        except DeviceError:
            pass  # a lost printer is as safe as the host can make it
        raise
    return tuple(points)


def levels_text(plan: SeriesPlan) -> str:
    """``5 volumes × 2 discs: 50, 105, 212, 429, 900 mm³`` for the screen."""
    replicates = len(plan.volumes_mm3) // max(1, len(plan.levels_mm3))
    shown = ", ".join(f"{v:.0f}" for v in plan.levels_mm3)
    return f"{len(plan.levels_mm3)} volumes × {replicates} discs: {shown} mm³"
