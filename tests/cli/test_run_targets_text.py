"""What `printpharm run` says each unit is weighed against, for an ink that dries.

Before, the run's first line said "7 mg dose = 233.333 mg to weigh per unit" (the
dried printlet's target) and then weighed every unit wet, in line, against
"target 280.0000 mg": two targets for the same unit, with nothing saying which is which.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from printpharm.catalog import load_catalog
from printpharm.cli._run import _plan_line
from printpharm.services.run.planning import plan_batch


def test_an_ink_that_dries_names_its_wet_in_line_target_and_its_dried_one() -> None:
    catalog = load_catalog(recipe="sildenafil-caplet")  # 25 mg/g wet, 30 mg/g dried
    plan = plan_batch(catalog, "sildenafil-caplet", Decimal(7), 1)
    line = _plan_line(plan).splitlines()[0]
    assert "7 mg dose, target 280.000 mg dispensed and weighed wet in line, " in line
    assert "233.333 mg once dried" in line
    assert "to weigh per unit" not in line


def test_an_ink_that_does_not_dry_has_one_target() -> None:
    catalog = load_catalog(recipe="cpm-chewable-disc")  # 50 mg/g
    plan = plan_batch(catalog, "cpm-chewable-disc", Decimal("12.5"), 1)
    line = _plan_line(plan).splitlines()[0]
    assert "12.5 mg dose, target 250.000 mg dispensed and weighed;" in line
    assert "dried" not in line


def test_plan_names_the_wet_and_the_dried_mass_of_an_ink_that_dries(tmp_path: Path) -> None:
    # before: "280.000 mg dispensed, weigh 233.333 mg" — but the run weighs 280 mg in line
    out = tmp_path / "p.gcode"
    argv = ["plan", "--recipe", "sildenafil-caplet", "--dose-mg", "7", "--out", str(out)]
    run = subprocess.run([sys.executable, "-m", "printpharm", *argv],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert (
        "ink per unit: 280.000 mg dispensed and weighed wet in line, 233.333 mg once dried, "
        "deposit 246.667 mm³" in run.stdout
    )


def test_run_says_which_noise_prior_the_flow_controller_started_from(tmp_path: Path) -> None:
    argv = ["run", "--simulate", "--recipe", "cpm-chewable-disc", "--dose-mg", "10",
            "--units", "2", "--out-dir", str(tmp_path / "out")]  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "printpharm", *argv],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert (
        "flow control: noise prior 2.00 % unit RSD declared by the ink file "
        "cyclophosphamide-sse-chewable (weight 4; no calibration fitted on site in force)"
        in run.stdout
    ), run.stdout
