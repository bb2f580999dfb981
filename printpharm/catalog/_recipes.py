"""Models of a recipe file: form template and bounds, dose range, tolerances, QC (via schema)."""

# No ``from __future__ import annotations`` here: pydantic would compile and evaluate each
# field's annotation string when the class is created (a few ms of every plan's start).
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from printpharm.catalog._models import ProcessLayer, Versioned
from printpharm.catalog._quantity import (
    RULE_ERROR,
    VALUE_ERROR,
    Number,
    Quantity,
    Span,
    StrictModel,
    within,
)
from printpharm.core.dose_rules import check_amount_limit, check_in_range
from printpharm.core.forms import FORMS, STRATEGY_SOLVES, Strategy, TemplateName
from printpharm.errors import DesignSpaceError

if TYPE_CHECKING:  # a recipe is read and checked without the dose engine
    from printpharm.core.dosing import DoseResult

__all__ = [
    "CAPSULE_VOLUME_ML",
    "TEMPLATE_DIMENSIONS",
    "AlarmPolicy",
    "CalibrationSeries",
    "ControlSettings",
    "DoseSpec",
    "FormBounds",
    "FormSpec",
    "QcPolicy",
    "QcTest",
    "Recipe",
    "Strategy",
    "TemplateName",
    "Tolerances",
    "ValidatedWindows",
]

AlarmPolicy = Literal["stop", "pause"]
QcTest = Literal["2.9.5", "2.9.40-mv", "2.9.40-cu-estimate", "local"]
CapsuleSize = Literal["000", "00", "0", "1", "2", "3", "4", "5"]

#: The dimensions of each template, fixed or bounded in ``[form]`` / ``[form.bounds]``
#: (the registry of dosage forms: :mod:`printpharm.core.forms`).
TEMPLATE_DIMENSIONS: dict[str, tuple[str, ...]] = {n: f.dimensions for n, f in FORMS.items()}

#: Nominal body volume of hard capsules by size (mL), the industry standard table
#: (Capsugel/Lonza Coni-Snap). Used to size a capsule fill.
CAPSULE_VOLUME_ML: dict[str, Decimal] = {
    "000": Decimal("1.37"),
    "00": Decimal("0.91"),
    "0": Decimal("0.68"),
    "1": Decimal("0.50"),
    "2": Decimal("0.37"),
    "3": Decimal("0.30"),
    "4": Decimal("0.21"),
    "5": Decimal("0.13"),
}

_Diameter = Annotated[Quantity, within("mm", "1", "30")]
_Height = Annotated[Quantity, within("mm", "0.2", "15")]
_Width = Annotated[Quantity, within("mm", "1", "20")]
_LwRatio = Annotated[Quantity, within("ratio", "1", "4")]
_IoRatio = Annotated[Quantity, within("ratio", "0.1", "0.8")]
_Fill = Annotated[Quantity, within("fraction", "0.05", "1")]
_DiameterSpan = Annotated[Span, within("mm", "1", "30")]
_HeightSpan = Annotated[Span, within("mm", "0.2", "15")]
_WidthSpan = Annotated[Span, within("mm", "1", "20")]
_LwSpan = Annotated[Span, within("ratio", "1", "4")]
_IoSpan = Annotated[Span, within("ratio", "0.1", "0.8")]
_FillSpan = Annotated[Span, within("fraction", "0.05", "1")]


def _rule(message: str, **context: str) -> PydanticCustomError:
    return PydanticCustomError(RULE_ERROR, message, context or None)


class FormBounds(StrictModel):
    """Bounds of the free dimensions (the sizing solver chooses a value inside)."""

    diameter: _DiameterSpan | None = None
    height: _HeightSpan | None = None
    width: _WidthSpan | None = None
    length_width_ratio: _LwSpan | None = None
    outer_diameter: _DiameterSpan | None = None
    inner_outer_ratio: _IoSpan | None = None
    fill_fraction: _FillSpan | None = None


