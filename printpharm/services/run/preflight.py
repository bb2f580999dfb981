"""Preflight of a print run: what must hold before anything is printed.

Static checks (before the devices are touched): the recipe version is validated
and locked, it is a medicine recipe, the dose lies in its validated range and
step, a dose that rounding moved outside its tolerance carries a pharmacist's
signed override for exactly this entry, the ink the program takes fits the
printer's syringe or spool, the ink is the recipe's and its lot has not
expired, every unit's target mass in the G-code carries the prescribed dose,
the heater targets are inside the recipe's windows, and every line to be sent
stays inside the printer definition's bed, maximum temperatures and a sane E
move (``machine_limits``). Device checks: the printer identifies (M115) as the
firmware family the recipe's printer definition needs, and after heating the
measured temperatures are inside the windows.

Each check yields a :class:`PreflightCheck`; any failure raises
:class:`~printpharm.errors.PreflightError` naming every failed check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from printpharm.catalog.schema import Ink, PrinterDefinition, Recipe
from printpharm.core.flavours import FLAVOURS
from printpharm.core.units import ink_mass_mg
from printpharm.devices.printer import HeaterReading, PrinterInfo
from printpharm.errors import (
    DesignSpaceError,
    DoseInputError,
    InputError,
    PreflightError,
    SlicingError,
)
from printpharm.services.run.ink_capacity import (
    check_capacity,
    correction_reserve,
    program_requirement,
)
from printpharm.services.run.lot import EXAMPLE_LOT_LABEL, BoundLot, InkNeed, number
from printpharm.services.run.override_record import override_matches, refusal_of
from printpharm.services.run.program import PlateProgram
from printpharm.slicing.limits import LimitViolation, MachineLimits, check_limits

__all__ = [
    "SIMULATED_CHECK",
    "TARGET_AGREEMENT",
    "LockStatus",
    "PreflightCheck",
    "check_device",
    "check_lot",
    "check_program_limits",
    "check_static",
    "check_temperatures",
    "limit_violations",
    "machine_limits",
    "raise_failures",
    "shipped_recipe_lock",
    "simulated_weighing",
]

#: Preflight check name of a run weighed on the built-in simulated balance.
SIMULATED_CHECK = "balance_simulated"


@dataclass(frozen=True)
class LockStatus:
    """Whether a recipe version is validated and locked, which version, and why."""

    locked: bool
    version: str
    reason: str


@dataclass(frozen=True)
class PreflightCheck:
    """One preflight check: name, outcome and a sentence saying what was checked."""

    name: str
    passed: bool
    detail: str


def shipped_recipe_lock(recipe: Recipe, sha256: str) -> LockStatus:
    """Default lock policy until the records layer stores approvals.

    A shipped recipe file is treated as a validated, locked version identified
    by its SHA-256; its ``validation_status`` is carried into the record.
    """
    return LockStatus(
        True,
        f"sha256:{sha256}",
        f"shipped recipe file treated as locked ({recipe.validation_status})",
    )


def simulated_weighing(preflight: Iterable[Mapping[str, Any]]) -> str | None:
    """Why a batch is not for patient use if it was weighed on the simulated balance."""
    for check in preflight:
        if check.get("name") == SIMULATED_CHECK:
            return "weighed on the built-in simulated balance: for training and validation only"
        if check.get("name") == SIMULATED_PRINTER_CHECK:
            return "printed on a printer that identifies as a simulator: training only"
    return None


#: Signature of a lock policy: ``(recipe, file_sha256) -> LockStatus``.
LockPolicy = Callable[[Recipe, str], LockStatus]


def _dose_check(recipe: Recipe, dose_mg: Decimal) -> PreflightCheck:
    """The recipe's own range and step rule (:meth:`Recipe.check_dose`), as a check."""
    if recipe.dose is None:
        return PreflightCheck(
            "dose_range", False, f"recipe {recipe.id} is a calibration recipe, not a medicine"
        )
    detail = f"dose {dose_mg} mg per unit; validated {recipe.dose.range}, step {recipe.dose.step}"
    try:
        recipe.check_dose(dose_mg)
    except DesignSpaceError as exc:
        return PreflightCheck("dose_range", False, f"{detail} — {exc}")
    return PreflightCheck("dose_range", True, detail)


