"""Exact parsing and rounding helpers shared by the uniformity tests (private)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Literal

from printpharm.core.units import parse_decimal
from printpharm.errors import UniformityInputError

__all__ = [
    "MIN_PLAUSIBLE_UNIT_MG",
    "MassUnit",
    "Number",
    "as_fractions",
    "fraction_to_decimal",
    "half_up",
    "masses_in_mg",
    "parse_number",
    "parse_values",
]

#: What the public API accepts for a mass or a content (floats go through ``str``).
Number = Decimal | str | int | float

#: The units a person may type unit masses in.
MassUnit = Literal["mg", "g"]

#: No printed unit weighs less than this (mg): masses that are all lighter were most
#: likely typed in grams, and would be judged against the wrong 2.9.5 band.
MIN_PLAUSIBLE_UNIT_MG = Decimal(5)

#: Working precision for divisions and square roots (digits).
PRECISION = 60


def parse_number(value: object, field: str) -> Decimal:
    """Convert one reading to an exact finite Decimal or raise UniformityInputError."""
    if isinstance(value, bool):
        raise UniformityInputError(f"{field}: {value!r} is not a number")
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(str(value))  # the decimal text the float was written from
        elif isinstance(value, str):  # typed text: the one parser of typed numbers
            number = parse_decimal(value, field, UniformityInputError)
        else:
            raise UniformityInputError(
                f"{field}: {value!r} is not a number (use Decimal, str, int or float)"
            )
    except InvalidOperation as exc:
        raise UniformityInputError(f"{field}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise UniformityInputError(f"{field}: {value!r} is not a finite number")
    return number


def parse_values(
    values: Iterable[object], field: str, *, positive: bool = True
) -> tuple[Decimal, ...]:
    """Parse every reading; refuse non-positive (or negative) values naming the unit."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise UniformityInputError(f"{field}: expected a list of numbers, got {values!r}")
    parsed: list[Decimal] = []
    for index, value in enumerate(values, start=1):
        number = parse_number(value, f"{field} unit {index}")
        if positive and number <= 0:
            raise UniformityInputError(f"{field} unit {index}: {value!r} must be greater than 0")
        if not positive and number < 0:
            raise UniformityInputError(f"{field} unit {index}: {value!r} must not be negative")
        parsed.append(number)
    return tuple(parsed)


def fraction_to_decimal(value: Fraction) -> Decimal:
    """An exact rational as a Decimal with :data:`PRECISION` significant digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return Decimal(value.numerator) / Decimal(value.denominator)


def half_up(value: Fraction, dp: int) -> Decimal:
    """Round an exact rational half-up (away from zero on a tie) to ``dp`` decimals."""
    scale = Fraction(10) ** dp
    magnitude = abs(value) * scale
    rounded = (magnitude.numerator * 2 + magnitude.denominator) // (magnitude.denominator * 2)
    sign = -1 if value < 0 else 1
    with localcontext() as ctx:  # exact: the digits are already rounded
        ctx.prec = PRECISION
        return (
            Decimal(sign * rounded)
            .scaleb(-dp)
            .quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
        )


def as_fractions(values: Sequence[Decimal]) -> tuple[Fraction, ...]:
    """Exact rationals of exact decimals."""
    return tuple(Fraction(v) for v in values)


def _grams_to_mg(value: Decimal) -> Decimal:
    """Grams to mg keeping the digits the balance gave (0.2510 g → 251.0 mg, 0.25 g → 250 mg)."""
    mg = value.scaleb(3)
    exponent = mg.as_tuple().exponent
    return mg.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else mg


def masses_in_mg(values: Iterable[object], unit: MassUnit | None = None) -> tuple[Decimal, ...]:
    """Unit masses a person typed, in mg: ``unit`` ``"g"`` converts exactly (× 1000).

    With no unit stated the masses are taken as mg, but if every one of them is
    below :data:`MIN_PLAUSIBLE_UNIT_MG` they are refused: no printed unit weighs
    that little, so they were most likely weighed in grams, and 2.9.5 would judge
    them against the ≤ 80 mg band instead of their own. Stating ``unit="mg"``
    accepts them as they are.

    Raises
    ------
    UniformityInputError
        A value :func:`parse_values` refuses, an unknown unit, or (no unit stated)
        masses that are all below 5 mg; the message says why and what to do.
    """
    if unit not in (None, "mg", "g"):
        raise UniformityInputError(f"mass unit {unit!r} is not mg or g")
    masses = parse_values(values, "masses")
    if unit == "g":
        return tuple(_grams_to_mg(m) for m in masses)
    if unit is None and masses and all(m < MIN_PLAUSIBLE_UNIT_MG for m in masses):
        first = masses[0]
        raise UniformityInputError(
            f"every mass is below {MIN_PLAUSIBLE_UNIT_MG} mg (e.g. {first}), which no printed "
            f"unit weighs: were they weighed in grams ({first} g = {_grams_to_mg(first)}"
            " mg)? Enter the masses in mg, or state the unit"
        )
    return masses