class FormSpec(StrictModel):
    """Dosage-form template, its fixed or reference dimensions, and the bounds of the free ones.

    Each dimension of the template is given in ``[form]`` (a value), in
    ``[form.bounds]`` (a span), or in both: then the value is the *reference*
    (nominal) size and must lie inside the bounds, which the sizing solver may use
    (e.g. to trim the diameter so that the height is a whole number of layers).
    A dimension with a value and no bounds is fixed.
    """

    template: TemplateName
    diameter: _Diameter | None = None
    height: _Height | None = None
    width: _Width | None = None
    length_width_ratio: _LwRatio | None = None
    outer_diameter: _Diameter | None = None
    inner_outer_ratio: _IoRatio | None = None
    fill_fraction: _Fill | None = None
    count_per_dose: Annotated[int, Strict(), Field(ge=1, le=50)] | None = None
    capsule_size: CapsuleSize | None = None
    bounds: FormBounds = Field(default_factory=FormBounds)

    @model_validator(mode="after")
    def _dimensions_complete(self) -> "FormSpec":
        wanted = TEMPLATE_DIMENSIONS[self.template]
        for name in FormBounds.model_fields:
            value: Quantity | None = getattr(self, name)
            span: Span | None = getattr(self.bounds, name)
            if name not in wanted and (value or span):
                raise _rule("{n} is not a dimension of {t}", n=name, t=self.template)
            if name in wanted and value is None and span is None:
                raise _rule("{n} of {t} is neither given nor bounded", n=name, t=self.template)
            if value is not None and span is not None and value.value not in span:
                raise _rule(
                    "{n} reference {v} is outside its bounds {b}",
                    n=name,
                    v=str(value),
                    b=str(span),
                )
        if not self.free_dimensions():
            raise _rule("{t} has no bounded dimension to size the dose with", t=self.template)
        needs_count = self.template == "minitablet"
        if needs_count != (self.count_per_dose is not None):
            raise _rule("count_per_dose is required for minitablet and only for it")
        if (self.template == "capsule_fill") != (self.capsule_size is not None):
            raise _rule("capsule_size is required for capsule_fill and only for it")
        return self

    def free_dimensions(self) -> tuple[str, ...]:
        """Names of the dimensions that have bounds, in template order."""
        wanted = TEMPLATE_DIMENSIONS[self.template]
        return tuple(n for n in wanted if getattr(self.bounds, n) is not None)

    def reference(self, name: str) -> Decimal | None:
        """The fixed or reference value of dimension ``name`` (``None`` if only bounded)."""
        self._check_name(name)
        value: Quantity | None = getattr(self, name)
        return None if value is None else value.value

    def limits(self, name: str) -> tuple[Decimal, Decimal]:
        """(min, max) of dimension ``name``: its bounds, or (value, value) if fixed."""
        self._check_name(name)
        span: Span | None = getattr(self.bounds, name)
        if span is not None:
            return span.min, span.max
        value: Quantity = getattr(self, name)
        return value.value, value.value

    def unit(self, name: str) -> str:
        """Unit of dimension ``name`` ("mm", "ratio" or "fraction")."""
        self._check_name(name)
        found: Quantity | Span = getattr(self, name) or getattr(self.bounds, name)
        return found.unit

    def describe(self, name: str) -> str:
        """Human text of one dimension, e.g. ``"12.0 mm (9–13 mm)"``."""
        self._check_name(name)
        value, span = getattr(self, name), getattr(self.bounds, name)
        parts = [str(p) for p in (value, span) if p is not None]
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({parts[1]})"

    def _check_name(self, name: str) -> None:
        if name not in TEMPLATE_DIMENSIONS[self.template]:
            dims = ", ".join(TEMPLATE_DIMENSIONS[self.template])
            raise KeyError(f"{name} is not a dimension of {self.template} ({dims})")


