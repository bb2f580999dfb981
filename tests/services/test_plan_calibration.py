"""Planning with a calibration: the site's fit sizes the unit, the plan predicts its mass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.core.dosing import ink_mass_mg
from printpharm.errors import CalibrationError, InputError, PreflightError
from printpharm.services.run.calibration import INK_FILE_LABEL, CalibrationInForce
from printpharm.services.run.planning import plan_batch

CPM, INK, PRINTER = "cpm-chewable-disc", "cyclophosphamide-sse-chewable", "marlin-sse"
VOLUMES = [50.0, 50.0, 150.0, 150.0, 450.0, 450.0, 900.0, 900.0]


def _site(
    scatter_mg: float, a: float = 1.236, volumes: list[float] = VOLUMES
) -> CalibrationInForce:
    """A locked site calibration 3 % above the ink file's 1.2 mg/mm³, with ±scatter."""
    masses = [a * v + (scatter_mg if i % 2 else -scatter_mg) for i, v in enumerate(volumes)]
    line = fit_calibration(volumes, masses)
    return CalibrationInForce(line, "site", INK, 4, 1, PRINTER, status="locked")


def test_without_a_site_calibration_the_plan_says_it_used_the_ink_file(catalog: Catalog) -> None:
    plan = plan_batch(catalog, CPM, "10", 2)
    prediction = plan.prediction
    assert prediction is not None and prediction.interval_mg is None
    assert prediction.calibration.label == f"{INK_FILE_LABEL} ({INK})"
    assert prediction.mass_mg == pytest.approx(plan.target_mass_mg, rel=0.005)
    assert "no prediction interval" in prediction.text
    assert prediction.record()["source"] == "ink_file"


def test_a_site_calibration_sizes_the_unit_and_predicts_its_mass(catalog: Catalog) -> None:
    site = _site(0.2)
    plan = plan_batch(catalog, CPM, "10", 2, calibration=site)
    by_file = plan_batch(catalog, CPM, "10", 2)
    target = float(ink_mass_mg(Decimal(10), drug_load_mg_per_g=Decimal(50)))  # 200 mg
    # the site's line V = (200 − b) / a, not the file's (200 + 0.5 mg) / 1.19 mg/mm³
    assert plan.target_volume_mm3 == pytest.approx(site.line.volume_for_mass(target))
    assert plan.target_volume_mm3 == pytest.approx(target / 1.236, rel=1e-6)
    assert by_file.target_volume_mm3 == pytest.approx((target + 0.5) / 1.19, rel=1e-9)
    prediction = plan.prediction
    assert prediction is not None and prediction.calibration is site
    assert prediction.mass_mg == pytest.approx(target, rel=0.005)
    low, high = prediction.interval_mg or (0, 0)
    assert low < prediction.mass_mg < high and high - low < 2
    assert prediction.interval_mg == site.line.prediction_interval(prediction.volume_mm3)
    record = prediction.record()
    assert record["version"] == 4 and record["source"] == "site" and record["n"] == 8
    assert record["predicted_mass_mg"] == Decimal(repr(prediction.mass_mg))


def test_a_dose_whose_interval_exceeds_the_tolerance_is_refused(catalog: Catalog) -> None:
    # ±12 mg of scatter: s ≈ 13 mg, a 95 % interval of about ±34 mg around a 200 mg unit,
    # wider than the recipe's ±7.5 % (±15 mg)
    with pytest.raises(PreflightError) as caught:
        plan_batch(catalog, CPM, "10", 2, calibration=_site(12.0))
    text = str(caught.value)
    assert text.startswith(f"a 10 mg dose of recipe {CPM} is refused: the calibration's 95 %")
    assert "reaches outside the recipe's unit tolerance ±7.5 % (185.00–215.00 mg)" in text
    assert f"(calibration v4 (locked): {INK} v1 on {PRINTER})" in text
    plan = plan_batch(catalog, CPM, "40", 1, calibration=_site(12.0))  # ±7.5 % of 800 mg holds
    assert plan.prediction is not None and plan.prediction.interval_mg is not None


def test_a_calibration_of_another_ink_or_printer_or_range_is_refused(catalog: Catalog) -> None:
    other = CalibrationInForce(_site(0.2).line, "site", "minoxidil-sse", 2, 1, PRINTER)
    with pytest.raises(InputError, match="is not for ink cyclophosphamide-sse-chewable"):
        plan_batch(catalog, CPM, "10", 1, calibration=other)
    fdm = CalibrationInForce(_site(0.2).line, "site", INK, 2, 1, "marlin-fdm")
    with pytest.raises(InputError, match="on marlin-sse"):
        plan_batch(catalog, CPM, "10", 1, calibration=fdm)
    narrow = _site(0.2, volumes=[150.0, 150.0, 450.0, 450.0, 900.0, 900.0])
    with pytest.raises(CalibrationError, match="outside the calibrated range 150–900 mm³"):
        plan_batch(catalog, CPM, "5", 1, calibration=narrow)  # 100 mg: about 81 mm³
