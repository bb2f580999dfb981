"""The new-batch form as typed, its checked preview, and the text helpers the screens show.

Private to :mod:`printpharm.services.station.workstation`, which re-exports the public names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Quantity
from printpharm.core.dose_report import dose_record, explain_dose
from printpharm.core.dose_rules import (
    check_amount_limit,
    check_in_range,
    parse_band_table,
    rounding_refusal,
    split_band_text,
)
from printpharm.core.dosing import (
    WEIGHT_ONLY_FORMULAS,
    DoseResult,
    DoseRule,
    body_surface_area,
    compute_dose,
)
from printpharm.core.units import (
    format_decimal,
    quantize_half_up,
    significant_places,
    to_decimal,
)
from printpharm.errors import (
    CatalogError,
    DesignSpaceError,
    DoseInputError,
    InputError,
    UniformityInputError,
)
from printpharm.services.control.dose_override import DoseOverride, override_matches

__all__ = [
    "DoseForm",
    "DosePreview",
    "DosePreviewBuilder",
    "RecipeOption",
    "describe_dose",
    "entry_record",
    "format_bsa",
    "format_mass",
    "format_mg",
    "parse_masses",
    "recipe_options",
]

_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
_MAX_UNITS = 200


@dataclass(frozen=True)
class RecipeOption:
    """One locked recipe as the recipe picker shows it (doses in mg)."""

    id: str
    name: str
    api: str
    dose_min_mg: Decimal
    dose_max_mg: Decimal
    dose_step_mg: Decimal
    template: str
    qc_units: int
    validation_status: str
    example: bool
    max_mg_per_kg: Decimal | None = None
    max_mg_per_m2: Decimal | None = None

    @property
    def range_text(self) -> str:
        """The validated range, e.g. ``"5–40 mg, step 0.5 mg"``."""
        return (
            f"{format_decimal(self.dose_min_mg)}–{format_decimal(self.dose_max_mg)} mg, "
            f"step {format_decimal(self.dose_step_mg)} mg"
        )


@dataclass(frozen=True)
class DoseForm:
    """The new-batch form exactly as typed (text), so validation happens in one place.

    Empty strings mean "not given". ``bands`` is a weight-band table in the form
    ``"≤10: 5; ≤20: 10; >20: 20"`` (read by
    :func:`printpharm.core.dose_rules.parse_band_table`, as the command line's ``--band``).
    """

    patient_id: str = ""
    prescriber: str = ""
    rule: str = "per_m2"
    amount: str = ""
    height_cm: str = ""
    weight_kg: str = ""
    formula: str = "mosteller"
    bands: str = ""
    cap_mg: str = ""
    dose_step_mg: str = ""
    units: int = 1
    recipe_id: str | None = None


@dataclass(frozen=True)
class DosePreview:
    """What the new-batch page shows after each keystroke.

    ``errors`` maps a field name (as in :class:`DoseForm`) to the reason it is
    refused; ``refusal`` says why a dose that rounding moved outside its tolerance
    may not be printed, and ``override`` is the pharmacist's signed override of
    exactly this entry, if any. ``ready`` is true only when nothing is refused
    (or the refusal is overridden) and every required field is given.
    """

    bsa_m2: Decimal | None = None
    bsa_formula: str | None = None
    result: DoseResult | None = None
    recipe: RecipeOption | None = None
    errors: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    refusal: str | None = None
    override: DoseOverride | None = None

    @property
    def ready(self) -> bool:
        """Whether the batch may go on to planning (a refused dose needs its override)."""
        cleared = self.refusal is None or self.override is not None
        return self.result is not None and not self.errors and not self.missing and cleared


def parse_masses(text: str) -> tuple[Decimal, ...]:
    """Parse unit masses in mg separated by white space, ``;`` or a comma followed by a space.

    Raises
    ------
    UniformityInputError
        A value that is not a number; ``250,1`` is refused as a decimal comma.
    """
    masses = []
    for token in re.split(r"[\s;]+|,(?=\s|$)", text.strip()):
        if not token:
            continue
        if "," in token:  # "250,1" is one mass with a decimal comma, never two masses
            raise UniformityInputError(
                f"mass {token!r}: use a decimal point (250.1) and separate masses by spaces, "
                "new lines, ';' or ', '"
            )
        try:
            masses.append(to_decimal(token, "mass_mg"))
        except DoseInputError:
            raise UniformityInputError(
                f"mass {token!r} is not a number in mg (use a decimal point, e.g. 250.3)"
            ) from None
    return tuple(masses)


def format_bsa(bsa_m2: Decimal) -> str:
    """A BSA for display, half-up to 3 decimals: ``"0.742 m²"`` (the dose uses it unrounded)."""
    return f"{quantize_half_up(bsa_m2, 3)} m²"


def format_mg(value: Decimal) -> str:
    """A dose for display: exact when it has ≤ 3 decimals, else half-up to 3 — or to 4
    significant digits where 3 decimals would hide them (62.5 µg is ``0.0625 mg``, not
    ``0.063 mg``; 0.25 µg is ``0.00025 mg``, not ``0 mg``)."""
    places = significant_places(value, 3)
    exponent = value.as_tuple().exponent
    exact = isinstance(exponent, int) and exponent >= -places
    return f"{format_decimal(value if exact else quantize_half_up(value, places))} mg"


#: Decimals every mass (mg) is shown with, so columns line up (``300.00``, not ``300``).
MASS_PLACES = 2


def format_mass(value: Decimal | float, exact: bool = True) -> str:
    """A mass in mg for display with at least :data:`MASS_PLACES` decimals, no unit.

    ``exact`` (measured masses): every digit the balance gave is kept, trailing
    zeros are only added (``300`` → ``300.00``, ``249.875`` stays). Otherwise
    (computed targets) the value is shown half-up to :data:`MASS_PLACES`.
    The value itself is never changed.
    """
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    exponent = number.as_tuple().exponent
    places = MASS_PLACES
    if exact and isinstance(exponent, int) and -exponent > places:
        places = -exponent
    return f"{quantize_half_up(number, places):.{places}f}"


def describe_dose(result: DoseResult, *, flags: bool = True) -> tuple[str, ...]:
    """The steps from prescription to unit dose (and every flag), one line each, as the CLI."""
    return explain_dose(result, flags=flags)


def _value(quantity: Quantity | None) -> Decimal | None:
    return None if quantity is None else quantity.value


def recipe_options(catalog: Catalog | None) -> tuple[RecipeOption, ...]:
    if catalog is None:
        return ()
    options = []
    for recipe in catalog.recipes():
        if recipe.dose is None:  # a drug-free calibration recipe: not for patients
            continue
        options.append(
            RecipeOption(
                id=recipe.id,
                name=recipe.name,
                api=recipe.api,
                dose_min_mg=recipe.dose.range.min,
                dose_max_mg=recipe.dose.range.max,
                dose_step_mg=recipe.dose.step.value,
                template=recipe.form.template,
                qc_units=recipe.qc.units_count,
                validation_status=recipe.validation_status,
                example=recipe.example,
                max_mg_per_kg=_value(recipe.dose.max_per_kg),
                max_mg_per_m2=_value(recipe.dose.max_per_m2),
            )
        )
    return tuple(sorted(options, key=lambda r: (r.api, r.dose_min_mg, r.id)))


def entry_record(form: DoseForm, result: DoseResult) -> dict[str, Any]:
    """Who the batch is for and how its dose was reached (the record the CLI writes too).

    A dose override and the second-person check are bound to the hash of this record.
    """
    return {
        "patient_id": form.patient_id.strip(),
        "prescriber": form.prescriber.strip(),
        **dose_record(result),
    }


class DosePreviewBuilder:
    """Collects the refusals of one form, field by field, into a :class:`DosePreview`.

    ``override`` is a dose override signed earlier on this form; it clears the
    rounding refusal only while the entry is exactly the one it was signed for.
    """

    def __init__(
        self,
        find_recipe: Callable[[str], RecipeOption],
        form: DoseForm,
        override: DoseOverride | None = None,
    ) -> None:
        self.find_recipe = find_recipe
        self.form = form
        self.override = override
        self.errors: dict[str, str] = {}
        self.missing: list[str] = []
        self.notes: list[str] = []

    def _text(self, name: str, required: bool) -> str | None:
        value = str(getattr(self.form, name)).strip()
        if not value:
            if required:
                self.missing.append(name)
            return None
        return value

    def build(self) -> DosePreview:
        form = self.form
        self._identity()
        try:
            rule = DoseRule.parse(form.rule)
        except DoseInputError as exc:
            return DosePreview(errors={"rule": str(exc)})
        recipe = self._recipe()
        bsa, formula = self._bsa(rule)
        result = self._dose(rule, recipe)
        refusal = override = None
        if result is not None and recipe is not None:
            self._check_recipe(result, recipe)
            refusal = rounding_refusal(result)
            record = entry_record(form, result)
            if refusal and override_matches(
                None if self.override is None else self.override.to_record(), recipe.id, record
            ):
                override = self.override
        if not 1 <= form.units <= _MAX_UNITS:
            self.errors["units"] = f"units = {form.units} is outside 1–{_MAX_UNITS}"
        elif recipe is not None and form.units < recipe.qc_units:
            self.notes.append(
                f"{form.units} units: the recipe's QC ({recipe.qc_units} units) cannot be run "
                "on this batch alone"
            )
        return DosePreview(
            bsa_m2=bsa,
            bsa_formula=formula,
            result=result,
            recipe=recipe,
            errors=self.errors,
            missing=tuple(self.missing),
            notes=tuple(self.notes),
            refusal=refusal,
            override=override,
        )

    def _identity(self) -> None:
        patient = self._text("patient_id", True)
        if patient is not None and not _PSEUDONYM.match(patient):
            self.errors["patient_id"] = (
                f"patient identifier {patient!r} must be a pseudonym: 3–64 letters, digits, "
                "'-', '_' or '.', no spaces (never the patient's name)"
            )
        self._text("prescriber", True)

    def _recipe(self) -> RecipeOption | None:
        if not self.form.recipe_id:
            self.missing.append("recipe_id")
            return None
        try:
            return self.find_recipe(self.form.recipe_id)
        except CatalogError as exc:
            self.errors["recipe_id"] = str(exc)
            return None

    def _bsa(self, rule: DoseRule) -> tuple[Decimal | None, str | None]:
        """The live BSA whenever height and weight allow one (shown for every rule)."""
        formula = self.form.formula or "mosteller"
        needs_height = rule is DoseRule.PER_M2 and formula not in WEIGHT_ONLY_FORMULAS
        height = self._text("height_cm", needs_height)
        weight = self._text("weight_kg", rule is not DoseRule.FIXED)
        if weight is None or (height is None and formula not in WEIGHT_ONLY_FORMULAS):
            return None, None
        try:
            return body_surface_area(height, weight, formula), formula
        except DoseInputError as exc:
            self.errors[_field_of(exc, "weight_kg")] = str(exc)
            return None, None

    def _dose(self, rule: DoseRule, recipe: RecipeOption | None) -> DoseResult | None:
        form = self.form
        amount = None if rule is DoseRule.WEIGHT_BAND else self._text("amount", True)
        step = self._text("dose_step_mg", False)
        if step is None and recipe is not None:
            step = str(recipe.dose_step_mg)
            self.notes.append(f"rounding step {recipe.dose_step_mg} mg from recipe {recipe.id}")
        texts = split_band_text(form.bands) if rule is DoseRule.WEIGHT_BAND else ()
        if rule is DoseRule.WEIGHT_BAND and not texts:
            self.missing.append("bands")
        try:
            bands = parse_band_table(texts) if texts else ()
        except DoseInputError as exc:
            self.errors["bands"] = str(exc)
            return None
        needed = {"amount", "height_cm", "weight_kg", "bands"}
        if needed & set(self.missing) or needed & set(self.errors):
            return None
        try:
            return compute_dose(
                rule,
                amount,
                height_cm=self._text("height_cm", False),
                weight_kg=self._text("weight_kg", False),
                formula=form.formula if rule is DoseRule.PER_M2 else None,
                bands=bands,
                cap_mg=self._text("cap_mg", False),
                dose_step_mg=step,
            )
        except DoseInputError as exc:
            self.errors[_field_of(exc, "amount")] = str(exc)
            return None

    def _check_recipe(self, result: DoseResult, recipe: RecipeOption) -> None:
        try:
            check_amount_limit(result, recipe.max_mg_per_kg, recipe.max_mg_per_m2, recipe.id)
        except DoseInputError as exc:
            self.errors["amount"] = str(exc)
            return
        for dose_mg in result.unit_doses_mg:
            try:
                check_in_range(
                    dose_mg, recipe.dose_min_mg, recipe.dose_max_mg, recipe.dose_step_mg, recipe.id
                )
            except DesignSpaceError as exc:
                self.errors["recipe_id"] = str(exc)
                return


#: The form's fields a dose error can be about (the core names the field it refuses).
_FORM_FIELDS = ("height_cm", "weight_kg", "cap_mg", "dose_step_mg", "bands", "amount")


def _field_of(exc: InputError, default: str) -> str:
    """The form field ``exc`` is about: the one the core named, else ``default``."""
    return exc.field if exc.field in _FORM_FIELDS else default
