"""The mass-checked print run end to end on the linked simulators (sim:// transports)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.sim import BalanceSim, PrinterSim
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.events import (
    Alarm,
    FlowCorrected,
    Heating,
    PreflightPassed,
    RunFinished,
    RunStarted,
    Temperatures,
    UnitProgress,
    UnitStarted,
    UnitWeighed,
)
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import JsonFileRecorder, MemoryRecorder
from printpharm.services.run.request import RunDevices
from printpharm.services.run.result import AlarmKind, AlarmRecord, OperatorDecision
from tests.services.conftest import make_request, options


def sims(devices: RunDevices) -> tuple[PrinterSim, BalanceSim]:
    """The simulators behind the devices' logged sim:// transports."""
    printer = devices.printer.transport.inner.sim  # type: ignore[attr-defined]
    balance = devices.balance.transport.inner.sim  # type: ignore[attr-defined]
    return printer, balance


def collect() -> tuple[EventHub, list[Any]]:
    hub = EventHub()
    events: list[Any] = []
    hub.subscribe(events.append)
    return hub, events


def test_ten_units_complete_weighed_and_await_content_uniformity(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=10)
    devices = sim_devices(request, seed=3)
    hub, events = collect()
    recorder = MemoryRecorder()
    result = run_batch(request, devices, hub=hub, recorder=recorder, options=options())
    # every unit in tolerance, but no pharmacopoeial test could decide 10 units of 10 mg at
    # 5 % w/w: not a pass (issue 10, finding 5)
    assert result.status == "completed" and not result.passed
    assert result.qc.verdict == "pending_content_uniformity"
    assert [u.n for u in result.units] == list(range(1, 11))
    assert all(u.verdict == "pass" for u in result.units)
    assert all(u.target_mg == Decimal("200.000") for u in result.units)
    for unit in result.units:  # the raw line is kept, and the mass is exactly it in mg
        assert unit.raw_reading is not None and unit.raw_reading.startswith("S S ")
        grams = Decimal(unit.raw_reading.split()[2])
        assert unit.measured_mg == grams * 1000
        assert abs(unit.measured_mg - unit.target_mg) < Decimal("0.5")
    printer, balance = sims(devices)
    # the plate holds what the ink's calibration predicts: 10 × (1.19 mg/mm³ · V − 0.5 mg)
    assert abs(Decimal(repr(balance.plate.deposited_mg)) - 2000) < 1
    assert {u.e_scale for u in result.units} == {Decimal(1)}  # an ideal process: no correction
    assert printer.executed.count("M400") == 10
    assert [b for b in balance.executed if b == "T"] == ["T"] * 10
    qc = {t.test: t for t in result.qc.tests}
    assert qc["2.9.5"].result == "NOT_APPLICABLE" and "exactly 20" in qc["2.9.5"].reason
    assert qc["2.9.40-mv"].result == "NOT_APPLICABLE" and ">= 25 mg" in qc["2.9.40-mv"].reason
    assert qc["local"].result == "PASS" and not qc["local"].named_by_recipe
    kinds = [type(e) for e in events]
    assert kinds[:4] == [PreflightPassed, RunStarted, Heating, Heating]
    assert kinds[-1] is RunFinished and events[-1].result is result
    assert kinds.count(UnitStarted) == kinds.count(UnitWeighed) == 10
    after_units = [e for e in events if isinstance(e, Temperatures)]
    assert {e.unit for e in after_units} == set(range(1, 11))
    assert all(e.hotend_c is not None and 37 <= e.hotend_c <= 43 for e in after_units)
    progress = [e for e in events if isinstance(e, UnitProgress) and e.n == 1]
    assert progress[-1].lines_sent == progress[-1].lines_total == 15
    assert recorder.kinds() == ["batch_started", *["unit_weighed"] * 10, "finished"]
    assert result.printer["firmware"].startswith("Marlin")
    assert result.balance["serial_number"] == "1126493049"


def test_twenty_units_are_judged_by_ph_eur_2_9_5(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=20)
    result = run_batch(request, sim_devices(request), options=options())
    qc = {t.test: t for t in result.qc.tests}
    assert qc["2.9.5"].applied and qc["2.9.5"].result == "PASS"
    assert qc["2.9.5"].detail["limit_pct"] == Decimal("7.5")  # 80 mg < average < 250 mg
    # 10 mg at 5 % w/w: 2.9.5 passing shows uniform masses; the contents still need assaying
    assert result.qc.verdict == "pending_content_uniformity" and not result.qc.passed