#: Lot statuses a run may print from.
USABLE_LOT_STATUSES = ("released", "in_use")


def _lot_problems(
    lot: BoundLot, ink_id: str, ink_version: int | None, need: InkNeed | None, today: date
) -> list[str]:
    name = f"lot {lot.lot_number}"
    problems = []
    if lot.status not in USABLE_LOT_STATUSES:
        why = {"quarantine": "it must be released by a pharmacist before use"}.get(
            lot.status, "it may not be used"
        )
        problems.append(f"{name} is {lot.status.replace('_', ' ')}: {why}")
    if lot.beyond_use_date < today:
        problems.append(f"{name} is past its beyond-use date {lot.beyond_use_date} (today {today})")
    if lot.ink_id != ink_id:
        problems.append(f"{name} is of ink {lot.ink_id}; this batch prints {ink_id}")
    elif lot.ink_version != ink_version:
        printed = "not a library version" if ink_version is None else f"v{ink_version}"
        problems.append(
            f"{name} is of {lot.ink_id} v{lot.ink_version}; the ink this batch prints is {printed}"
        )
    if need is not None and lot.quantity_remaining is not None and lot.quantity_unit:
        wanted = need.amount(lot.quantity_unit, lot.density_g_per_ml)
        if wanted > lot.quantity_remaining:
            fit = need.units_fitting(
                lot.quantity_remaining, lot.quantity_unit, lot.density_g_per_ml
            )
            problems.append(
                f"{name} has {number(lot.quantity_remaining)} {lot.quantity_unit} left; this "
                f"batch needs {wanted} {lot.quantity_unit} ({need.requirement.breakdown()}): "
                f"the largest batch the lot holds is {fit} unit(s)"
            )
    return problems


def check_lot(
    lot: BoundLot, ink_id: str, ink_version: int | None, need: InkNeed | None, today: date
) -> PreflightCheck:
    """A recorded lot: released, in date, of this ink and ink version, with enough ink left.

    ``ink_version`` is the library version of the ink as printed (``None``: not a
    library version); ``need`` is :func:`printpharm.services.run.lot.ink_required`.
    """
    problems = _lot_problems(lot, ink_id, ink_version, need, today)
    if problems:
        return PreflightCheck("ink_lot", False, "; ".join(problems))
    left = ""
    if need is not None and lot.quantity_unit and lot.quantity_remaining is not None:
        wanted = need.amount(lot.quantity_unit, lot.density_g_per_ml)
        left = (
            f", {number(lot.quantity_remaining)} {lot.quantity_unit} left >= {wanted} "
            f"{lot.quantity_unit} needed (units, purge and dead volume)"
        )
    return PreflightCheck(
        "ink_lot",
        True,
        f"lot {lot.lot_number} of {lot.ink_id} v{lot.ink_version} {lot.status.replace('_', ' ')}"
        f", beyond-use date {lot.beyond_use_date} (today {today}){left}",
    )


def _ink_checks(
    recipe: Recipe, ink: Ink, today: date, lot: BoundLot | None, need: InkNeed | None,
    ink_version: int | None,
) -> list[PreflightCheck]:  # fmt: skip
    same = ink.id == recipe.ink
    checks = [PreflightCheck("ink", same, f"ink {ink.id}; recipe {recipe.id} needs {recipe.ink}")]
    if lot is not None and lot.source == "database":
        checks.append(check_lot(lot, ink.id, ink_version, need, today))
        return checks
    fresh = ink.expiry >= today
    verb = "expires" if fresh else "EXPIRED"
    checks.append(
        PreflightCheck(
            "ink_lot",
            fresh,
            f"lot {ink.lot} {verb} {ink.expiry} (today {today}): {EXAMPLE_LOT_LABEL}",
        )
    )
    return checks


def _window_check(name: str, value_c: Decimal | None, recipe: Recipe) -> PreflightCheck:
    window = getattr(recipe.validated, name)
    if value_c is None:
        return PreflightCheck(name, True, f"{name}: not heated")
    ok = window.min <= value_c <= window.max
    return PreflightCheck(name, ok, f"{name} target {value_c} °C; validated window {window}")


#: Largest relative difference allowed between a unit's target in the G-code and the
#: ink mass that carries the dose (the planner writes the target to 4 dp).
TARGET_AGREEMENT = Decimal("0.00001")


