"""The run watches the extrusion pressure: a clog is caught by the pressure before the balance
could see it, air by its dip; every unit keeps its pressure log (over the simulators)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.services.jobs import EventHub
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.events import Pressure
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import PreparedRun, prepare_run
from printpharm.services.run.result import AlarmKind, AlarmRecord, BatchResult, OperatorDecision
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import FAST_LINK, make_request, options
from tests.services.test_run import sims
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


@pytest.fixture(scope="module")
def planned() -> PreparedRun:
    """5 units of 15 mg CPM as the planner prints them (hundreds of lines per unit)."""
    return prepare_run(load_catalog(), "cpm-chewable-disc", Decimal(15), 5)


def _planned_run(prepared: PreparedRun, **sim: str) -> tuple[BatchResult, Any]:
    request = prepared.request
    urls = simulator_urls(request.printer_definition, request.ink, {"seed": "1", **sim})
    with connected_devices(*urls, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        result = run_batch(request, devices, options=options(lines_per_check=200))
        printer, _ = sims(devices)
    return result, printer


def test_a_clog_is_caught_by_the_pressure_before_the_balance_sees_it(
    planned: PreparedRun,
) -> None:
    result, printer = _planned_run(planned, clog_unit="3", clog_factor="0.5")
    assert result.status == "stopped"
    (alarm,) = result.alarms
    assert (alarm.kind, alarm.unit, alarm.action) == (AlarmKind.OVER_PRESSURE, 3, "stop")
    assert "above the ink's limit of 180 kPa" in alarm.message
    # stopped while unit 3 was printing: never weighed, and most of it never printed
    assert [u.n for u in result.units] == [1, 2] and all(u.verdict == "pass" for u in result.units)
    unit_mm3 = float(planned.plan.target_volume_mm3)
    weighed_mm3 = sum(float(u.measured_mg or 0) for u in result.units) / 1.19  # the ink's a
    printed_mm3 = printer.plate.deposited_mm3 - weighed_mm3
    assert 0 < printed_mm3 < 0.25 * unit_mm3  # half of less than half of the unit got out

    # the same clog on a head without a load cell: only the weighed unit tells, too late
    blind, _ = _planned_run(planned, clog_unit="3", clog_factor="0.5", pressure_sensor="0")
    assert [u.n for u in blind.units] == [1, 2, 3] and blind.units[2].verdict == "fail"
    assert blind.alarms[0].kind is AlarmKind.UNIT_OUT_OF_TOLERANCE


def test_with_pause_policy_the_pressure_alarm_precedes_the_mass_alarm(
    catalog: Catalog, sim_devices: Any
) -> None:
    recipe = catalog.recipe("cpm-chewable-disc").model_copy(update={"alarm_policy": "pause"})
    request = make_request(catalog, units=3, recipe=recipe)
    asked: list[AlarmRecord] = []

    def operator(alarm: AlarmRecord) -> OperatorDecision:
        asked.append(alarm)
        return OperatorDecision.CONTINUE

    result = run_batch(
        request,
        sim_devices(request, clog_unit=3),
        operator=operator,
        options=options(flow_correction=False),
    )
    assert result.status == "completed"
    assert [(a.kind, a.unit) for a in asked] == [
        (AlarmKind.OVER_PRESSURE, 3), (AlarmKind.UNIT_OUT_OF_TOLERANCE, 3),
    ]  # fmt: skip
    assert asked[0].at <= asked[1].at
    clogged = result.units[2]
    assert clogged.verdict == "fail" and clogged.pressure is not None
    assert clogged.pressure["max_kpa"] > Decimal(180) > result.units[0].pressure["max_kpa"]  # type: ignore[index]


def test_every_unit_keeps_its_pressure_log_and_a_clean_run_raises_no_alarm(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, tech = env.make_user("tech1", "technician")
    request = make_request(catalog, units=4)
    hub = EventHub()
    events: list[Pressure] = []
    hub.subscribe(lambda e: events.append(e) if isinstance(e, Pressure) else None)
    result = run_batch(
        request,
        sim_devices(request, seed=2, process_rsd=0.02),
        hub=hub,
        recorder=DatabaseRecorder(env.auth, tech),
        options=options(),
    )
    assert result.status == "completed" and not result.alarms
    assert result.printer["pressure"] == {
        "watched": True, "limits_kpa": [Decimal(40), Decimal(180)],
        "interval_s": Decimal("0.5"), "command": "M1155 S0.5",
    }  # fmt: skip
    for unit in result.units:
        log = unit.pressure
        assert log is not None and log["steady"] >= 20
        assert Decimal(90) < log["mean_kpa"] < Decimal(150)
        assert Decimal(40) < log["min_kpa"] <= log["mean_kpa"] <= log["max_kpa"] < Decimal(180)
        assert len(log["reports_kpa"]) > log["steady"]
    assert {e.limits_kpa for e in events} == {(Decimal(40), Decimal(180))}
    assert sum(len(e.readings_kpa) for e in events) >= sum(
        len(u.pressure["reports_kpa"])
        for u in result.units  # type: ignore[index]
    )
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.batches.get(result.batch_id)
    assert row is not None
    for stored, unit in zip(row.units, result.units, strict=True):
        assert stored.pressure is not None and unit.pressure is not None
        assert stored.pressure["mean_kpa"] == str(unit.pressure["mean_kpa"])  # exact, as text
        assert len(stored.pressure["reports_kpa"]) == len(unit.pressure["reports_kpa"])


def test_an_air_pocket_is_an_under_pressure_alarm(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=3)
    devices = sim_devices(request, bubble_rate=1, bubble_loss=0.25, seed=4)
    result = run_batch(request, devices, options=options())
    assert result.status == "stopped"
    (alarm,) = result.alarms
    assert (alarm.kind, alarm.unit) == (AlarmKind.UNDER_PRESSURE, 1)
    assert "fell below the ink's limit of 40 kPa while extruding" in alarm.message
    small = run_batch(request, sim_devices(request, bubble_rate=1, seed=4), options=options())
    assert small.status == "completed"  # 1.5-3 % bubbles: shallow dips, no alarm


def test_without_a_load_cell_nothing_is_watched_and_the_record_says_so(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=2)
    devices = sim_devices(request, pressure_sensor=0)
    result = run_batch(request, devices, options=options())
    assert result.status == "completed"
    assert result.printer["pressure"] == {
        "watched": False, "why": "the printer reports no extrusion pressure",
    }  # fmt: skip
    assert all(u.pressure is None for u in result.units)
    assert not any(c.startswith("M1155") for c in sims(devices)[0].executed)
