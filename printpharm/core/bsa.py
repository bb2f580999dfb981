"""Body surface area (m²) from height and weight, by a named formula.

All arithmetic is exact Decimal in a local context of 34 significant digits, and
the result is unrounded (reference ``bsa_dosing.md``, vectors ``dose_vectors.json``).
DuBois uses the cm form 0.007184·W^0.425·H^0.725; Boyd uses the grams form.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from printpharm.core.units import DECIMAL_PRECISION, DecimalLike
from printpharm.errors import DoseInputError

if TYPE_CHECKING:  # the formula names are read by every dose option's help (plan's too)
    from printpharm.core.prescription import DoseLimits

__all__ = [
    "BSA_FORMULAS",
    "BSA_FORMULA_LABELS",
    "WEIGHT_ONLY_FORMULAS",
    "body_surface_area",
    "normalize_formula",
]

_D = Decimal


def _boyd(h: Decimal, w: Decimal) -> Decimal:
    w_g = w * 1000  # Boyd's grams form; the rounded kg form (0.0333) differs at 4 dp
    return _D("0.0003207") * h ** _D("0.3") * w_g ** (_D("0.7285") - _D("0.0188") * w_g.log10())


# (height_cm, weight_kg) -> m². Evaluated in a 34-digit local context.
_FORMULAS: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "mosteller": lambda h, w: (h * w / 3600).sqrt(),
    "dubois": lambda h, w: _D("0.007184") * w ** _D("0.425") * h ** _D("0.725"),
    "haycock": lambda h, w: _D("0.024265") * w ** _D("0.5378") * h ** _D("0.3964"),
    "gehan_george": lambda h, w: _D("0.0235") * w ** _D("0.51456") * h ** _D("0.42246"),
    "boyd": _boyd,
    "fujimoto": lambda h, w: _D("0.008883") * w ** _D("0.444") * h ** _D("0.663"),
    "takahira": lambda h, w: _D("0.007241") * w ** _D("0.425") * h ** _D("0.725"),
    "costeff": lambda h, w: (4 * w + 7) / (w + 90),
}

#: Names accepted by :func:`body_surface_area`, Mosteller (the default) first.
BSA_FORMULAS: tuple[str, ...] = tuple(_FORMULAS)

#: Display names for reports.
BSA_FORMULA_LABELS: dict[str, str] = {
    "mosteller": "Mosteller",
    "dubois": "DuBois",
    "haycock": "Haycock",
    "gehan_george": "Gehan–George",
    "boyd": "Boyd",
    "fujimoto": "Fujimoto",
    "takahira": "Takahira",
    "costeff": "Costeff",
}

#: Formulas that use weight only (height optional and unused).
WEIGHT_ONLY_FORMULAS: frozenset[str] = frozenset({"costeff"})


def normalize_formula(formula: str) -> str:
    """Return the canonical formula name (case and ``-``/``_`` insensitive).

    Raises
    ------
    DoseInputError
        If ``formula`` names no known formula.
    """
    key = str(formula).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _FORMULAS:
        raise DoseInputError(
            f"formula = {formula!r} is not one of: {', '.join(BSA_FORMULAS)}", field="formula"
        )
    return key


def body_surface_area(
    height_cm: DecimalLike | None,
    weight_kg: DecimalLike,
    formula: str = "mosteller",
    *,
    limits: DoseLimits | None = None,
) -> Decimal:
    """Body surface area in m², unrounded (34 significant digits).

    Parameters
    ----------
    height_cm
        Height in cm; may be ``None`` only for a weight-only formula (Costeff).
    weight_kg
        Weight in kg.
    formula
        One of :data:`BSA_FORMULAS`.
    limits
        Hard input limits (``None``: the defaults, height 30–250 cm, weight 0.3–300 kg).

    Raises
    ------
    DoseInputError
        Unknown formula, missing height, a value that is not a number, or a
        value outside a hard limit.
    """
    name = normalize_formula(formula)
    if height_cm is None and name not in WEIGHT_ONLY_FORMULAS:
        raise DoseInputError(
            f"height_cm is required by the {BSA_FORMULA_LABELS[name]} formula", field="height_cm"
        )
    from printpharm.core.prescription import DEFAULT_LIMITS, check_patient

    h, w, _, _ = check_patient(height_cm, weight_kg, DEFAULT_LIMITS if limits is None else limits)
    assert w is not None  # weight_kg is not optional
    with localcontext() as ctx:
        ctx.prec = DECIMAL_PRECISION
        return _FORMULAS[name](h if h is not None else _D(0), w)
