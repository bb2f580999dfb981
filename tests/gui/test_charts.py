"""The print page's mass and temperature charts: their data, and that they draw something."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.gui.widgets.charts import MassChart, TemperatureChart
from printpharm.services.run_events import Heating
from printpharm.services.run_result import UnitRecord

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
    image = chart.grab().toImage()
    colours = {
        image.pixelColor(x, y).rgb()
        for x in range(0, image.width(), 5)
        for y in range(0, image.height(), 5)
    }
    assert len(colours) > 3