def test_a_connection_dropped_mid_unit_ends_interrupted_with_everything_recorded(
    catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    request = make_request(catalog, units=5)
    # the start code is 5 lines, each unit 15-16; line 45 is in the middle of unit 3
    devices = sim_devices(request, drop_after=45)
    hub, events = collect()
    recorder = JsonFileRecorder(tmp_path)
    result = run_batch(request, devices, hub=hub, recorder=recorder, options=options())
    assert result.status == "interrupted"
    assert [u.n for u in result.units] == [1, 2]
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.CONNECTION_LOST and alarm.unit == 3
    assert alarm.action == "interrupt"
    assert alarm.message.startswith("printer (unit 3, sending lines ")
    assert result.qc.verdict == "not_evaluated"
    assert any(isinstance(e, UnitStarted) and e.n == 3 for e in events)
    lines = (tmp_path / f"{result.batch_id}.events.jsonl").read_text().splitlines()
    recorded = [json.loads(line)["event"] for line in lines]
    assert recorded == ["batch_started", "unit_weighed", "unit_weighed", "alarm", "interrupted"]
    saved = json.loads((tmp_path / f"{result.batch_id}.json").read_text())
    assert saved["status"] == "interrupted"
    assert [u["n"] for u in saved["units"]] == [1, 2]
    assert saved["units"][0]["raw_reading"] == result.units[0].raw_reading


def test_a_balance_that_never_settles_raises_a_clear_alarm(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=3)
    devices = sim_devices(request, never_settles=1)
    result = run_batch(request, devices, options=options())
    assert result.status == "stopped"
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.BALANCE_UNSTABLE
    assert alarm.message.startswith("unit 1: the balance did not settle for the tare")
    assert result.units == ()
    printer, _ = sims(devices)
    assert printer.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]  # made safe


def test_a_clogged_unit_is_out_of_tolerance_and_stops_the_run(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=5)
    # a head without a load cell: only the balance sees the clog (with one: test_run_pressure)
    devices = sim_devices(request, clog_unit=3, clog_factor=0.5, pressure_sensor=0)
    result = run_batch(request, devices, options=options())
    assert result.status == "stopped"
    assert [u.verdict for u in result.units] == ["pass", "pass", "fail"]
    clogged = result.units[2]
    assert clogged.measured_mg is not None and clogged.measured_mg < 110
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.UNIT_OUT_OF_TOLERANCE and alarm.action == "stop"
    assert alarm.unit == 3 and "±7.5 %" in alarm.message
    printer, _ = sims(devices)
    assert printer.executed.count("M400") == 3  # unit 4 never printed


def _pause_request(catalog: Catalog, units: int) -> Any:
    recipe = catalog.recipe("cpm-chewable-disc").model_copy(update={"alarm_policy": "pause"})
    return make_request(catalog, units=units, recipe=recipe)


