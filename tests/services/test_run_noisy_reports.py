"""A temperature auto-report garbled on the wire does not stop a batch on its own.

Marlin checksums what the host sends, not what it prints: a report line can
arrive with one byte changed (``T:40.00`` read as ``T:90.00``). Between chunks
the run judges the latest auto-reported temperatures; an out-of-window value is
confirmed with a fresh ``M105`` before it stops the run, and an unconfirmed one
is kept on the record as a warning. A real excursion still stops the run (see
test_run.py's heater test).
"""

from __future__ import annotations

from typing import Any

from printpharm.catalog import Catalog
from printpharm.services.jobs import EventHub
from printpharm.services.run.events import UnitStarted
from printpharm.services.run.loop import run_batch
from printpharm.services.run.result import AlarmKind
from tests.services.conftest import make_request, options
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