def _targets_check(program: PlateProgram, ink: Ink, dose_mg: Decimal) -> PreflightCheck:
    """Check that every unit's target mass in the G-code carries the prescribed dose."""
    load = ink.weighed_drug_load().value
    try:
        expected = ink_mass_mg(dose_mg, drug_load_mg_per_g=load)
    except DoseInputError as exc:
        return PreflightCheck("plan_targets", False, f"no ink mass for the dose: {exc}")
    wrong = [
        u.n for u in program.units if abs(u.target_mg - expected) > expected * TARGET_AGREEMENT
    ]
    detail = (
        f"{len(program.units)} unit(s); each target must carry {dose_mg} mg at {load} mg/g "
        f"= {expected.quantize(Decimal('0.0001'))} mg"
    )
    if wrong:
        detail += f"; units {wrong} have {program.units[wrong[0] - 1].target_mg} mg"
    return PreflightCheck("plan_targets", not wrong, detail)


def _rounding_check(
    recipe: Recipe, dose_record: Mapping[str, Any], override: Mapping[str, Any] | None
) -> PreflightCheck:
    """A dose that rounding moved outside its tolerance prints only under a signed override."""
    refusal = refusal_of(dose_record)
    if refusal is None:
        how = "within the rounding tolerance" if dose_record else "given directly, not rounded"
        return PreflightCheck("dose_rounding", True, f"dose {how}")
    if override is not None and override_matches(override, recipe.id, dose_record):
        return PreflightCheck(
            "dose_rounding",
            True,
            f"{refusal}; printed under the dose override signed by "
            f"{override.get('pharmacist_name')} ({override.get('pharmacist_id')}): "
            f"{override.get('reason')}",
        )
    why = (
        "no pharmacist's signed dose override for this entry (a training run without a "
        "database cannot have one)"
        if override is None
        else "the dose override given was signed for another entry"
    )
    return PreflightCheck("dose_rounding", False, f"{refusal}; {why}")


def _capacity_check(
    program: PlateProgram, printer: PrinterDefinition, ink: Ink, recipe: Recipe
) -> PreflightCheck:
    """The ink the program will take (read back from its G-code, with the reserve for flow
    corrections), against the reservoir."""
    try:
        reserve = correction_reserve(recipe.tolerances.flow_correction.max)
        need = program_requirement(program, printer, ink, reserve)
    except SlicingError as exc:
        return PreflightCheck("ink_capacity", False, f"the ink needed cannot be read: {exc}")
    try:
        check_capacity(need)
    except InputError as exc:
        return PreflightCheck("ink_capacity", False, str(exc))
    return PreflightCheck("ink_capacity", True, need.describe())


def check_static(
    recipe: Recipe,
    ink: Ink,
    program: PlateProgram,
    dose_mg: Decimal,
    temperatures_c: tuple[Decimal | None, Decimal | None],
    lock: LockStatus,
    today: date,
    lot: BoundLot | None = None,
    need: InkNeed | None = None,
    ink_version: int | None = None,
    *,
    dose_record: Mapping[str, Any] | None = None,
    dose_override: Mapping[str, Any] | None = None,
    printer: PrinterDefinition | None = None,
) -> list[PreflightCheck]:
    """Checks that need no device; ``temperatures_c`` = (nozzle, bed) targets in °C.

    ``lot`` is the recorded lot the run prints from (``None``: the ink file's example
    lot, training only), ``need`` the batch's ink need (checked against the lot's
    remaining ink) and ``ink_version`` the library version of the ink as printed.
    ``dose_record`` is how the dose was reached (its ``rounding_refusal`` needs the
    ``dose_override`` a pharmacist signed for exactly this entry); with ``printer``
    the ink the program takes is checked against its syringe or spool.
    """
    checks = [
        PreflightCheck("recipe_locked", lock.locked, f"{recipe.id} {lock.version}: {lock.reason}"),
        _dose_check(recipe, dose_mg),
        _rounding_check(recipe, dose_record or {}, dose_override),
        *_ink_checks(recipe, ink, today, lot, need, ink_version),
        _targets_check(program, ink, dose_mg),
        _window_check("nozzle_temperature", temperatures_c[0], recipe),
        _window_check("bed_temperature", temperatures_c[1], recipe),
    ]
    if printer is not None:
        checks.append(_capacity_check(program, printer, ink, recipe))
    return checks