class DoseSpec(StrictModel):
    """The validated dose range per unit and the dose step (mg).

    ``max_per_kg`` (mg/kg) and ``max_per_m2`` (mg/m2), if given, are the largest
    prescribed amounts the recipe is meant for: a larger amount is refused as
    implausible (a daily dose typed per administration, mg for µg) before any dose
    is calculated from it (:func:`printpharm.core.dose_rules.check_amount_limit`).
    """

    range: Annotated[Span, within("mg", "0.01", "2000", positive=True)]
    step: Annotated[Quantity, within("mg", "0.001", "100", positive=True)]
    max_per_kg: Annotated[Quantity, within("mg/kg", "0.001", "1000", positive=True)] | None = None
    max_per_m2: Annotated[Quantity, within("mg/m2", "0.01", "10000", positive=True)] | None = None

    @model_validator(mode="after")
    def _range_on_step(self) -> "DoseSpec":
        for end in (self.range.min, self.range.max):
            if end % self.step.value != 0:
                raise _rule(
                    "range end {e} mg is not a multiple of the step {s}",
                    e=str(end),
                    s=str(self.step),
                )
        return self


class CalibrationSeries(StrictModel):
    """Volumes (mm³) printed by a calibration recipe: at least 3, increasing."""

    values: Annotated[tuple[Number, ...], Field(strict=False, min_length=3, max_length=50)]
    unit: Literal["mm3"]

    @model_validator(mode="after")
    def _increasing(self) -> "CalibrationSeries":
        previous = Decimal(0)
        for v in self.values:
            if v <= previous:
                raise PydanticCustomError(
                    VALUE_ERROR,
                    "{v} mm3 must be positive and above the previous volume",
                    {"v": str(v)},
                )
            previous = v
        return self


class Tolerances(StrictModel):
    """Mass tolerances (% of target) and the bounds of in-run flow correction (%)."""

    unit_mass: Annotated[Quantity, within("%", "0.5", "25", positive=True)]
    mean_mass: Annotated[Quantity, within("%", "0.5", "15", positive=True)]
    flow_correction: Annotated[Span, within("%", "-20", "20")]

    @model_validator(mode="after")
    def _zero_inside(self) -> "Tolerances":
        if 0 not in self.flow_correction:
            raise _rule("flow_correction {s} must contain 0 %", s=str(self.flow_correction))
        return self


class QcPolicy(StrictModel):
    """Which pharmacopoeial tests judge a batch, on how many units."""

    tests: Annotated[tuple[QcTest, ...], Field(strict=False, min_length=1)]
    units_count: Annotated[int, Strict(), Field(ge=1, le=200)]

    @model_validator(mode="after")
    def _enough_units(self) -> "QcPolicy":
        if len(set(self.tests)) != len(self.tests):
            raise _rule("tests lists a test twice")
        if "2.9.5" in self.tests and self.units_count < 20:
            raise _rule(
                "Ph. Eur. 2.9.5 needs 20 units, units_count is {n}", n=str(self.units_count)
            )
        if any(t.startswith("2.9.40") for t in self.tests) and self.units_count < 10:
            raise _rule(
                "Ph. Eur. 2.9.40 needs 10 units, units_count is {n}", n=str(self.units_count)
            )
        return self


class ControlSettings(StrictModel):
    """What the in-run flow controller needs beyond the ink: the balance's read noise.

    ``balance_sd`` is the repeatability s of the in-line balance (mg): a 5-place
    analytical balance has s ≈ 0.01–0.02 mg (balances.md), negligible for
    100–500 mg units, not for 5 mg mini-tablets.
    """

    balance_sd: Annotated[Quantity, within("mg", "0.001", "100", positive=True)] = (
        Quantity.model_construct(value=Decimal("0.02"), unit="mg")
    )


class ValidatedWindows(StrictModel):
    """Process windows validated for this recipe: leaving them raises the run alarm."""

    nozzle_temperature: Annotated[Span, within("°C", "4", "260")]
    bed_temperature: Annotated[Span, within("°C", "0", "120")]


