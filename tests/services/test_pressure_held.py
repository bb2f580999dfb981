"""An over-pressure that stays up needs no poll to stop a run; a lone report does.

The run confirms a lone over-limit report with an ``M1105`` poll, which reads one
instant; a clogged head's pressure falls at every travel, so under load the poll
could read 63 kPa between two reports of 185 and 204 kPa and let a clog print on
(tests/cli/test_equipment_cli.py failed so on a busy machine). Two reports in a
row above the limit are a pressure that stayed up, which one garbled line is not.
"""

from __future__ import annotations

from decimal import Decimal

from printpharm.catalog.schema import PressureLimits
from printpharm.devices.marlin import PressureReading
from printpharm.services.run.pressure import PressureWatch

LIMITS = PressureLimits.model_validate(
    {"max": {"value": 180, "unit": "kPa"}, "min": {"value": 40, "unit": "kPa"}}
)


def _reads(*kpa: float) -> list[PressureReading]:
    return [PressureReading(Decimal(str(k)), Decimal("2")) for k in kpa]


def test_a_lone_report_above_the_limit_is_not_held() -> None:
    watch = PressureWatch(LIMITS, active=True)
    watch.begin_unit()
    (excursion,) = watch.add(_reads(110, 263, 112))
    assert excursion.kind == "high" and excursion.kpa == Decimal("263")
    assert excursion.held is False


def test_two_reports_in_a_row_above_the_limit_are_held_even_across_checks() -> None:
    watch = PressureWatch(LIMITS, active=True)
    watch.begin_unit()
    (first,) = watch.add(_reads(120, 185))
    assert first.held is False
    watch.rearm("high")  # the poll read a travel's 63 kPa: not confirmed
    (second,) = watch.add(_reads(204, 150))
    assert second.held is True and second.kpa == Decimal("204")


def test_a_held_excursion_speaks_before_a_lone_one_of_the_same_check() -> None:
    watch = PressureWatch(LIMITS, active=True)
    watch.begin_unit()
    (excursion,) = watch.add(_reads(185, 120, 190, 204))
    assert excursion.held is True and excursion.kpa == Decimal("204")


def test_a_new_unit_does_not_hold_the_last_units_pressure() -> None:
    watch = PressureWatch(LIMITS, active=True)
    watch.begin_unit()
    watch.add(_reads(190))
    watch.begin_unit()
    (excursion,) = watch.add(_reads(195))
    assert excursion.held is False
