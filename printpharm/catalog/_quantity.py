"""Quantities with units, closed intervals, and the per-field limits that check them.

Every numeric field of an ink, recipe or printer file is written with its unit,
``layer_height = { value = 0.6, unit = "mm" }``, or as an interval
``height = { min = 1.0, max = 7.0, unit = "mm" }``. A field declares its unit and
limits once, as ``Annotated[Quantity, Limits("mm", "0.05", "2.0")]``; the
:class:`Limits` validator raises a pydantic error whose message the loader turns
into ``recipes/x.toml: process.layer_height = 3.0 mm is above the maximum of 2.0 mm``.
"""

# No ``from __future__ import annotations`` here: pydantic would compile and evaluate each
# field's annotation string when the class is created (a few ms of every plan's start).
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "VALUE_ERROR",
    "RULE_ERROR",
    "Limits",
    "Number",
    "Quantity",
    "Span",
    "StrictModel",
    "within",
]


#: pydantic error type whose message follows ``<key> = `` in the loader's text.
VALUE_ERROR = "printpharm_value"
#: pydantic error type for a rule between several keys (``<key>: <message>``).
RULE_ERROR = "printpharm_rule"


def _number(raw: Any) -> Any:
    """Accept TOML integers and decimals only: no strings, booleans or floats."""
    if isinstance(raw, float):
        raise PydanticCustomError(
            VALUE_ERROR,
            "{raw} is a binary float; give an exact number (TOML number, int or Decimal)",
            {"raw": repr(raw)},
        )
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise PydanticCustomError(VALUE_ERROR, "{raw} is not a number", {"raw": repr(raw)})
    if isinstance(raw, Decimal) and not raw.is_finite():
        raise PydanticCustomError(VALUE_ERROR, "{raw} is not a finite number", {"raw": raw})
    return Decimal(raw)


#: A plain TOML number read exactly (the loader parses floats as ``Decimal``).
Number = Annotated[Decimal, BeforeValidator(_number)]


class StrictModel(BaseModel):
    """Base of every catalog model: immutable, unknown keys rejected."""

    # A model's validator is built when it first validates, not at import: a command
    # builds only the validators of the files it reads (``printpharm plan``: one recipe,
    # its ink and printer). For the same reason defaults are made without validation
    # (model_construct, default_factory; a test validates them).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Quantity(StrictModel):
    """A number with its unit, e.g. ``{ value = 0.6, unit = "mm" }``."""

    value: Number
    unit: str

    def __str__(self) -> str:
        return f"{self.value} {self.unit}"


class Span(StrictModel):
    """A closed interval with its unit, e.g. ``{ min = 5, max = 40, unit = "mg" }``."""

    min: Number
    max: Number
    unit: str

    @model_validator(mode="after")
    def _ordered(self) -> "Span":
        if self.min > self.max:
            raise PydanticCustomError(
                RULE_ERROR,
                "min {lo} {unit} is above max {hi} {unit}",
                {"lo": str(self.min), "hi": str(self.max), "unit": self.unit},
            )
        return self

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Decimal | int) and self.min <= value <= self.max

    def __str__(self) -> str:
        return f"{self.min}–{self.max} {self.unit}"


_Q = TypeVar("_Q", Quantity, Span)


@dataclass(frozen=True)
class Limits:
    """Unit and bounds of one field; used as ``Annotated[Quantity, Limits(...)]``.

    Parameters
    ----------
    unit
        The only unit the field accepts (``"mm"``, ``"mm/s"``, ``"°C"``, ...).
    minimum, maximum
        Inclusive bounds as decimal strings, or ``None`` for unbounded.
    positive
        If true the value must be strictly greater than zero.
    """

    unit: str
    minimum: str | None = None
    maximum: str | None = None
    positive: bool = False

    def __call__(self, quantity: _Q) -> _Q:
        if quantity.unit != self.unit:
            raise PydanticCustomError(
                VALUE_ERROR,
                '{shown} has the wrong unit: expected "{expected}"',
                {"shown": str(quantity), "expected": self.unit},
            )
        if isinstance(quantity, Quantity):
            self._check(quantity.value, "")
        else:
            self._check(quantity.min, f"{quantity}: min ")
            self._check(quantity.max, f"{quantity}: max ")
        return quantity

    def _check(self, value: Decimal, prefix: str) -> None:
        context = {"p": prefix, "v": str(value), "u": self.unit}
        if self.positive and value <= 0:
            raise PydanticCustomError(VALUE_ERROR, "{p}{v} {u} must be greater than 0 {u}", context)
        if self.minimum is not None and value < Decimal(self.minimum):
            raise PydanticCustomError(
                VALUE_ERROR,
                "{p}{v} {u} is below the minimum of {lim} {u}",
                {**context, "lim": self.minimum},
            )
        if self.maximum is not None and value > Decimal(self.maximum):
            raise PydanticCustomError(
                VALUE_ERROR,
                "{p}{v} {u} is above the maximum of {lim} {u}",
                {**context, "lim": self.maximum},
            )


def within(
    unit: str,
    minimum: str | None = None,
    maximum: str | None = None,
    *,
    positive: bool = False,
) -> AfterValidator:
    """Field metadata checking unit and bounds: ``Annotated[Quantity, within("mm", "0", "5")]``.

    The :class:`Limits` object stays readable as ``validator.func`` (e.g. for documentation).
    """
    return AfterValidator(Limits(unit, minimum, maximum, positive))
