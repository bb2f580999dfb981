"""Splitting plate G-code at the planner's unit markers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.errors import SlicingError
from printpharm.services.run.program import parse_plate_gcode
from tests.services.conftest import plate_gcode


def test_units_targets_preamble_and_postamble() -> None:
    text = plate_gcode([Decimal("200.000"), Decimal("150.5")], Decimal("1.2"), moves_per_unit=3)
    program = parse_plate_gcode(text)
    assert program.targets_mg == (Decimal("200.000"), Decimal("150.5"))
    assert [u.n for u in program.units] == [1, 2]
    assert all(u.of == 2 for u in program.units)
    assert program.preamble[0] == "; hand-made plate"
    first, second = program.units
    assert first.lines[0].startswith(";PRINTPHARM UNIT_START n=1")
    assert first.lines[-1] == ";PRINTPHARM UNIT_END n=1"
    # the lift after unit 1 is streamed with unit 2 (before its START)
    assert second.lines[0] == "G0 Z5 F600 ; lift off the unit"
    assert program.postamble[0] == "G0 Z5 F600 ; lift off the unit"
    assert program.postamble[-1] == "; end"
    every = [*program.preamble, *(x for u in program.units for x in u.lines), *program.postamble]
    assert every == text.splitlines()


def test_a_weigh_point_closes_the_unit_after_its_lift() -> None:
    text = plate_gcode([Decimal(100)] * 2, Decimal(1), moves_per_unit=2, weigh_points=True)
    program = parse_plate_gcode(text)
    first = program.units[0]
    assert first.lines[-2:] == ("G0 Z5 F600 ; lift off the unit", ";PRINTPHARM WEIGH n=1")
    assert program.units[1].lines[0].startswith(";PRINTPHARM UNIT_START n=2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("G28\nG1 X1\n", "no ;PRINTPHARM UNIT_START"),
        (";PRINTPHARM UNIT_START n=2 of=1 target_mg=5\n;PRINTPHARM UNIT_END n=2\n", "n=1 was"),
        (";PRINTPHARM UNIT_START n=1 of=1 target_mg=-5\n", "positive mass"),
        (";PRINTPHARM UNIT_START n=1 of=1\n", "target_mg=<mg>"),
        (";PRINTPHARM UNIT_START n=1 of=1 target_mg=5\nG1 E1\n", "ends inside unit 1"),
        (";PRINTPHARM UNIT_START n=1 of=2 target_mg=5\n;PRINTPHARM UNIT_END n=1\n", "of=2"),
        (";PRINTPHARM UNIT_START n=1 of=1 target_mg=5\n;PRINTPHARM UNIT_END n=2\n", "without"),
        (";PRINTPHARM UNIT_START n=1 of=1 target_mg=5 junk\n", "not key=value"),
        (
            ";PRINTPHARM UNIT_START n=1 of=2 target_mg=5\n"
            ";PRINTPHARM UNIT_START n=2 of=2 target_mg=5\n",
            "unfinished unit",
        ),
    ],
)
def test_malformed_plates_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(SlicingError, match=message):
        parse_plate_gcode(text)
