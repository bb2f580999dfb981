"""The flow controller in the run, over REAL pseudo-terminals, on seeded simulators.

Old code: corrections in whole percent by M221 (1 % against a ±0.5 % volume target),
the whole last error applied after every unit, never from a failing unit, no drift
warning and no alarm for a drop that stays inside the tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.devices.printer import LinkOptions
from printpharm.devices.sim import FAST_PTY_SPEED, Plate, PtyServer, build_balance, build_printer
from printpharm.services.jobs import EventHub
from printpharm.services.run.devices import connected_devices, ink_physics
from printpharm.services.run.events import Alarm, FlowCorrected
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import MemoryRecorder
from printpharm.services.run.request import RunRequest
from printpharm.services.run.result import AlarmKind, BatchResult
from tests.services.conftest import make_request, options

PTY_LINK = LinkOptions(ok_timeout_s=3.0, max_probes=1, resend_quiet_s=0.02)


@pytest.fixture
def ptys(catalog: Catalog) -> Iterator[Any]:
    """Factory: ``ptys(request, **process)`` → (printer sim, printer path, balance path)."""
    servers: list[PtyServer] = []

    def start(request: RunRequest, **process: Any) -> tuple[Any, str, str]:
        plate = Plate()
        opts = {"e_units": "mm3", "process_rsd": "0", **ink_physics(request.ink)}
        opts.update({k: str(v) for k, v in process.items()})
        printer = PtyServer(build_printer(opts, plate), FAST_PTY_SPEED).start()
        balance = PtyServer(build_balance({}, plate), FAST_PTY_SPEED).start()
        servers.extend([printer, balance])
        return printer.sim, printer.path, balance.path

    yield start
    for server in servers:
        server.stop()


def run(
    request: RunRequest, ports: tuple[Any, str, str], **kwargs: Any
) -> tuple[BatchResult, list[Any], MemoryRecorder]:
    hub, events, recorder = EventHub(), [], MemoryRecorder()
    hub.subscribe(events.append)
    with connected_devices(ports[1], ports[2], link_options=PTY_LINK) as devices:
        result = run_batch(
            request,
            devices,
            hub=hub,
            recorder=recorder,
            options=options(connect_timeout_s=20.0, **kwargs),
        )
    return result, events, recorder


def streamed_e(sim: Any) -> list[float]:
    """E words of the printing moves the printer executed, in order."""
    with sim.lock:
        executed = list(sim.executed)
    printing = [c for c in executed if c.startswith("G1 X") and " E" in c]
    return [float(re.search(r"E(-?[\d.]+)", c).group(1)) for c in printing]  # type: ignore[union-attr]


def test_a_small_offset_is_corrected_finer_than_a_percent_and_recorded_per_unit(
    catalog: Catalog, ptys: Any
) -> None:
    request = make_request(catalog, units=12)
    ports = ptys(request, bias=0.013)
    result, events, recorder = run(request, ports)
    assert result.status == "completed"
    assert result.corrections, "a steady +1.3 % is found within the batch"
    first = result.corrections[0]
    scales = [u.e_scale for u in result.units]
    assert scales[: first.for_unit - 1] == [Decimal(1)] * (first.for_unit - 1)
    last = result.units[-1]
    assert last.e_scale == last.e_scale.quantize(Decimal("0.0001"))
    assert abs(last.e_scale * Decimal("1.013") - 1) < Decimal("0.003")
    assert last.e_scale * 100 % 1 != 0  # M221 takes whole percent: it could not do this
    assert last.deviation_pct is not None and abs(last.deviation_pct) < Decimal("0.3")
    assert "P(off calibration)" in last.correction_reason
    assert "corrected for its predicted offset" in last.correction_reason
    assert first.reason in result.units[first.for_unit - 1].correction_reason
    assert first.estimate_pct > 0 and first.estimate_se_pct > 0
    assert first.command == f"E words of unit {first.for_unit} scaled by {first.e_scale}"
    assert sum(isinstance(e, FlowCorrected) for e in events) == len(result.corrections)
    assert [c for k, c in recorder.entries if k == "correction"] == list(result.corrections)
    # the scaled program is what the printer got: unit 1 as planned, the last one scaled
    e_words = streamed_e(ports[0])
    per_unit = len(e_words) // 12
    ratio = e_words[-1] / e_words[per_unit - 1]
    assert ratio == pytest.approx(float(last.e_scale), abs=2e-6)
    sim = ports[0]
    with sim.lock:
        assert [c for c in sim.executed if c.startswith("M221")] == ["M221 S100"]


def test_a_process_on_its_calibration_is_left_alone(catalog: Catalog, ptys: Any) -> None:
    request = make_request(catalog, units=6)
    result, _, _ = run(request, ptys(request, process_rsd=0.02, seed=11))
    assert result.status == "completed"
    assert result.corrections == ()  # noise, not an offset: nothing to chase
    assert {u.e_scale for u in result.units} == {Decimal(1)}
    assert all("not distinguishable from noise" in u.correction_reason for u in result.units[1:])


def test_a_drift_is_a_warning_recorded_and_published_and_the_run_goes_on(
    catalog: Catalog, ptys: Any
) -> None:
    request = make_request(catalog, units=12)
    result, events, recorder = run(request, ptys(request, drift_pct_per_unit=-1))
    assert result.status == "completed"
    warnings = [a for a in result.alarms if a.action == "warn"]
    assert len(warnings) == 1 and warnings[0].kind is AlarmKind.DRIFT_WARNING
    warning = warnings[0]
    assert warning.unit is not None
    assert "trending -1.0" in warning.message and "validated correction range" in warning.message
    assert all(u.verdict == "pass" for u in result.units[: warning.unit])  # before any failure
    assert ("alarm", warning) in recorder.entries
    assert any(isinstance(e, Alarm) and e.alarm is warning for e in events)


def test_a_sudden_drop_inside_the_tolerance_alarms_at_once(catalog: Catalog, ptys: Any) -> None:
    request = make_request(catalog, units=8)
    result, _, _ = run(request, ptys(request, clog_unit=6, clog_factor=0.94))
    assert result.status == "stopped"  # the recipe's policy: stop
    clogged = result.units[5]
    assert clogged.verdict == "pass"  # −6 % is inside ±7.5 %
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.SUDDEN_DROP and alarm.unit == 6
    assert "sudden drop" in alarm.message and "clog" in alarm.message


def test_the_controller_corrects_over_a_paced_serial_line_without_starving_the_planner(
    catalog: Catalog, sim_devices: Any
) -> None:
    """The scaled E words stream over a 115 200 baud line (issue 15's link speed)."""
    request = make_request(catalog, units=8)
    times: dict[str, float] = {}
    results: dict[str, BatchResult] = {}
    for name, line in (("paced", {"baud": 115_200}), ("instant", {})):
        devices = sim_devices(request, bias=0.03, **line)
        results[name] = run_batch(request, devices, options=options())
        transport = devices.printer.transport.inner  # type: ignore[attr-defined]
        times[name] = transport._virtual_s
        sim = transport.sim
        assert sim.config.baud == line.get("baud")
        assert sim.underruns == 0 and sim.stall_s == 0.0
    paced = results["paced"]
    assert paced.status == "completed" and paced.corrections
    assert paced.units[-1].e_scale < 1 and paced.units[-1].deviation_pct is not None
    assert abs(paced.units[-1].deviation_pct) < Decimal("0.5")  # the +3 % is corrected
    assert times["paced"] > times["instant"]  # the line took its time
    assert [u.e_scale for u in paced.units] == [u.e_scale for u in results["instant"].units]
