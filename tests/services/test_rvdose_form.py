"""A pharmacist's review of the desktop's dose entry against the command line (rvdose)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from printpharm.cli import main
from printpharm.services.station.workstation import DoseForm, Workstation, build_workstation


@pytest.fixture(scope="module")
def ws() -> Workstation:
    station = build_workstation()
    assert station.catalog_error is None, station.catalog_error
    return station


def test_costeff_needs_no_height_on_the_desktop_as_on_the_command_line(
    ws: Workstation, capsys: pytest.CaptureFixture[str]
) -> None:
    """Costeff is the weight-only formula (bsa_dosing.md §1, for a length that is unreliable):
    the command line doses 25 mg/m² at 18 kg without a height; the desktop showed the BSA
    but held the dose back, 'height_cm' missing."""
    argv = ["dose", "--rule", "per-m2", "--amount", "25", "--weight-kg", "18",
            "--formula", "costeff", "--step-mg", "0.5", "--json"]  # fmt: skip
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    form = DoseForm(patient_id="P-2026-0147", prescriber="Dr Weber", rule="per_m2",
                    amount="25", weight_kg="18", formula="costeff",
                    recipe_id="cpm-chewable-disc", units=20)  # fmt: skip
    preview = ws.preview_dose(form)
    assert preview.missing == () and preview.errors == {}
    assert preview.result is not None and preview.ready
    assert preview.result.final_dose_mg == Decimal(str(cli["final_dose_mg"])) == Decimal("18.5")
    assert preview.result.formula == cli["formula"] == "costeff"


def test_other_formulas_still_need_the_height(ws: Workstation) -> None:
    form = DoseForm(patient_id="P-2026-0147", prescriber="Dr Weber", rule="per_m2",
                    amount="25", weight_kg="18", formula="haycock",
                    recipe_id="cpm-chewable-disc", units=20)  # fmt: skip
    preview = ws.preview_dose(form)
    assert preview.missing == ("height_cm",) and preview.result is None
