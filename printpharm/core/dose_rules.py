"""Every rule that decides whether a calculated dose may be printed, in one place.

The command line, the desktop forms, the planner, the recipe model and the run's
preflight all call these functions; none of them has its own copy.

* **Weight bands** as a pharmacist writes them: :func:`parse_band` reads one band,
  :func:`parse_band_table` a whole table (:func:`split_band_text` splits the
  desktop form's ``"≤20: 10; >20: 20"``). ``<=`` and ``≤`` mean "up to and
  including", ``<`` "below", ``>``/``>=``/``≥`` open the last band from below,
  ``*``/``inf`` is "any weight above the previous bands". A bare ``20:10`` is
  ambiguous (is 20 kg in the band?) and refused with :data:`BAND_FORMS`.
* **The validated range and step** of a recipe: :func:`check_in_range`.
* **Rounding** half-up to the dose step (:func:`round_to_step`) and the
  **rounding tolerance**, inclusive and on exact decimals
  (:func:`within_tolerance`: a dose exactly 10.0 % off is within ±10 %);
  :func:`rounding_refusal` says why a rounded dose may not be printed.
* **Plausibility of the prescribed amount**: a recipe may declare the largest
  mg/kg or mg/m² it is meant for (:func:`check_amount_limit`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from printpharm.core.units import (
    DECIMAL_PRECISION,
    format_decimal,
    quantize_half_up,
    quantize_significant,
    round_to_step,
    to_decimal,
    within_tolerance,
)
from printpharm.errors import DesignSpaceError, DoseInputError

if TYPE_CHECKING:  # a plan checks its dose's range without importing the dose engine
    from printpharm.core.dosing import DoseResult
    from printpharm.core.prescription import WeightBand

__all__ = [
    "BAND_FORMS",
    "check_amount_limit",
    "check_in_range",
    "format_deviation",
    "parse_band",
    "parse_band_table",
    "round_to_step",
    "rounding_refusal",
    "split_band_text",
    "within_tolerance",
]

#: The band forms accepted, as every refusal of a band lists them.
BAND_FORMS = (
    "'<=20:10' or '≤20:10' (up to and including 20 kg → 10 mg), "
    "'<20:10' (below 20 kg), "
    "'>20:20', '>=20:20' or '≥20:20' (the last band, above the previous edge), "
    "'*:20' or 'inf:20' (any weight above the previous bands)"
)

_BAND = re.compile(
    r"(?P<op><=|≤|<|>=|≥|>)?\s*(?P<edge>[^:<>=≤≥]*?)\s*(?:kg)?\s*:\s*(?P<dose>.*?)\s*(?:mg)?",
    re.IGNORECASE,
)
_OPEN_EDGES = ("*", "inf", "infinity")


def _band_error(text: str, why: str) -> DoseInputError:
    return DoseInputError(
        f"band {text.strip()!r} {why}; accepted forms: {BAND_FORMS}", field="bands"
    )


def _number(value: str, what: str, text: str) -> Decimal:
    try:
        return to_decimal(value, what)
    except DoseInputError as exc:
        raise _band_error(text, f"has a {what} that is not a number ({exc})") from None


def parse_band(text: str) -> WeightBand:
    """Read one band such as ``"≤20:10"`` (weight in kg : dose in mg).

    Raises
    ------
    DoseInputError
        Not ``EDGE:DOSE``; an edge without ``<``, ``<=``, ``≤``, ``>``, ``>=`` or
        ``≥`` (ambiguous: is the edge itself in the band?); ``=<``, ``==`` or a
        range; an edge or dose that is not a number. The message lists the
        accepted forms.
    """
    from printpharm.core.prescription import WeightBand

    match = _BAND.fullmatch(text.strip())
    if match is None or not match.group("edge") or not match.group("dose"):
        raise _band_error(text, "is not EDGE_KG:DOSE_MG")
    op, edge, dose_text = match.group("op"), match.group("edge").lower(), match.group("dose")
    dose = _number(dose_text, "dose", text)
    if edge in _OPEN_EDGES:
        if op is not None:
            raise _band_error(text, f"puts '{op}' before '{edge}', which has no edge")
        return WeightBand(None, dose)
    upper = _number(edge, "weight edge", text)
    if op is None:
        raise _band_error(
            text, f"is ambiguous (does {format_decimal(upper)} kg itself belong to this band?)"
        )
    if op in ("<=", "≤", "<"):
        return WeightBand(upper, dose, inclusive=op != "<")
    return WeightBand(None, dose, lower_kg=upper, lower_inclusive=op != ">")


def _check_edge(band: WeightBand, text: str) -> None:
    """A band's edge is a weight: above the hard weight limit no patient reaches it."""
    from printpharm.core.prescription import DEFAULT_LIMITS

    edge = band.upper_kg if band.upper_kg is not None else band.lower_kg
    limit = DEFAULT_LIMITS.max_weight_kg
    if edge is None or edge <= limit:
        return
    f = format_decimal
    hint = f" (did you enter grams? {f(edge)} g = {f(edge / 1000)} kg)" if edge > 1000 else ""
    raise _band_error(
        text, f"has a weight edge of {f(edge)} kg, above the limit of {f(limit)} kg{hint}"
    )


