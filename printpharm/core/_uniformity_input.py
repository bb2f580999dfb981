"""Exact parsing and rounding helpers shared by the uniformity tests (private)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction

from printpharm.errors import UniformityInputError

__all__ = [
    "Number",
    "as_fractions",
    "fraction_to_decimal",
    "half_up",
    "parse_number",
    "parse_values",
]

#: What the public API accepts for a mass or a content (floats go through ``str``).
Number = Decimal | str | int | float

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
        elif isinstance(value, str):
            number = Decimal(value.strip())
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
