"""The predicted unit mass says what mass it is, for an ink that dries.

Before, `printpharm plan` and `printpharm run` printed "predicted unit mass 233.33 mg"
for the sildenafil paste (25 mg/g wet, 30 mg/g dried) sized with the ink file's
default calibration: the dried printlet's mass, while every unit is weighed wet in
line at 280 mg. A site calibration (weighed in line) predicts the unit as dispensed.
Inks that do not dry keep their wording.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from printpharm.catalog import load_catalog
from printpharm.cli._run import _plan_line
from printpharm.core.calibration import fit_calibration
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.planning import plan_batch

SILDENAFIL = "sildenafil-caplet"  # ink sildenafil-sse: 25 mg/g wet, 30 mg/g dried


def _plan(tmp_path: Path, recipe: str, dose: str) -> str:
    argv = ["plan", "--recipe", recipe, "--dose-mg", dose, "--out", str(tmp_path / "p.gcode")]
    run = subprocess.run([sys.executable, "-m", "printpharm", *argv],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return run.stdout


def test_plan_names_the_dried_printlet_the_ink_files_calibration_predicts(tmp_path: Path) -> None:
    out = _plan(tmp_path, SILDENAFIL, "7")
    assert (
        "predicted printlet mass once dried 233.33 mg "
        "(no prediction interval: not fitted from weighed units)" in out
    )
    assert "predicted unit mass" not in out


def test_an_ink_that_does_not_dry_keeps_its_wording(tmp_path: Path) -> None:
    out = _plan(tmp_path, "cpm-chewable-disc", "12.5")
    assert "predicted unit mass 250.00 mg (no prediction interval" in out
    assert "dried" not in out and "as dispensed" not in out


def test_run_names_the_basis_of_its_prediction() -> None:
    catalog = load_catalog(recipe=SILDENAFIL)
    line = _plan_line(plan_batch(catalog, SILDENAFIL, Decimal(7), 1)).splitlines()[1]
    assert line.startswith("predicted printlet mass once dried 233.33 mg (no prediction interval")


def test_a_site_calibration_predicts_the_unit_as_dispensed_wet() -> None:
    catalog = load_catalog(recipe=SILDENAFIL)
    ink = catalog.ink(catalog.recipe(SILDENAFIL).ink)
    a, b = float(ink.calibration.a.value), float(ink.calibration.b.value)
    volumes = [50.0, 50.0, 150.0, 150.0, 300.0, 300.0, 600.0, 600.0, 900.0, 900.0]
    masses = [(a * v + b) * (1.005 if i % 2 else 0.995) for i, v in enumerate(volumes)]
    line = fit_calibration(volumes, masses, weighting="relative")
    site = CalibrationInForce(line, "site", ink.id, 2, 1, "marlin-sse", status="locked")
    plan = plan_batch(catalog, SILDENAFIL, Decimal(7), 1, calibration=site)
    assert plan.prediction is not None
    text = plan.prediction.text
    assert text.startswith("predicted unit mass as dispensed (wet, weighed in line) 280."), text
    assert "95 % prediction interval" in text