def test_with_pause_policy_the_operator_decides_to_continue(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = _pause_request(catalog, 4)
    asked: list[AlarmRecord] = []

    def operator(alarm: AlarmRecord) -> OperatorDecision:
        asked.append(alarm)
        return OperatorDecision.CONTINUE

    devices = sim_devices(request, clog_unit=4, pressure_sensor=0)  # the balance sees it
    recorder = MemoryRecorder()
    result = run_batch(
        request,
        devices,
        recorder=recorder,
        operator=operator,
        options=options(flow_correction=False),
    )
    assert result.status == "completed"
    assert [u.verdict for u in result.units] == ["pass", "pass", "pass", "fail"]
    assert [a.unit for a in asked] == [4] and asked[0].action == "pause"
    (alarm,) = result.alarms
    assert alarm.decision is OperatorDecision.CONTINUE and alarm.action == "pause"
    assert "sudden drop" in alarm.message  # a clog: far below the process estimate
    recorded = [p for kind, p in recorder.entries if kind == "alarm"]
    assert [a.decision for a in recorded] == [None, OperatorDecision.CONTINUE]  # raised, decided
    assert result.qc.verdict == "fail" and "local" in result.qc.reason
    assert not result.passed


def test_with_pause_policy_the_operator_may_abort(catalog: Catalog, sim_devices: Any) -> None:
    request = _pause_request(catalog, 4)
    devices = sim_devices(request, clog_unit=2, pressure_sensor=0)  # the balance sees it
    result = run_batch(
        request, devices, operator=lambda alarm: OperatorDecision.ABORT, options=options()
    )
    assert result.status == "stopped" and "operator chose abort" in result.reason
    assert [u.n for u in result.units] == [1, 2]
    assert result.alarms[0].decision is OperatorDecision.ABORT


def test_pause_policy_without_an_operator_stops(catalog: Catalog, sim_devices: Any) -> None:
    request = _pause_request(catalog, 3)
    result = run_batch(request, sim_devices(request, clog_unit=1), options=options())
    assert result.status == "stopped"
    assert "no operator to ask" in result.alarms[0].message


def test_flow_correction_is_bounded_recorded_and_sent(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=4)
    # the ink deposits 7 % less than its calibration says: every unit weighs 7 % low
    devices = sim_devices(request, bias=-0.07)
    hub, events = collect()
    recorder = MemoryRecorder()
    result = run_batch(request, devices, hub=hub, recorder=recorder, options=options())
    assert result.status == "completed"
    first = result.corrections[0]
    assert first.after_unit == 1 and first.for_unit == 2  # 7 % low is evidence at once
    clamped = [c for c in result.corrections if c.clamped]
    assert clamped, "the estimate asks for more than the recipe allows"
    assert all(c.requested_pct > Decimal(105) and c.applied_pct == 105 for c in clamped)
    assert all(c.bounds_pct == (Decimal(95), Decimal(105)) for c in result.corrections)
    assert "clamped to the validated range" in clamped[0].reason
    assert all(u.e_scale <= Decimal("1.05") for u in result.units)
    assert result.units[-1].e_scale == Decimal("1.05")
    assert {u.flow_pct for u in result.units} == {Decimal(100)}  # M221 is never changed
    printer, _ = sims(devices)
    assert [c for c in printer.executed if c.startswith("M221")] == ["M221 S100"]
    assert result.units[1].measured_mg is not None and result.units[0].measured_mg is not None
    assert result.units[1].measured_mg > result.units[0].measured_mg * Decimal("1.04")
    assert ("correction", first) in recorder.entries
    assert sum(isinstance(e, FlowCorrected) for e in events) == len(result.corrections)


def test_a_small_bias_is_corrected_once_it_is_distinguishable_from_noise(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=6)
    result = run_batch(request, sim_devices(request, bias=0.03), options=options())
    # with the ink's 2 % unit RSD one unit at +3 % is not evidence; three are
    assert result.corrections[0].after_unit == 3
    assert Decimal("97.0") < result.corrections[0].applied_pct < Decimal("98.0")
    assert not any(c.clamped for c in result.corrections)
    for unit in result.units[3:]:
        assert unit.deviation_pct is not None and abs(unit.deviation_pct) < Decimal("0.75")


def test_flow_correction_can_be_switched_off(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=3)
    result = run_batch(
        request, sim_devices(request, bias=0.03), options=options(flow_correction=False)
    )
    assert result.corrections == ()
    assert {u.flow_pct for u in result.units} == {Decimal(100)}


def test_thermal_runaway_halts_the_printer_and_stops_the_run(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=2)
    hub, events = collect()
    result = run_batch(request, sim_devices(request, thermal_runaway=1), hub=hub, options=options())
    assert result.status == "stopped"
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.PRINTER_HALTED and "Thermal Runaway" in alarm.message
    assert result.units == ()
    assert any(isinstance(e, Alarm) for e in events)


def test_cancel_from_a_subscriber_stops_at_the_next_check(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=5)
    token = CancelToken()
    hub = EventHub()
    hub.subscribe(
        lambda e: (
            token.cancel("stop after two") if isinstance(e, UnitWeighed) and e.unit.n == 2 else None
        )
    )
    devices = sim_devices(request)
    result = run_batch(request, devices, hub=hub, cancel=token, options=options())
    assert result.status == "stopped" and "stop after two" in result.reason
    assert [u.n for u in result.units] == [1, 2]
    assert result.alarms[-1].kind is AlarmKind.CANCELLED
    printer, _ = sims(devices)
    assert printer.executed.count("M400") == 2


def test_cancel_from_another_thread_aborts_the_stream(catalog: Catalog, sim_devices: Any) -> None:
    request = make_request(catalog, units=4)
    token = CancelToken()
    hub = EventHub()

    def on_event(event: object) -> None:
        if isinstance(event, UnitProgress) and event.n == 2 and event.lines_sent >= 5:
            canceller = threading.Thread(target=token.cancel, args=("stop button",))
            canceller.start()
            canceller.join()

    hub.subscribe(on_event)
    devices = sim_devices(request)
    result = run_batch(request, devices, hub=hub, cancel=token, options=options())
    assert result.status == "stopped" and "stop button" in result.reason
    assert [u.n for u in result.units] == [1]
    printer, _ = sims(devices)
    assert "M84" in printer.executed[-3:]


def test_a_crashing_subscriber_leaves_the_record_on_disk_and_the_printer_safe(
    catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    request = make_request(catalog, units=4)
    hub = EventHub()

    def crash(event: object) -> None:
        if isinstance(event, UnitStarted) and event.n == 3:
            raise RuntimeError("screen went away")

    hub.subscribe(crash)
    devices = sim_devices(request)
    token = CancelToken()
    with pytest.raises(RuntimeError, match="screen went away"):
        run_batch(
            request,
            devices,
            hub=hub,
            recorder=JsonFileRecorder(tmp_path),
            cancel=token,
            options=options(),
        )
    (events_file,) = tmp_path.glob("*.events.jsonl")
    recorded = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [r["event"] for r in recorded] == ["batch_started", "unit_weighed", "unit_weighed"]
    assert recorded[1]["data"]["raw_reading"].startswith("S S")
    assert not list(tmp_path.glob("*[!l].json"))
    printer, _ = sims(devices)
    assert printer.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]
    executed = len(printer.executed)
    late = threading.Thread(target=token.cancel)  # the run is over: nothing is sent any more
    late.start()
    late.join()
    assert len(printer.executed) == executed


def test_a_unit_out_of_tolerance_still_teaches_the_controller(
    catalog: Catalog, sim_devices: Any
) -> None:
    """Old code: no correction from a failing unit, so an ink 8 % heavy never recovered."""
    request = _pause_request(catalog, 4)
    devices = sim_devices(request, bias=0.08)
    result = run_batch(
        request, devices, operator=lambda alarm: OperatorDecision.CONTINUE, options=options()
    )
    assert result.status == "completed"
    assert result.units[0].verdict == "fail"  # +8 % against ±7.5 %
    assert [c.after_unit for c in result.corrections][:1] == [1]  # learned from it at once
    assert all(u.verdict == "pass" for u in result.units[1:])
    assert all(95 <= u.material_pct <= 105 for u in result.units)


def test_a_reading_of_zero_or_less_fails_the_unit_and_the_qc(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = _pause_request(catalog, 3)
    # a heavy container taken off the pan makes the net reading negative
    devices = sim_devices(request)
    _, balance = sims(devices)
    original = balance.gross_g

    def robbed() -> float:
        return original() - (1.0 if balance.plate.unit == 2 else 0.0)

    balance.gross_g = robbed  # type: ignore[method-assign]
    result = run_batch(
        request, devices, operator=lambda alarm: OperatorDecision.CONTINUE, options=options()
    )
    second = result.units[1]
    assert second.measured_mg is not None and second.measured_mg < 0
    assert second.verdict == "fail"
    assert result.status == "completed" and result.qc.verdict == "fail"
    assert "0 mg or less" in result.qc.reason


def test_a_heater_leaving_its_validated_window_raises_a_temperature_alarm(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=4)
    devices = sim_devices(request)
    hub = EventHub()

    def bump_setpoint(event: object) -> None:  # someone turns the syringe heater up to 50 °C
        if isinstance(event, UnitStarted) and event.n == 2:
            devices.printer.send("M104 S50")

    hub.subscribe(bump_setpoint)
    result = run_batch(request, devices, hub=hub, options=options())
    assert result.status == "stopped"
    assert [u.n for u in result.units] == [1, 2]
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.TEMPERATURE and alarm.unit == 2
    assert "nozzle_temperature measured" in alarm.message and "37–43 °C" in alarm.message
    printer, _ = sims(devices)
    assert "M155 S1" in printer.executed  # auto-reports watched while streaming


def test_a_lost_balance_interrupts_the_run_and_the_printer_is_made_safe(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=4)
    devices = sim_devices(request)
    hub = EventHub()

    def unplug_balance(event: object) -> None:
        if isinstance(event, UnitStarted) and event.n == 2:
            devices.balance.transport.close()

    hub.subscribe(unplug_balance)
    result = run_batch(request, devices, hub=hub, options=options())
    assert result.status == "interrupted"
    assert [u.n for u in result.units] == [1]
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.CONNECTION_LOST and alarm.message.startswith("balance: ")
    printer, _ = sims(devices)
    assert printer.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]


def test_a_balance_that_stops_settling_after_the_tare_alarms_after_its_retries(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=3)
    devices = sim_devices(request)
    _, balance = sims(devices)
    hub = EventHub()

    def draught(event: object) -> None:  # a door opens: the reading never settles again
        if isinstance(event, UnitStarted) and event.n == 2:
            balance.config.faults.never_settles = True

    hub.subscribe(draught)
    result = run_batch(request, devices, hub=hub, options=options())
    assert result.status == "stopped" and [u.n for u in result.units] == [1]
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.BALANCE_UNSTABLE and alarm.unit == 2
    assert "did not settle for the weighing" in alarm.message
    assert "no stable weight after 3 attempts" in alarm.message
    assert [c for c in balance.executed if c == "S"] == ["S"]  # only unit 1 got an answer