class Recipe(Versioned):
    """A validated recipe: ink + printer + form + process + design space + QC.

    Exactly one of ``dose`` (a medicine) and ``calibration_series`` (a drug-free
    calibration print) is given.
    """

    api: Annotated[str, Field(min_length=1)]
    ink: str
    printer: str
    form: FormSpec
    strategy: Strategy
    dose: DoseSpec | None = None
    calibration_series: CalibrationSeries | None = None
    tolerances: Tolerances
    alarm_policy: AlarmPolicy
    qc: QcPolicy
    validated: ValidatedWindows
    validation_status: Annotated[str, Field(min_length=1, max_length=200)]
    #: How long printed units stay within specification (stability study), in days;
    #: the beyond-use date on the patient label counts from printing (capped by the
    #: ink lot's expiry).
    stability: Annotated[Quantity, within("d", "1", "3650", positive=True)] | None = None
    #: How to store the printed units (printed on the patient label).
    storage: Annotated[str, Field(max_length=200)] = ""
    process: ProcessLayer = Field(default_factory=ProcessLayer)
    control: ControlSettings = Field(default_factory=ControlSettings)

    @model_validator(mode="after")
    def _consistent(self) -> "Recipe":
        if (self.dose is None) == (self.calibration_series is None):
            raise _rule("give exactly one of [dose] and [calibration_series]")
        self._check_strategy()
        return self

    def check_amount(self, result: "DoseResult") -> None:
        """Refuse a prescribed mg/kg or mg/m² above this recipe's plausible maximum.

        Raises
        ------
        DoseInputError
            The amount is above ``dose.max_per_kg`` / ``dose.max_per_m2`` (see
            :func:`printpharm.core.dose_rules.check_amount_limit`).
        """
        if self.dose is None:
            return
        per_kg, per_m2 = self.dose.max_per_kg, self.dose.max_per_m2
        check_amount_limit(
            result,
            None if per_kg is None else per_kg.value,
            None if per_m2 is None else per_m2.value,
            self.id,
        )

    def check_dose(self, dose_mg: Decimal) -> Decimal:
        """Return ``dose_mg`` (mg per unit) if it is inside the validated range and on its step.

        Parameters
        ----------
        dose_mg : Decimal
            Dose per unit (mg).

        Returns
        -------
        Decimal
            ``dose_mg`` unchanged.

        Raises
        ------
        DesignSpaceError
            The recipe is a calibration recipe (no dose range), ``dose_mg`` is outside
            ``dose.range`` or not a multiple of ``dose.step``; the message names the
            dose, the range or step (mg) and the recipe.
        """
        if self.dose is None:
            raise DesignSpaceError(
                f"recipe {self.id} is a calibration series and has no validated dose range"
            )
        span = self.dose.range
        return check_in_range(dose_mg, span.min, span.max, self.dose.step.value, self.id)

    def _check_strategy(self) -> None:
        form, free = self.form, self.form.free_dimensions()
        solved = STRATEGY_SOLVES[self.strategy]
        if self.strategy not in FORMS[form.template].strategies:
            raise _rule("strategy {s} does not apply to {t}", s=self.strategy, t=form.template)
        if solved not in free:
            raise _rule("strategy {s} needs {d} bounded", s=self.strategy, d=solved)
        if self.strategy.endswith("_solve_height"):
            for name in free:
                if name.endswith("_ratio"):
                    raise _rule("strategy {s} keeps {n} fixed", s=self.strategy, n=name)
                if name != "height" and form.reference(name) is None:
                    raise _rule(
                        "strategy {s} needs a reference value of {n} in [form]",
                        s=self.strategy,
                        n=name,
                    )
        if self.strategy == "uniform_scale":
            self._check_uniform_scale(free)

    def _check_uniform_scale(self, free: tuple[str, ...]) -> None:
        """Every length bounded, ratios fixed, all lengths with the same max/min scale."""
        for name in TEMPLATE_DIMENSIONS[self.form.template]:
            is_ratio = name.endswith("_ratio")
            if is_ratio == (name in free):
                want = "fixed" if is_ratio else "bounded"
                raise _rule("strategy uniform_scale needs {n} {w}", n=name, w=want)
        spans = [getattr(self.form.bounds, n) for n in free]
        scales = {s.max / s.min for s in spans}
        if len(scales) != 1:
            raise _rule(
                "strategy uniform_scale needs the same max/min scale for {names}",
                names=", ".join(free),
            )