def split_band_text(text: str) -> tuple[str, ...]:
    """The bands of a table written on one line (``;``) or one per line, blanks dropped."""
    return tuple(p.strip() for p in text.replace("\n", ";").split(";") if p.strip())


def _check_open_band(table: Sequence[WeightBand], texts: Sequence[str]) -> None:
    """A band opened from below must start exactly where the band before it ends."""
    opened = [(b, t) for b, t in zip(table, texts, strict=True) if b.lower_kg is not None]
    for band, text in opened:
        assert band.lower_kg is not None
        closed = [b for b in table if b.upper_kg is not None]
        if not closed:
            raise _band_error(text, "needs the bands below it (nothing holds lighter patients)")
        last = max(closed, key=lambda b: (b.upper_kg, b.inclusive))
        assert last.upper_kg is not None
        if band.lower_kg != last.upper_kg or band.lower_inclusive == last.inclusive:
            wanted = ">" if last.inclusive else "≥"
            raise _band_error(
                text,
                f"does not start where '{last.describe()}' ends: write "
                f"'{wanted}{format_decimal(last.upper_kg)}:{format_decimal(band.dose_mg)}' "
                "so that no weight is in two bands or in none",
            )


def parse_band_table(texts: Sequence[str]) -> tuple[WeightBand, ...]:
    """Read a weight-band table, one band per text, and check that it reads one way only.

    Raises
    ------
    DoseInputError
        No band; a band :func:`parse_band` refuses; an edge above the 300 kg weight
        limit (a slip: grams?); two bands ending at the same weight; more than one open
        band (``*``, ``inf``, ``>``, ``≥``); an open band from below that does not start
        exactly where the previous band ends.
    """
    if not texts:
        raise DoseInputError(f"no weight band given; accepted forms: {BAND_FORMS}", field="bands")
    table = tuple(parse_band(t) for t in texts)
    for band, text in zip(table, texts, strict=True):
        _check_edge(band, text)
    open_bands = [t for b, t in zip(table, texts, strict=True) if b.upper_kg is None]
    if len(open_bands) > 1:
        raise DoseInputError(
            f"bands {', '.join(repr(t) for t in open_bands)}: only the last band may be open "
            "('*', 'inf', '>' or '≥')",
            field="bands",
        )
    edges = [b.upper_kg for b in table if b.upper_kg is not None]
    for edge in sorted({e for e in edges if edges.count(e) > 1}):
        raise DoseInputError(
            f"two bands end at {format_decimal(edge)} kg; which dose does {format_decimal(edge)}"
            f" kg get? accepted forms: {BAND_FORMS}",
            field="bands",
        )
    _check_open_band(table, texts)
    return table


def check_in_range(
    dose_mg: Decimal, low_mg: Decimal, high_mg: Decimal, step_mg: Decimal, recipe_id: str
) -> Decimal:
    """Return ``dose_mg`` if ``low ≤ dose ≤ high`` (inclusive) and a multiple of the step.

    Raises
    ------
    DesignSpaceError
        Outside the range (which end) or off the step (the nearest doses on it).
    """
    if not low_mg <= dose_mg <= high_mg:
        side = f"below {low_mg} mg" if dose_mg < low_mg else f"above {high_mg} mg"
        raise DesignSpaceError(
            f"dose {dose_mg} mg is outside the validated range {low_mg}–{high_mg} mg of "
            f"recipe {recipe_id} ({side})"
        )
    if dose_mg % step_mg != 0:
        below = dose_mg // step_mg * step_mg
        raise DesignSpaceError(
            f"dose {dose_mg} mg is not a multiple of the {step_mg} mg dose step of recipe "
            f"{recipe_id}; the nearest doses on the step of {step_mg} mg are {below} mg and "
            f"{below + step_mg} mg"
        )
    return dose_mg


