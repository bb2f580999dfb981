"""A batch's dose is rounded within ±10 %: a wider tolerance in the dose record does not let a
further-rounded dose through the run's preflight, nor the desktop's preview (rvdose).

Hydrocortisone FDM, 0.075 mg/kg × 10 kg = 0.75 mg → 1 mg on the 0.5 mg step (+33.33 %). With
``tolerance_pct=100`` the record said ``rounding_refusal: None`` and a training run printed it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.core.dose_report import dose_record
from printpharm.core.dose_rules import rounding_refusal
from printpharm.core.dosing import compute_dose
from printpharm.errors import PreflightError
from printpharm.services.run.loop import run_batch
from tests.services.conftest import make_request, options

HC = "hydrocortisone-fdm-tablet"


def _wide(amount: str = "0.075", tolerance: str = "100") -> Any:
    return compute_dose("per_kg", amount, weight_kg="10", dose_step_mg="0.5",
                        tolerance_pct=tolerance)  # fmt: skip


def test_a_wider_tolerance_still_refuses_a_dose_rounded_beyond_ten_percent() -> None:
    result = _wide()
    assert result.within_rounding_tolerance  # the arithmetic answers the question asked
    refusal = rounding_refusal(result)
    assert refusal is not None
    assert "gives 1 mg (+33.33 %)" in refusal and "±10 %" in refusal and "±100 %" in refusal
    assert dose_record(result)["rounding_refusal"] == refusal


def test_a_wider_tolerance_changes_nothing_within_ten_percent() -> None:
    assert rounding_refusal(_wide("0.1")) is None  # 1 mg exactly, not rounded
    assert rounding_refusal(_wide("0.095")) is None  # 0.95 → 1 mg, +5.26 %


def test_the_run_s_preflight_refuses_it(catalog: Catalog, sim_devices: Any) -> None:
    record = {"patient_id": "P-0042", "prescriber": "Dr Ortega", **dose_record(_wide())}
    request = make_request(catalog, HC, Decimal(1), units=1,
                           nozzle_c=Decimal(185), bed_c=Decimal(60))  # fmt: skip
    request = dataclasses.replace(request, dose_record=record, batch_id="B-HC-W")
    with pytest.raises(PreflightError, match=r"dose_rounding: .*\+33.33 %.*±10 %"):
        run_batch(request, sim_devices(request), options=options())
