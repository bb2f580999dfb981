"""Flow correction between units: proportional, whole percent, inside validated bounds.

After a unit is weighed, the flow factor that would have hit the target is
``previous × target / measured``. Marlin's ``M221 S<percent>`` takes a whole
percent (``parser.value_int()``), so the applied factor is rounded half-up to
an integer and clamped to 100 % + the recipe's validated flow-correction range
(e.g. −5…+5 % → 95…105 %). No command is sent when the rounded, clamped value
equals the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from printpharm.errors import InputError

__all__ = ["FlowStep", "next_flow_pct"]

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class FlowStep:
    """Requested (0.1 %), applied (whole %, clamped) flow factor in %, and whether clamped."""

    requested_pct: Decimal
    applied_pct: Decimal
    clamped: bool
    bounds_pct: tuple[Decimal, Decimal]

    @property
    def command(self) -> str:
        """The G-code that sets the applied factor."""
        return f"M221 S{self.applied_pct}"


def next_flow_pct(
    previous_pct: Decimal,
    target_mg: Decimal,
    measured_mg: Decimal,
    correction_min_pct: Decimal,
    correction_max_pct: Decimal,
) -> FlowStep:
    """Flow factor (%) for the next unit from the last unit's target and measured mass (mg).

    Parameters
    ----------
    previous_pct : Decimal
        Flow factor the weighed unit was printed with, in % (100 = nominal).
    target_mg, measured_mg : Decimal
        The weighed unit's target and measured ink mass in mg (both > 0).
    correction_min_pct, correction_max_pct : Decimal
        The recipe's validated flow-correction range in % around 100 (e.g. −5, 5).

    Returns
    -------
    FlowStep
        The requested and the applied (whole %, clamped) factor.

    Raises
    ------
    InputError
        A mass that is not positive, or a range that does not contain 0 %.
    """
    if target_mg <= 0 or measured_mg <= 0:
        raise InputError(
            f"flow correction needs positive masses (target {target_mg} mg, "
            f"measured {measured_mg} mg)"
        )
    if not correction_min_pct <= 0 <= correction_max_pct:
        raise InputError(
            f"flow correction range {correction_min_pct}..{correction_max_pct} % must contain 0 %"
        )
    requested = (previous_pct * target_mg / measured_mg).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    low, high = _HUNDRED + correction_min_pct, _HUNDRED + correction_max_pct
    whole = requested.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    applied = min(max(whole, low), high)
    # bounds may be fractional (e.g. -2.5 %): never round outwards past them
    applied = applied.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if applied > high:
        applied -= 1
    if applied < low:
        applied += 1
    return FlowStep(requested, applied, applied != whole, (low, high))
