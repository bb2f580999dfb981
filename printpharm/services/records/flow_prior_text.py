"""The flow controller's noise prior as a batch record states it, in one sentence.

A run records which unit-to-unit noise the flow controller started from
(``recipe.flow_noise_prior``, see :mod:`printpharm.services.run.noise_prior`): the
site calibration's measured scatter less the balance's share, weighted by its
degrees of freedom, or the ink file's declared ``unit_rsd``. The PDF, the CSV and
the GUI show it with :func:`noise_prior_text`, built from the record's stored
values only (an inspector's offline copy has nothing else). A record made before
runs recorded it says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["NOISE_PRIOR_NOT_RECORDED", "noise_prior_text"]

#: What a record made before runs recorded the prior says.
NOISE_PRIOR_NOT_RECORDED = "noise prior not recorded (the batch was recorded before runs kept it)"


def _number(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _pct(fraction: Decimal, places: int = 2) -> str:
    return f"{fraction * 100:.{places}f} %"


def _weight(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def _from_calibration(prior: Mapping[str, Any], calibration: Mapping[str, Any]) -> str:
    version = calibration.get("version")
    which = f"the site calibration v{version}" if version is not None else "the site calibration"
    df = prior.get("calibration_df")
    n = f"n = {int(df) + 2}, " if df is not None else ""
    text = f"from {which} ({n}weight {_weight(_number(prior.get('weight_df')))})"
    fitted, balance = _number(prior.get("calibration_rsd")), _number(prior.get("balance_rsd"))
    if fitted is not None and balance is not None:
        text += f", its measured {_pct(fitted)} less the balance's share {_pct(balance, 3)}"
        deposit = math.sqrt(max(float(fitted) ** 2 - float(balance) ** 2, 0.0))
        unit_rsd = _number(prior.get("unit_rsd"))
        if unit_rsd is not None and float(unit_rsd) > deposit * (1 + 1e-6) + 1e-12:
            text += f" (raised to the floor of {_pct(unit_rsd)})"
    return text


def _ink_file_reason(calibration: Mapping[str, Any]) -> str:
    if calibration.get("source") == "site":
        version = calibration.get("version")
        return f"site calibration v{version} has no residual SD" if version else "no residual SD"
    return "no calibration fitted on site in force"


def noise_prior_text(recipe: Mapping[str, Any]) -> str:
    """``noise prior 1.00 % unit RSD from the site calibration v3 (n = 10, weight 8), …``.

    ``recipe`` is the batch record's ``recipe`` section (its ``flow_noise_prior``,
    ``calibration`` and ``ink``); :data:`NOISE_PRIOR_NOT_RECORDED` for an older record.
    """
    prior = recipe.get("flow_noise_prior")
    unit_rsd = _number(prior.get("unit_rsd")) if isinstance(prior, Mapping) else None
    if not isinstance(prior, Mapping) or unit_rsd is None:
        return NOISE_PRIOR_NOT_RECORDED
    calibration = recipe.get("calibration") or {}
    head = f"noise prior {_pct(unit_rsd)} unit RSD"
    if prior.get("source") == "calibration":
        return f"{head} {_from_calibration(prior, calibration)}"
    ink_id = (recipe.get("ink") or {}).get("id") or "?"
    weight = _weight(_number(prior.get("weight_df")))
    return (
        f"{head} declared by the ink file {ink_id} (weight {weight}; "
        f"{_ink_file_reason(calibration)})"
    )
