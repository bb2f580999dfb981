"""Preflight: nothing is printed or recorded when a precondition fails."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.catalog.schema import Recipe
from printpharm.devices.marlin import HeaterReading, PrinterInfo
from printpharm.errors import PreflightError
from printpharm.services.run.loop import run_batch
from printpharm.services.run.preflight import LockStatus, check_device, check_temperatures
from printpharm.services.run.recording import MemoryRecorder
from tests.services.conftest import make_request, options


def refused(catalog: Catalog, sim_devices: Any, request: Any, **opts: Any) -> str:
    devices = sim_devices(request)
    recorder = MemoryRecorder()
    with pytest.raises(PreflightError) as info:
        run_batch(request, devices, recorder=recorder, options=options(**opts))
    assert recorder.entries == []
    return str(info.value)


def test_an_expired_ink_lot_is_refused_before_the_printer_is_touched(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=2)
    devices = sim_devices(request)
    with pytest.raises(PreflightError, match=r"ink_lot: lot EXAMPLE EXPIRED 2027-06-30"):
        run_batch(request, devices, options=options(today=date(2027, 7, 1)))
    assert devices.printer.transport.inner.sim.executed == []


def test_the_last_day_of_an_ink_lot_is_still_usable(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=1)
    result = run_batch(request, sim_devices(request), options=options(today=date(2027, 6, 30)))
    assert result.status == "completed"


def test_an_unlocked_recipe_version_is_refused(catalog: Catalog, sim_devices: Any) -> None:
    def draft(recipe: Recipe, sha256: str) -> LockStatus:
        return LockStatus(False, f"sha256:{sha256}", "draft, not approved by a pharmacist")

    request = make_request(catalog, units=1)
    message = refused(catalog, sim_devices, request, lock_policy=draft)
    assert "recipe_locked" in message and "not approved" in message


@pytest.mark.parametrize(
    ("dose", "detail"), [(Decimal(50), "validated 5–40 mg"), (Decimal("10.2"), "step 0.5 mg")]
)
def test_a_dose_outside_the_design_space_is_refused(
    catalog: Catalog, sim_devices: Any, dose: Decimal, detail: str
) -> None:
    request = make_request(catalog, units=1, dose_mg=Decimal(10))
    request = dataclasses.replace(request, dose_mg=dose)
    message = refused(catalog, sim_devices, request)
    assert "dose_range" in message and detail in message


def test_a_heater_target_outside_the_validated_window_is_refused(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=1, nozzle_c=Decimal(50))
    message = refused(catalog, sim_devices, request)
    assert "nozzle_temperature target 50 °C; validated window 37–43 °C" in message


def test_another_ink_than_the_recipes_is_refused(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=1)
    request = dataclasses.replace(request, ink=catalog.ink("minoxidil-sse"))
    assert "needs cyclophosphamide-sse-chewable" in refused(catalog, sim_devices, request)


def test_a_printer_with_other_firmware_is_refused(catalog: Catalog) -> None:
    marlin_sse = catalog.printer("marlin-sse")
    klipper = PrinterInfo("Klipper", {"FIRMWARE_NAME": "Klipper"}, {})
    (firmware, extruders) = check_device(marlin_sse, klipper)
    assert not firmware.passed and "needs marlin" in firmware.detail
    assert extruders.passed
    marlin = PrinterInfo("Marlin 2.1.2", {"EXTRUDER_COUNT": "0"}, {})
    firmware, extruders = check_device(marlin_sse, marlin)
    assert firmware.passed and not extruders.passed


def test_measured_temperatures_are_judged_against_the_validated_windows(
    catalog: Catalog,
) -> None:
    recipe = catalog.recipe("cpm-chewable-disc")  # nozzle 37–43 °C, bed 18–30 °C
    readings = {
        "T": HeaterReading(Decimal("43.5"), Decimal(40)),
        "B": HeaterReading(Decimal("30"), Decimal(25)),
    }
    nozzle, bed = check_temperatures(recipe, readings, (True, True))
    assert not nozzle.passed and "43.5" in nozzle.detail
    assert bed.passed  # the window is inclusive
    assert check_temperatures(recipe, {}, (False, False)) == []
    (missing,) = check_temperatures(recipe, {}, (True, False))
    assert not missing.passed


def test_a_plate_planned_for_another_dose_is_refused(catalog: Catalog, sim_devices: Any) -> None:
    # a plate file for 10 mg units presented as a 10.5 mg batch
    request = make_request(catalog, units=2, dose_mg=Decimal(10))
    request = dataclasses.replace(request, dose_mg=Decimal("10.5"))
    message = refused(catalog, sim_devices, request)
    assert "plan_targets" in message and "= 210.0000 mg; units [1, 2] have 200.000 mg" in message
