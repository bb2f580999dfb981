"""Opening the run's devices: linked simulator URLs with the recipe's physics."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import DeviceDisconnected, InputError
from printpharm.services.run.devices import open_devices, simulator_urls, split_sim_options


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def test_a_syringe_printer_and_its_balance_share_a_plate_and_the_inks_physics(
    catalog: Catalog,
) -> None:
    recipe = catalog.recipe("cpm-chewable-disc")
    printer, balance = simulator_urls(
        catalog.printer(recipe.printer), catalog.ink(recipe.ink), {"clog_unit": "3", "seed": "4"}
    )
    p, b = query(printer), query(balance)
    assert p["plate"] == b["plate"] and p["plate"].startswith("run-")
    assert (p["e_units"], p["diameter_mm"]) == ("plunger_mm", "14.5")  # syringe bore
    # the printer deposits what the ink's calibration predicts (1.19 mg/mm³ · V − 0.5 mg)
    assert (p["mass_per_mm3"], p["mass_offset_mg"], p["ink_kind"]) == ("1.19", "-0.5", "sse_paste")
    assert set(b) == {"plate", "fast", "seed"}  # the balance only weighs
    assert p["clog_unit"] == "3" and "clog_unit" not in b
    assert p["seed"] == b["seed"] == "4" and p["fast"] == b["fast"] == "1"
    other, _ = simulator_urls(catalog.printer(recipe.printer), catalog.ink(recipe.ink))
    assert query(other)["plate"] != p["plate"]  # a fresh plate per run


def test_a_dried_ink_deposits_its_wet_mass(catalog: Catalog) -> None:
    recipe = catalog.recipe("sildenafil-caplet")
    ink = catalog.ink(recipe.ink)
    printer, _ = simulator_urls(catalog.printer(recipe.printer), ink)
    p = query(printer)
    assert ink.dried_drug_load is not None  # 30 mg/g dried, 25 mg/g as dispensed
    # the calibration is of the dried printlet; in line the unit is weighed wet: × 30 / 25
    assert (p["mass_per_mm3"], p["mass_offset_mg"]) == ("1.140", "-1.20")


def test_a_filament_printer_gets_the_filament_diameter(catalog: Catalog) -> None:
    recipe = catalog.recipe("hydrocortisone-fdm-tablet")
    ink = catalog.ink(recipe.ink)
    printer, _ = simulator_urls(catalog.printer(recipe.printer), ink, plate="fdm")
    p = query(printer)
    assert ink.filament_diameter is not None
    assert p["e_units"] == "filament_mm" and p["diameter_mm"] == str(ink.filament_diameter.value)


def test_a_speed_option_runs_both_simulators_on_the_wall_clock(catalog: Catalog) -> None:
    recipe = catalog.recipe("cpm-chewable-disc")
    printer, balance = simulator_urls(
        catalog.printer(recipe.printer), catalog.ink(recipe.ink), {"speed": "20"}
    )
    assert query(printer)["speed"] == query(balance)["speed"] == "20"
    assert "fast" not in query(printer) and "fast" not in query(balance)


def test_unknown_options_and_missing_ports_are_refused() -> None:
    with pytest.raises(InputError, match="'wobble' is unknown"):
        split_sim_options({"wobble": "1"})
    with pytest.raises(DeviceDisconnected):
        open_devices("/dev/printpharm-no-such-port", "sim://balance?fast=1")
