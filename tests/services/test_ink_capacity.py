"""Issue 10, finding 6: the syringe's capacity is checked. 30 × 40 mg of cyclophosphamide need
~20 mL of paste and 121 units ~81 mL, all planned before for a 10 mL syringe."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.cli import main
from printpharm.errors import CatalogError, InputError, PreflightError
from printpharm.services.run.ink_capacity import program_requirement
from printpharm.services.run.loop import run_batch
from printpharm.services.run.planning import plan_batch
from tests.catalog.conftest import data_root, edit
from tests.services.conftest import make_request, options

__all__ = ["data_root"]

CPM = "cpm-chewable-disc"


@pytest.mark.parametrize(("units", "low_ml", "high_ml"), [(30, 21, 22), (121, 85, 87)])
def test_a_plate_the_syringe_cannot_hold_is_refused_with_the_largest_that_fits(
    catalog: Catalog, units: int, low_ml: int, high_ml: int
) -> None:
    with pytest.raises(InputError) as info:
        plan_batch(catalog, CPM, Decimal(40), units)
    message = str(info.value)
    assert message.startswith(f"{units} units of 40 mg need ")
    needed = Decimal(message.split(" need ")[1].split(" mL")[0])
    assert low_ml < needed < high_ml  # the deposits, purge, dead volume and +5 % reserve
    assert "mL reserve for flow corrections (+5 %)" in message  # the recipe's validated range
    assert "(printer marlin-sse 10 mL, ink cyclophosphamide-sse-chewable 10 mL) holds 10 mL" in (
        message
    )
    assert message.endswith("the largest batch that fits is 13 unit(s)")


def test_the_largest_batch_named_is_really_the_largest(catalog: Catalog) -> None:
    plan = plan_batch(catalog, CPM, Decimal(40), 13)
    assert plan.ink.fits and plan.ink.max_units == 13 and plan.ink.total_ml <= 10
    with pytest.raises(InputError, match="14 units of 40 mg need"):
        plan_batch(catalog, CPM, Decimal(40), 14)  # fits only if the controller adds nothing


def test_the_plan_states_the_ink_per_unit_and_per_batch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["plan", "--recipe", CPM, "--dose-mg", "40", "--units", "10"]
    assert main([*argv, "--out", str(tmp_path / "b.gcode"), "--json"]) == 0
    ink = json.loads(capsys.readouterr().out)["ink_required_ml"]
    assert ink["per_unit"] == pytest.approx(0.673, abs=0.001)  # 800 mg of paste, a = 1.19
    assert ink["purge"] > 0 and ink["dead_volume"] == 0.5 and ink["capacity"] == 10.0
    # the controller may add up to the recipe's +5 % to every unit: kept in reserve
    assert ink["correction_reserve"] == pytest.approx(10 * ink["per_unit"] * 0.05, abs=0.001)
    # the figures are rounded to µL each: 10 × 0.0005 mL of rounding at most
    assert ink["total"] == pytest.approx(
        10 * ink["per_unit"] + ink["purge"] + 0.5 + ink["correction_reserve"], abs=0.006
    )
    assert ink["fits"] is True and ink["max_units"] == 13
    assert main([*argv, "--out", str(tmp_path / "c.gcode")]) == 0
    assert "ink needed: 7.5" in capsys.readouterr().out


def test_a_spool_is_converted_by_the_ink_density(catalog: Catalog) -> None:
    plan = plan_batch(catalog, "hydrocortisone-fdm-tablet", Decimal(10), 2)
    reservoir = plan.ink.reservoir
    assert reservoir is not None and reservoir.capacity_ml == Decimal("200.000")  # 250 g / 1.25
    assert reservoir.description.startswith("250 g spool (printer marlin-fdm")


def test_preflight_refuses_a_program_the_syringe_cannot_hold(
    catalog: Catalog, sim_devices: Any
) -> None:
    # 16 hand-made units of 800 mg at 1.2 g/cm³: 16 × 0.667 mL × 1.05 + 0.5 mL > 10 mL
    request = make_request(catalog, dose_mg=Decimal(40), units=16)
    assert program_requirement(request.program, request.printer_definition, request.ink).units == 16
    with pytest.raises(
        PreflightError, match=r"ink_capacity: 16 units need .* largest batch that fits is 13"
    ):
        run_batch(request, sim_devices(request), options=options())
    fits = make_request(catalog, dose_mg=Decimal(40), units=2)
    result = run_batch(fits, sim_devices(fits), options=options())
    check = next(c for c in result.preflight if c["name"] == "ink_capacity")
    assert check["passed"] and "ink needed: 1.914" in check["detail"]
    assert "0.068 mL reserve for flow corrections (+5 %)" in check["detail"]
    bare = dataclasses.replace(fits, program=dataclasses.replace(fits.program, preamble=()))
    with pytest.raises(PreflightError, match="ink_capacity: the ink needed cannot be read"):
        run_batch(bare, sim_devices(bare), options=options())


def test_the_reservoir_is_schema_checked_with_its_unit(data_root: Path) -> None:
    printer = "gcode/printers/marlin-sse.toml"
    edit(data_root, printer, 'syringe = { value = 10, unit = "mL" }',
         'syringe = { value = 10, unit = "g" }')  # fmt: skip
    with pytest.raises(CatalogError, match="reservoir.syringe = 10 g has the wrong unit"):
        load_catalog(data_root)
    edit(data_root, printer, 'syringe = { value = 10, unit = "g" }',
         'spool = { value = 10, unit = "g" }')  # fmt: skip
    with pytest.raises(CatalogError, match="reservoir of an sse_paste printer is a syringe"):
        load_catalog(data_root)
