"""Issue 10, "Also": a prescribed amount above the recipe's plausible mg/kg or mg/m² is refused.

The maximum is optional data of the recipe (``[dose] max_per_kg``/``max_per_m2``,
schema-checked with its unit); the command line and the new-batch form refuse a
larger amount with the same rule (``core.dose_rules.check_amount_limit``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.cli import main
from printpharm.errors import CatalogError
from printpharm.services.station.workstation import DoseForm, build_workstation
from tests.catalog.conftest import data_root, edit

__all__ = ["data_root"]

HC = ["--recipe", "hydrocortisone-fdm-tablet", "--rule", "per-kg", "--weight-kg", "10"]
TOO_MUCH = (
    "amount = 7.5 mg/kg is above the largest amount recipe hydrocortisone-fdm-tablet is meant "
    "for (2 mg/kg, 3.8 × that)"
)


@pytest.mark.parametrize("command", ["plan", "run"])
def test_plan_and_run_refuse_an_amount_above_the_recipe_maximum(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    extra = ["--out", str(tmp_path / "b.gcode")] if command == "plan" else []
    assert main([command, *HC, "--amount", "7.5", "--units", "2", *extra]) == 2
    err = capsys.readouterr().err
    assert TOO_MUCH in err and err.count("\n") == 1
    assert not (tmp_path / "b.gcode").exists()


def test_the_limit_itself_is_allowed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 0.2 mg/kg × 10 kg = 2 mg, far below the 2 mg/kg maximum (the limit is on the amount)
    argv = ["plan", *HC, "--amount", "0.2", "--units", "1", "--out", str(tmp_path / "b.gcode")]
    assert main(argv) == 0, capsys.readouterr().err


def test_the_new_batch_form_refuses_it_beside_the_amount() -> None:
    ws = build_workstation()
    form = DoseForm(patient_id="P-001", prescriber="Dr A", rule="per_kg", amount="7.5",
                    weight_kg="10", recipe_id="hydrocortisone-fdm-tablet", units=10)  # fmt: skip
    preview = ws.preview_dose(form)
    assert TOO_MUCH in preview.errors["amount"] and not preview.ready


def test_every_shipped_patient_recipe_declares_a_plausible_maximum() -> None:
    for recipe in load_catalog().recipes():
        if recipe.dose is not None:
            assert recipe.dose.max_per_kg is not None, recipe.id
            assert recipe.dose.max_per_kg.unit == "mg/kg"


def test_the_maximum_carries_its_unit(data_root: Path) -> None:
    cpm = "recipes/cpm-chewable-disc.toml"
    edit(data_root, cpm, 'max_per_kg = { value = 5, unit = "mg/kg" }',
         'max_per_kg = { value = 5, unit = "mg" }')  # fmt: skip
    with pytest.raises(
        CatalogError, match='dose.max_per_kg = 5 mg has the wrong unit: expected "mg/kg"'
    ):
        load_catalog(data_root)
