"""The print page's mass and temperature charts: their data, and that they draw something."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.gui.widgets.charts import MassChart, TemperatureChart
from printpharm.services.run.events import Heating, Temperatures
from printpharm.services.run.result import UnitRecord

pytestmark = pytest.mark.gui


def _unit(n: int, measured: str, verdict: str) -> UnitRecord:
    target = Decimal("200.0")
    mass = Decimal(measured)
    deviation = (mass - target) / target * 100
    return UnitRecord(n, target, mass, deviation, verdict, Decimal("7.5"), Decimal(100))  # type: ignore[arg-type]


def test_mass_chart_has_one_point_per_unit_and_marks_the_one_outside(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = MassChart()
    qtbot.addWidget(chart)
    chart.resize(420, 220)
    chart.set_plan(Decimal("200.0"), Decimal("7.5"), 4)
    for n, mass, verdict in ((1, "199.50", "pass"), (2, "203.10", "pass"), (3, "230.00", "fail")):
        chart.add_unit(_unit(n, mass, verdict))
    assert [p.n for p in chart.points] == [1, 2, 3]
    assert chart.outside() == [3]
    assert chart.band_mg() == (Decimal("185.0000"), Decimal("215.0000"))
    image = chart.grab().toImage()
    background = image.pixelColor(image.width() // 2, image.height() - 3)
    colours = {
        image.pixelColor(x, y).rgb()
        for x in range(0, image.width(), 7)
        for y in range(0, image.height(), 7)
    }
    assert len(colours) > 3  # band, target line, markers and text over the background
    marker = chart._point(3, 230.0)  # the cross is drawn through its centre
    assert image.pixelColor(int(marker.x()), int(marker.y())) != background


def test_temperature_chart_keeps_targets_and_readings(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = TemperatureChart()
    qtbot.addWidget(chart)
    chart.resize(420, 220)
    assert chart.last_known() == "no temperatures reported yet"
    chart.add_heating(Heating(Decimal(120), Decimal(40), reached=False), 10.0)
    chart.add_heating(
        Heating(Decimal(120), Decimal(40), True, Decimal("119.8"), Decimal("40.1")), 70.0
    )
    assert [s.t_s for s in chart.samples] == [0.0, 60.0]
    assert chart.last_known() == "nozzle 119.8 °C (target 120 °C), bed 40.1 °C (target 40 °C)"
    chart.add_reading(Temperatures(1, Decimal("121.2"), Decimal("39.7")), 100.0)
    assert chart.samples[-1].t_s == 90.0 and chart.samples[-1].nozzle_target_c == 120
    assert chart.last_known() == "nozzle 121.2 °C (target 120 °C), bed 39.7 °C (target 40 °C)"
    image = chart.grab().toImage()
    colours = {
        image.pixelColor(x, y).rgb()
        for x in range(0, image.width(), 5)
        for y in range(0, image.height(), 5)
    }
    assert len(colours) > 3


def test_a_long_print_draws_at_most_two_points_per_pixel_and_always_the_last(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = TemperatureChart()
    qtbot.addWidget(chart)
    chart.resize(420, 220)
    chart.add_heating(Heating(Decimal(120), Decimal(40), True, Decimal(120), Decimal(40)), 0.0)
    for i in range(1, 5001):  # a reading a second for 83 minutes
        nozzle = Decimal(120) + Decimal(i % 7) / 10
        chart.add_reading(Temperatures(1, nozzle, Decimal(40)), float(i))
    chart.grab()  # paints: sets the axes from the data
    readings = [(s.t_s, float(s.nozzle_c)) for s in chart.samples if s.nozzle_c is not None]
    points = chart._points(readings)
    width = chart._plot().width()
    assert len(points) <= 2 * width + 2 < len(readings)
    last = chart._point(*readings[-1])
    assert (points[-1].x(), points[-1].y()) == pytest.approx((last.x(), last.y()))
    assert points[0].x() == pytest.approx(chart._plot().left())


def test_a_clogged_unit_in_a_real_run_is_a_cross_on_the_chart(qtbot, station, settings) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from printpharm.gui.main_window import MainWindow
    from printpharm.services.station.workstation import Workstation
    from tests.gui.conftest import TECHNICIAN, clear_line
    from tests.gui.test_flow import _fill

    # a head without a load cell: the unit is printed and weighed, and the balance sees it
    url = "sim://printer?clog_unit=2&pressure_sensor=0"
    config = dataclasses.replace(station.config, printer_url=url)
    ws = Workstation(config, station.catalog, None, station.session)
    ws.session.login(TECHNICIAN[0], TECHNICIAN[2])
    window = MainWindow(ws, settings)
    qtbot.addWidget(window)
    _fill(window, units=3)
    window.new_batch.next_button.click()
    qtbot.waitUntil(lambda: window.plan.batch is not None, timeout=20_000)
    window.plan.print_button.click()
    page = window.print_page
    clear_line(page)
    page.start_button.click()
    qtbot.waitUntil(lambda: page.result is not None, timeout=60_000)
    assert page.mass_chart.outside() == [2]  # half the ink: far below the band
    band = page.mass_chart.band_mg()
    (clogged,) = [p for p in page.mass_chart.points if p.n == 2]
    assert band is not None and clogged.measured_mg < band[0]
    assert page.table.item(1, 4).text() == "FAIL"
    window.close()


def test_error_text_stays_readable_when_the_palette_turns_dark(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor, QPalette

    from printpharm.gui.widgets.feedback import FieldError

    label = FieldError()
    qtbot.addWidget(label)
    label.show_reason("unit 3 is outside its tolerance")
    light_sheet = label.styleSheet()
    light = qapp.palette()
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    qapp.setPalette(dark)  # as a desktop switching to its dark theme does
    qapp.processEvents()
    try:
        assert label.styleSheet() != light_sheet and "#ff8a80" in label.styleSheet()
    finally:
        qapp.setPalette(light)


def test_unit_progress_shows_the_latest_value_without_repainting_on_every_event(
    qtbot, window
) -> None:  # type: ignore[no-untyped-def]
    from printpharm.services.run.events import UnitProgress, UnitStarted

    page = window.print_page
    page._on_event(UnitStarted(1, 3, Decimal("200"), Decimal(100)))
    assert (page.unit_progress.value(), page.unit_progress.maximum()) == (0, 1)
    for sent in range(20, 1000, 20):  # the run reports every 20 lines
        page._on_event(UnitProgress(1, sent, 1000))
    assert page.unit_progress.value() == 0  # not yet: shown at most every 50 ms
    qtbot.waitUntil(lambda: page.unit_progress.value() == 980, timeout=2000)
    assert page.unit_progress.maximum() == 1000
    page._on_event(UnitProgress(1, 1000, 1000))  # the end of the unit is shown at once
    assert page.unit_progress.value() == 1000
    assert "finishing the moves" in page.state.text()


def test_the_pressure_chart_shows_extrusion_reports_against_the_ink_limits(qtbot) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from printpharm.gui.widgets.charts import PressureChart
    from printpharm.services.run.events import Pressure

    chart = PressureChart()
    qtbot.addWidget(chart)
    assert chart.last_known() == "no extrusion pressure reported"
    limits = (Decimal(40), Decimal(180))
    kpa = tuple(Decimal(x) for x in ("3.1", "31.0", "98.0", "112.5", "111.0", "0.8", "191.2"))
    flows = tuple(Decimal(x) for x in ("0", "4.0", "4.0", "4.0", "4.0", "0", "4.0"))
    chart.add(Pressure(2, kpa[:3], flows[:3], limits))
    chart.add(Pressure(2, kpa[3:], flows[3:], limits))  # steady extrusion spans the events
    # drawn is what the run judges: steady extrusion (3 reports pushing in a row), and any
    # report over the limit; not a travel's, the weighing's or a start's rise (31 kPa)
    assert [p.kpa for p in chart.points] == [Decimal("112.5"), Decimal("111.0"),
                                             Decimal("191.2")]  # fmt: skip
    assert [p.t_s for p in chart.points] == [0.0, 0.5, 1.0]  # the printer's time, 0.5 s apart
    assert chart.last_known() == (
        "191.2 kPa while extruding; alarm above 180 kPa, below 40 kPa while extruding"
    )
    chart.resize(420, 220)
    chart.show()
    image = chart.grab().toImage()
    over = chart._point(1.0, 191.2)
    colour = image.pixelColor(int(over.x()), int(over.y()))
    assert colour.red() > 150 and colour.blue() < 100  # the report over the limit: a red cross
    chart.clear()
    assert chart.points == [] and chart.limits is None
