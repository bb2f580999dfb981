"""Exact unit handling for dose arithmetic: Decimal coercion and unit conversions.

Every number that decides a dose passes through :func:`to_decimal`, which
accepts ``Decimal``, ``int``, ``str`` and ``float`` (a float is converted via
``str`` so that ``0.1`` stays ``0.1``) and refuses anything that is not a
finite number with a :class:`~printpharm.errors.DoseInputError` naming the
field. Text typed by a person (CLI arguments, GUI fields, files of masses) is
read by :func:`parse_decimal` / :func:`parse_integer`, the one parser of typed
numbers: plain decimal notation only (``12.5``, ``-3``, ``.5``), so ``1_8``
(a digit separator), ``1e308`` (an exponent), ``1,5`` or ``١٢`` are refused
with a message that says so, and magnitudes beyond :data:`MAX_TYPED_MAGNITUDE`
are refused as implausible instead of overflowing later. The ink arithmetic of
the planner lives here too: drug load (mg/g or % w/w) → ink mass (mg) → ink
volume (mm³). Conversions are exact by definition: 1 in = 2.54 cm and
1 lb = 0.45359237 kg (international yard and pound, 1959).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import TypeAlias

from printpharm.errors import DoseInputError, InputError

__all__ = [
    "CM_PER_INCH",
    "DECIMAL_PRECISION",
    "DOSE_SIGNIFICANT_DIGITS",
    "KG_PER_POUND",
    "MAX_TYPED_MAGNITUDE",
    "DecimalLike",
    "check_limit",
    "check_positive",
    "deviation_pct",
    "drug_load_fraction",
    "format_decimal",
    "inches_to_cm",
    "ink_mass_mg",
    "ink_volume_mm3",
    "parse_decimal",
    "parse_integer",
    "pounds_to_kg",
    "quantize_half_up",
    "quantize_significant",
    "round_to_step",
    "significant_places",
    "to_decimal",
    "within_tolerance",
]

#: A number as a caller may pass it. Floats are converted via ``str``.
DecimalLike: TypeAlias = Decimal | int | str | float

#: Significant digits of every local Decimal context used for dose arithmetic.
DECIMAL_PRECISION = 34

#: Exact by definition (international inch, 1959).
CM_PER_INCH = Decimal("2.54")

#: Exact by definition (international avoirdupois pound, 1959).
KG_PER_POUND = Decimal("0.45359237")


#: Typed numbers must be smaller than this in magnitude (no quantity printpharm reads
#: comes near it: doses, masses and lengths are below 10⁶ in their units). Bigger
#: text is refused at once, before any arithmetic could overflow on it.
MAX_TYPED_MAGNITUDE = Decimal(10) ** 9

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")


def _why_not_plain(text: str) -> str:
    """The reason ``text`` is not a plain number, for the error message."""
    if "_" in text:
        return "digit separators such as '_' are not accepted; write the digits only"
    if re.fullmatch(r"[+-]?[0-9.]+[eE][+-]?[0-9]+", text):
        return "exponent notation is not accepted; write the number out in full"
    if re.fullmatch(r"[+-]?[0-9]+,[0-9]+", text):
        return "use a decimal point, not a comma"
    return ""


def parse_decimal(text: str, field: str, error: type[InputError] = DoseInputError) -> Decimal:
    """Read a number a person typed: plain decimal notation, ASCII digits, below 10⁹.

    The one parser for numeric text from the command line, the desktop forms and
    files of masses, so that every front end accepts exactly the same numbers.

    Parameters
    ----------
    text
        The text as typed; surrounding white space is ignored.
    field
        The name shown in the error message, e.g. ``"amount"``.
    error
        The :class:`~printpharm.errors.InputError` subclass to raise.

    Raises
    ------
    InputError
        (``error``) ``1_8``, ``1e308``, ``1,5``, ``NaN``, empty text, or a magnitude
        of 10⁹ or more; the message names the field, the text and why.
    """
    stripped = text.strip()
    if stripped.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise error(f"{field} = {stripped} is not a finite number", field=field)
    if not _PLAIN_DECIMAL.fullmatch(stripped):
        why = _why_not_plain(stripped)
        raise error(
            f"{field} = {text!r} is not a number" + (f": {why}" if why else ""), field=field
        )
    number = Decimal(stripped)
    if abs(number) >= MAX_TYPED_MAGNITUDE:
        raise error(
            f"{field} = {stripped} is not a plausible quantity (it must be below "
            f"{format_decimal(MAX_TYPED_MAGNITUDE)} in magnitude)",
            field=field,
        )
    return number


def parse_integer(text: str, field: str, error: type[InputError] = InputError) -> int:
    """Read a whole number a person typed (``12``, ``-3``), with :func:`parse_decimal`'s rules.

    Raises
    ------
    InputError
        (``error``) Not plain digits (``1_8``, ``1e3``, ``2.0``) or a magnitude of 10⁹ or more.
    """
    stripped = text.strip()
    if not _PLAIN_INTEGER.fullmatch(stripped):
        why = "no decimals" if _PLAIN_DECIMAL.fullmatch(stripped) else _why_not_plain(stripped)
        raise error(
            f"{field} = {text!r} is not a whole number" + (f": {why}" if why else ""), field=field
        )
    return int(parse_decimal(stripped, field, error))


def to_decimal(value: object, field: str) -> Decimal:
    """Convert ``value`` to a finite Decimal or raise naming ``field``.

    Parameters
    ----------
    value
        A ``Decimal``, ``int``, ``str`` (read by :func:`parse_decimal`: typed text)
        or ``float`` (converted via ``str``).
    field
        The name shown in the error message, e.g. ``"weight_kg"``.

    Returns
    -------
    Decimal
        The exact value (no rounding).

    Raises
    ------
    DoseInputError
        If ``value`` is a bool, another type, text that :func:`parse_decimal`
        refuses, NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise DoseInputError(f"{field} = {value!r} is not a number", field=field)
    if isinstance(value, str):
        return parse_decimal(value, field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise DoseInputError(f"{field} = {value!r} is not a number", field=field) from None
    if not number.is_finite():
        raise DoseInputError(f"{field} = {value} is not a finite number", field=field)
    return number


def format_decimal(value: Decimal) -> str:
    """Show a Decimal without exponent and without trailing zeros after the point.

    ``Decimal("300")`` → ``"300"``, ``Decimal("0.30")`` → ``"0.3"``,
    ``Decimal("1E+2")`` → ``"100"``.
    """
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def quantize_half_up(value: Decimal, places: int) -> Decimal:
    """Round ``value`` half-up (away from zero on a tie) to ``places`` decimals."""
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


#: Significant digits a dose keeps when it is shown or recorded with fewer decimals
#: than it needs: 62.5 µg stays ``0.0625`` mg (not ``0.063``), 0.25 µg ``0.00025`` mg
#: (not ``0.0003`` or ``0``).
DOSE_SIGNIFICANT_DIGITS = 4


def significant_places(value: Decimal, places: int, digits: int = DOSE_SIGNIFICANT_DIGITS) -> int:
    """``places``, or more where ``value`` needs them to keep ``digits`` significant digits.

    ``significant_places(Decimal("57.735"), 4)`` → 4; ``(Decimal("0.00025"), 4)`` → 7.
    """
    if value.is_finite() and value != 0:
        return max(places, digits - 1 - value.adjusted())
    return places


def quantize_significant(
    value: Decimal, places: int, digits: int = DOSE_SIGNIFICANT_DIGITS
) -> Decimal:
    """Round ``value`` half-up to :func:`significant_places` decimals (a microgram dose
    written in mg keeps its digits): ``(Decimal("0.00025"), 4)`` → ``0.0002500``."""
    return quantize_half_up(value, significant_places(value, places, digits))


def inches_to_cm(height_in: DecimalLike) -> Decimal:
    """Convert a length in inches to centimetres exactly (1 in = 2.54 cm).

    Raises
    ------
    DoseInputError
        If ``height_in`` is not a finite number.
    """
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return to_decimal(height_in, "height_in") * CM_PER_INCH


def pounds_to_kg(weight_lb: DecimalLike) -> Decimal:
    """Convert a mass in pounds to kilograms exactly (1 lb = 0.45359237 kg).

    Raises
    ------
    DoseInputError
        If ``weight_lb`` is not a finite number.
    """
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return to_decimal(weight_lb, "weight_lb") * KG_PER_POUND


def check_positive(value: object, field: str, unit: str) -> Decimal:
    """Return ``value`` as a Decimal if it is a finite number > 0.

    Raises
    ------
    DoseInputError
        If it is not a number or not above zero, e.g. ``"cap_mg = 0 must be above 0 mg"``.
    """
    number = to_decimal(value, field)
    if number <= 0:
        raise DoseInputError(f"{field} = {value} must be above 0 {unit}".rstrip(), field=field)
    return number


def check_limit(
    value: object, field: str, unit: str, low: Decimal, high: Decimal, hint: str = ""
) -> Decimal:
    """Return ``value`` as a Decimal if ``low ≤ value ≤ high`` (inclusive).

    Raises
    ------
    DoseInputError
        ``"weight_kg = 450 is above the limit of 300 kg"`` (plus ``hint`` if given).
    """
    number = to_decimal(value, field)
    suffix = f" ({hint})" if hint else ""
    for side, limit, broken in (("below", low, number < low), ("above", high, number > high)):
        if broken:
            limit_text = f"{format_decimal(limit)} {unit}".rstrip()
            raise DoseInputError(
                f"{field} = {value} is {side} the limit of {limit_text}{suffix}", field=field
            )
    return number


def drug_load_fraction(
    *, mg_per_g: DecimalLike | None = None, pct_w_w: DecimalLike | None = None
) -> Decimal:
    """Drug load as a mass fraction from mg/g (÷ 1000) or % w/w (÷ 100); give exactly one.

    Raises
    ------
    DoseInputError
        Neither or both given, or a load not in (0, 1000 mg/g] / (0, 100 %].
    """
    if (mg_per_g is None) == (pct_w_w is None):
        raise DoseInputError("give the drug load either in mg/g or in % w/w, exactly one")
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        if mg_per_g is not None:
            load = check_positive(mg_per_g, "drug_load_mg_per_g", "mg/g")
            return check_limit(load, "drug_load_mg_per_g", "mg/g", Decimal(0), Decimal(1000)) / 1000
        load = check_positive(pct_w_w, "drug_load_pct_w_w", "%")
        return check_limit(load, "drug_load_pct_w_w", "%", Decimal(0), Decimal(100)) / 100


def ink_mass_mg(
    dose_mg: DecimalLike,
    *,
    drug_load_mg_per_g: DecimalLike | None = None,
    drug_load_pct_w_w: DecimalLike | None = None,
) -> Decimal:
    """Ink mass (mg) that carries ``dose_mg`` of drug: dose / drug-load fraction.

    Example: 18.5 mg at 50 mg/g (5 % w/w) → 370 mg.

    Raises
    ------
    DoseInputError
        A dose not above 0, or a bad drug load (see :func:`drug_load_fraction`).
    """
    dose = check_positive(dose_mg, "dose_mg", "mg")
    fraction = drug_load_fraction(mg_per_g=drug_load_mg_per_g, pct_w_w=drug_load_pct_w_w)
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return dose / fraction


def ink_volume_mm3(ink_mass_mg: DecimalLike, density_g_per_cm3: DecimalLike) -> Decimal:
    """Ink volume (mm³) of ``ink_mass_mg`` at a density in g/cm³ (= mg/mm³).

    Example: 370 mg at 1.25 g/cm³ → 296 mm³.

    Raises
    ------
    DoseInputError
        A mass or density not above 0.
    """
    mass = check_positive(ink_mass_mg, "ink_mass_mg", "mg")
    density = check_positive(density_g_per_cm3, "density_g_per_cm3", "g/cm³")
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return mass / density


def round_to_step(dose_mg: Decimal, step_mg: Decimal) -> Decimal:
    """Round ``dose_mg`` half-up to the nearest multiple of ``step_mg`` (mg).

    Raises
    ------
    DoseInputError
        If ``step_mg`` is not above 0.
    """
    step = check_positive(step_mg, "dose_step_mg", "mg")
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return (dose_mg / step).to_integral_value(rounding=ROUND_HALF_UP) * step


def deviation_pct(final: Decimal, reference: Decimal) -> Decimal:
    """Relative deviation of ``final`` from ``reference`` in % (unrounded)."""
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return (final - reference) / reference * 100


def within_tolerance(
    final: Decimal | Fraction, reference: Decimal | Fraction, tolerance_pct: Decimal | Fraction
) -> bool:
    """Whether |final − reference| ≤ tolerance_pct % of ``reference`` (inclusive, exact).

    The one within-tolerance test: a rounded dose against its prescription, a weighed
    unit against its target (the run loop), a unit and a batch mean against the local
    specification. Computed with fractions, so an exact 10.0 % deviation is within ±10 %.
    """
    final, reference, tolerance = Fraction(final), Fraction(reference), Fraction(tolerance_pct)
    return abs(final - reference) * 100 <= tolerance * reference
