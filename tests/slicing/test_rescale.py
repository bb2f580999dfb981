"""Scaling a unit's extrusion: the actuator of the flow correction (finer than M221's 1 %)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from printpharm.errors import SlicingError
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.rescale import e_mode_after, scale_extrusion

RELATIVE_UNIT = (
    "G92 E0",
    "G0 X10 Y10 F1800",
    "G1 E0.2000000 F300 ; prime",
    "G1 X11 Y10 E0.0100000 F360",
    "G1 X12 Y10 E0.0200000",
    "G1 E-0.2000000 F300",
    "G0 X20 Y10 F1800",
    "G1 E0.2000000 F300",
    "G1 X21 Y10 E0.0300000 F360 ; infill",
    "G1 E-0.2000000 F300",
)


def test_relative_printing_moves_are_scaled_and_suck_back_is_not() -> None:
    scaled = scale_extrusion(RELATIVE_UNIT, D("0.9713"), relative_e=True)
    assert scaled.lines == (
        "G92 E0",
        "G0 X10 Y10 F1800",
        "G1 E0.2000000 F300 ; prime",
        "G1 X11 Y10 E0.0097130 F360",
        "G1 X12 Y10 E0.0194260",
        "G1 E-0.2000000 F300",
        "G0 X20 Y10 F1800",
        "G1 E0.2000000 F300",
        "G1 X21 Y10 E0.0291390 F360 ; infill",
        "G1 E-0.2000000 F300",
    )
    assert scaled.relative_e


def test_absolute_e_is_rewritten_as_positions_of_the_scaled_program() -> None:
    lines = ["G92 E0", "G1 X1 E1.000", "G1 E0.500", "G1 E1.000", "G1 X2 E3.000", "G92 E0",
             "G1 X3 E2.000"]  # fmt: skip
    scaled = scale_extrusion(lines, D("1.05"), relative_e=False)
    # deposits 1 → 1.05, retract/prime unchanged (−0.5, +0.5), 2 → 2.1; then a reset
    assert scaled.lines == ("G92 E0", "G1 X1 E1.050", "G1 E0.550", "G1 E1.050", "G1 X2 E3.150",
                            "G92 E0", "G1 X3 E2.100")  # fmt: skip
    assert not scaled.relative_e


def test_the_deposited_volume_scales_and_the_nozzle_ends_as_it_started() -> None:
    program = ["M83", *RELATIVE_UNIT]
    planned = analyse_gcode("\n".join(program), "mm3").total
    scaled = scale_extrusion(program, D("1.0237"), relative_e=False)
    after = analyse_gcode("\n".join(scaled.lines), "mm3").total
    assert after.volume_mm3 == pytest.approx(planned.volume_mm3 * 1.0237, rel=1e-6)
    assert after.retract_net_mm3 == pytest.approx(planned.retract_net_mm3)


def test_a_factor_of_one_changes_nothing_and_modes_are_followed() -> None:
    lines = ["G90", "M83", "G1 X1 E1", "G91", "G1 X1 E1", "M82"]
    assert scale_extrusion(lines, D(1), relative_e=False).lines == tuple(lines)
    assert e_mode_after(lines[:2]) is True
    assert e_mode_after(lines) is False
    assert e_mode_after(["G91"]) is True  # G91 makes E relative too, like Marlin


@pytest.mark.parametrize("factor", [D(0), D(-1), D("NaN")])
def test_a_factor_that_is_not_positive_is_refused(factor: D) -> None:
    with pytest.raises(SlicingError, match="positive"):
        scale_extrusion(RELATIVE_UNIT, factor, relative_e=True)
