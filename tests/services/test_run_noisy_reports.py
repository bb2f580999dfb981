"""A temperature or pressure report garbled on the wire does not stop a batch on its own.

Marlin checksums what the host sends, not what it prints: a report line can
arrive with one byte changed (``T:40.00`` read as ``T:90.00``). Between chunks
the run judges the latest auto-reported temperatures; an out-of-window value is
confirmed with a fresh ``M105`` before it stops the run (so is an out-of-window answer
to the ``M105`` polled after each unit), and an unconfirmed one
is kept on the record as a warning; so for an over-pressure report, confirmed with
``M1105``. A real excursion still stops the run (a clog below; test_run.py's heater test).
A printer whose replies stopped altogether is still sent the safe state, blind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from printpharm.catalog import Catalog, load_catalog
from printpharm.cli._run import warnings_text
from printpharm.services.jobs import EventHub
from printpharm.services.run.devices import connected_devices, simulator_urls
from printpharm.services.run.events import UnitStarted, UnitWeighed
from printpharm.services.run.loop import run_batch
from printpharm.services.run.prepare import prepare_run
from printpharm.services.run.result import AlarmKind
from tests.services.conftest import FAST_LINK, make_request, options
from tests.services.test_run import sims

#: What the simulator reports at 40 °C, with one byte garbled ("4" → "9").
GARBLED = " T:90.00 /40.00 B:25.00 /25.00 @:0 B@:0"


def test_a_garbled_temperature_report_is_confirmed_before_it_stops_the_run(
    catalog: Catalog, sim_devices: Any
) -> None:
    request = make_request(catalog, units=3)
    devices = sim_devices(request)
    printer, _ = sims(devices)
    hub = EventHub()

    def garble(event: object) -> None:  # line noise hits the report read during unit 2
        if isinstance(event, UnitStarted) and event.n == 2:
            with printer.lock:
                printer.emit(GARBLED)

    hub.subscribe(garble)
    result = run_batch(request, devices, hub=hub, options=options())
    assert result.status == "completed", result.reason
    assert [u.n for u in result.units] == [1, 2, 3]
    (warning,) = result.alarms
    assert (warning.kind, warning.action, warning.unit) == (AlarmKind.TEMPERATURE, "warn", 2)
    assert "90.00" in warning.message and "M105" in warning.message
    assert printer.hotend.actual_c < 43  # the syringe never left its window
    # the run command's summary names the warning's kind: it was no drift
    assert warnings_text(result.alarms) == "1 warning(s) (1 temperature)"


def test_a_garbled_answer_to_the_after_unit_m105_is_confirmed_before_it_stops_the_run(
    catalog: Catalog, sim_devices: Any
) -> None:
    """M105's own answer (``ok T:...``) has no checksum either: after unit 2 it stopped
    a good batch on one garbled byte; a second M105 now confirms it first."""
    request = make_request(catalog, units=3)
    devices = sim_devices(request)
    printer, _ = sims(devices)
    hub = EventHub()
    ack = printer._ack
    garbled: list[str] = []

    def noisy_ack(number: int | None, command: str) -> None:
        if command.startswith("M105") and garbled == ["armed"]:  # the after-unit poll
            garbled.append("sent")
            printer.emit("ok" + GARBLED)
            return
        ack(number, command)

    def arm(event: object) -> None:
        if isinstance(event, UnitWeighed) and event.unit.n == 2:
            garbled.append("armed")

    printer._ack = noisy_ack  # type: ignore[method-assign]
    hub.subscribe(arm)
    result = run_batch(request, devices, hub=hub, options=options())
    assert garbled == ["armed", "sent"]
    assert result.status == "completed", result.reason
    assert [u.n for u in result.units] == [1, 2, 3]
    (warning,) = result.alarms
    assert (warning.kind, warning.action, warning.unit) == (AlarmKind.TEMPERATURE, "warn", 2)
    assert "90.00" in warning.message and "a second M105" in warning.message


def test_a_garbled_pressure_report_is_confirmed_before_it_stops_the_run() -> None:
    """``kPa:2.3`` with its "." garbled into "6" reads 263 kPa, over the ink's 180 kPa."""
    request = prepare_run(load_catalog(), "cpm-chewable-disc", Decimal(15), 3).request
    urls = simulator_urls(request.printer_definition, request.ink, {"seed": "1"})
    hub = EventHub()
    with connected_devices(*urls, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        printer, _ = sims(devices)

        def garble(event: object) -> None:
            if isinstance(event, UnitStarted) and event.n == 2:
                with printer.lock:
                    printer.emit("echo:PRESSURE kPa:263 Q:0.00")

        hub.subscribe(garble)
        result = run_batch(request, devices, hub=hub, options=options(lines_per_check=200))
    assert result.status == "completed", result.reason
    assert [u.n for u in result.units] == [1, 2, 3]
    (warning,) = result.alarms
    assert (warning.kind, warning.action, warning.unit) == (AlarmKind.OVER_PRESSURE, "warn", 2)
    assert "263 kPa" in warning.message and "M1105" in warning.message
    log = result.units[1].pressure
    assert log is not None and Decimal(263) in log["reports_kpa"]  # what came is kept


def test_a_real_clog_is_still_stopped_by_its_pressure(catalog: Catalog) -> None:
    request = prepare_run(catalog, "cpm-chewable-disc", Decimal(15), 3).request
    urls = simulator_urls(request.printer_definition, request.ink, {"seed": "1", "clog_unit": "2"})
    with connected_devices(*urls, link_options=FAST_LINK, balance_timeout_s=5.0) as devices:
        result = run_batch(request, devices, options=options(lines_per_check=200))
    assert result.status == "stopped"
    (alarm,) = result.alarms
    assert (alarm.kind, alarm.unit, alarm.action) == (AlarmKind.OVER_PRESSURE, 2, "stop")


def test_a_printer_that_goes_mute_is_still_sent_the_safe_state_blind(
    catalog: Catalog, sim_devices: Any
) -> None:
    """Its replies stopped (a broken TX line, a hung USB bridge) but it may still listen:
    with nobody switching them off, its heaters would hold 40 °C for ever."""
    request = make_request(catalog, units=4)
    devices = sim_devices(request, silent_after=45)
    result = run_batch(request, devices, options=options(connect_timeout_s=5.0))
    assert result.status == "interrupted"
    (alarm,) = result.alarms
    assert alarm.kind is AlarmKind.CONNECTION_LOST and alarm.message.startswith("printer")
    printer, _ = sims(devices)
    for _ in range(3):  # time passes (the in-process simulator runs when its port is read)
        assert devices.printer.transport.readline(1.0) is None  # still mute
    with printer.lock:
        assert printer.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]
        assert printer.hotend.target_c == 0 and printer.bed.target_c == 0