def format_deviation(deviation_pct: Decimal, tolerance_pct: Decimal, within: bool) -> str:
    """A signed deviation in % to 2 decimals, or more where 2 would hide the verdict.

    ``-10.004`` against ±10 % (outside) shows as ``-10.004``, never as ``-10.00``.
    """
    for places in (2, 3, 4, 6, 8):
        shown = quantize_half_up(deviation_pct, places)
        if (abs(shown) <= tolerance_pct) == within:
            return f"{shown:+}"
    return f"{deviation_pct:+}"


def rounding_refusal(result: DoseResult) -> str | None:
    """Why the rounded dose may not be printed (outside the rounding tolerance), or ``None``.

    The tolerance is inclusive and decided exactly (:func:`within_tolerance`). A tolerance
    given wider than the default ±10 % does not let a dose rounded further than 10 % through:
    that needs a pharmacist's signed override like any other.
    """
    from printpharm.core.dosing import DEFAULT_TOLERANCE_PCT  # imported with any DoseResult

    f = format_decimal
    tolerance, wider = result.tolerance_pct, ""
    if tolerance > DEFAULT_TOLERANCE_PCT:
        tolerance = DEFAULT_TOLERANCE_PCT
        wider = f" a batch is printed within (the ±{f(result.tolerance_pct)} % given is wider)"
    if not within_tolerance(result.final_dose_mg, result.capped_dose_mg, tolerance):
        deviation = format_deviation(result.rounding_deviation_pct, tolerance, within=False)
        step = "" if result.dose_step_mg is None else f" to the {f(result.dose_step_mg)} mg step"
        return (
            f"rounding {f(quantize_significant(result.capped_dose_mg, 4))} mg{step} gives "
            f"{f(result.final_dose_mg)} mg ({deviation} %), outside the "
            f"±{f(tolerance)} % rounding tolerance{wider}"
        )
    if result.split is not None and not _split_within(result, tolerance):
        doses = " + ".join(f(d) for d in result.split.doses_mg)
        return (
            f"rounding the administrations ({doses} mg) or their daily total moves a dose "
            f"outside the ±{f(tolerance)} % rounding tolerance{wider}"
        )
    return None


def _split_within(result: DoseResult, tolerance: Decimal) -> bool:
    """Whether every administration and the delivered daily total are within ``tolerance``."""
    split = result.split
    assert split is not None
    pairs = zip(split.doses_mg, split.unrounded_doses_mg, strict=True)
    return within_tolerance(split.delivered_daily_mg, result.capped_dose_mg, tolerance) and all(
        within_tolerance(d, u, tolerance) for d, u in pairs
    )


def check_amount_limit(
    result: DoseResult,
    max_mg_per_kg: Decimal | None,
    max_mg_per_m2: Decimal | None,
    recipe_id: str,
) -> None:
    """Refuse a prescribed amount above the recipe's plausible maximum (mg/kg or mg/m²).

    Raises
    ------
    DoseInputError
        The rule is mg/kg or mg/m² and the amount is above the recipe's maximum;
        the message says which and suggests the likely slip.
    """
    from printpharm.core.prescription import DoseRule  # imported with any DoseResult

    limit = {DoseRule.PER_KG: max_mg_per_kg, DoseRule.PER_M2: max_mg_per_m2}.get(result.rule)
    if limit is None or result.amount <= limit:
        return
    unit = result.amount_unit.replace("m2", "m²")
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        times = quantize_half_up(result.amount / limit, 1)
    raise DoseInputError(
        f"amount = {format_decimal(result.amount)} {unit} is above the largest amount recipe "
        f"{recipe_id} is meant for ({format_decimal(limit)} {unit}, {times} × that): "
        "check the prescription (a daily dose entered per administration, or a unit slip?)",
        field="amount",
    )