def machine_limits(printer: PrinterDefinition) -> MachineLimits:
    """The limits a program for ``printer`` must stay inside (bed, temperatures, E unit)."""
    return MachineLimits(
        bed_x_mm=float(printer.bed_x.value),
        bed_y_mm=float(printer.bed_y.value),
        max_z_mm=float(printer.max_z.value),
        max_nozzle_c=float(printer.max_nozzle_temperature.value),
        max_bed_c=float(printer.max_bed_temperature.value),
        e_units=printer.e_axis,
    )


def limit_violations(lines: Iterable[str], printer: PrinterDefinition) -> list[LimitViolation]:
    """Lines of a G-code program that ask ``printer`` for more than it allows (issue 13)."""
    return check_limits(lines, machine_limits(printer))


def check_program_limits(
    printer: PrinterDefinition,
    program: PlateProgram,
    temperatures_c: tuple[Decimal | None, Decimal | None],
) -> PreflightCheck:
    """Every line the run will send, and its heater targets, inside ``printer``'s limits."""
    nozzle, bed = temperatures_c
    heat = [f"M104 S{nozzle}"] if nozzle is not None else []
    heat += [f"M140 S{bed}"] if bed is not None else []
    lines = [*heat, *program.preamble]
    for unit in program.units:
        lines += unit.lines
    lines += program.postamble
    found = limit_violations(lines, printer)
    detail = f"{len(lines)} lines inside printer {printer.id}'s bed, temperatures and E bound"
    if found:
        shown_ = "; ".join(str(v) for v in found[:3])
        detail = f"{len(found)} line(s) beyond printer {printer.id}'s limits: {shown_}"
    return PreflightCheck("machine_limits", not found, detail)


#: Preflight check recorded when the printer's identity says it is a simulator.
SIMULATED_PRINTER_CHECK = "printer_simulated"


def check_device(printer: PrinterDefinition, info: PrinterInfo) -> list[PreflightCheck]:
    """The printer's M115 answer against the recipe's printer definition."""
    family = FLAVOURS[printer.flavour].firmware_family
    name = info.firmware_name
    checks = [
        PreflightCheck(
            "firmware",
            family in name.lower().replace(" ", ""),
            f"M115 FIRMWARE_NAME {name!r}; printer {printer.id} ({printer.flavour}) needs {family}",
        )
    ]
    identity = f"{name} {info.fields.get('MACHINE_TYPE', '')}"
    if "simulat" in identity.lower():  # never a batch for patient use (issue 13)
        checks.append(
            PreflightCheck(
                SIMULATED_PRINTER_CHECK,
                True,
                f"printer identifies as {identity.strip()!r}: "
                "a simulator, for training and validation only",
            )
        )
    extruders = info.fields.get("EXTRUDER_COUNT", "1")
    checks.append(
        PreflightCheck(
            "extruders", extruders.isdigit() and int(extruders) >= 1, f"EXTRUDER_COUNT {extruders}"
        )
    )
    return checks


def check_temperatures(
    recipe: Recipe, readings: dict[str, HeaterReading], heated: tuple[bool, bool]
) -> list[PreflightCheck]:
    """Measured hotend (``T``) and bed (``B``) temperatures inside the validated windows."""
    checks: list[PreflightCheck] = []
    for key, name, is_heated in (
        ("T", "nozzle_temperature", heated[0]),
        ("B", "bed_temperature", heated[1]),
    ):
        if not is_heated:
            continue
        reading = readings.get(key)
        window = getattr(recipe.validated, name)
        if reading is None:
            checks.append(PreflightCheck(f"{name}_measured", False, f"no {key}: reading"))
            continue
        ok = window.min <= reading.actual_c <= window.max
        detail = f"{name} measured {reading.actual_c} °C; validated window {window}"
        checks.append(PreflightCheck(f"{name}_measured", ok, detail))
    return checks


def raise_failures(checks: Sequence[PreflightCheck]) -> None:
    """Raise PreflightError naming every failed check.

    Raises
    ------
    PreflightError
        At least one check failed.
    """
    failed = [c for c in checks if not c.passed]
    if failed:
        listing = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        raise PreflightError(f"preflight refused the run: {listing}")
