"""The G-code reader, on hand-written files with known answers."""

from __future__ import annotations

import math

import pytest

from printpharm.errors import SlicingError
from printpharm.slicing.analysis import analyse_gcode, busiest_move_rate

AREA_175 = math.pi * 1.75**2 / 4


def test_absolute_and_relative_extrusion_and_g92() -> None:
    text = """
G90
M82
G92 E0
G1 X10 Y0 E1 F600
G1 X10 Y10 E3
G92 E0
M83
G1 X0 Y10 E0.5
G91
G1 X-1 E0.5
G1 E-0.8
G1 E0.8
"""
    a = analyse_gcode(text, "filament_mm", 1.75)
    assert a.total.volume_mm3 == pytest.approx((1 + 2 + 0.5 + 0.5) * AREA_175)
    assert a.total.path_length_mm == pytest.approx(31.0)
    assert a.total.retract_net_mm3 == pytest.approx(0.0)
    assert a.total.printing_moves == 4
    assert a.total.bbox_min_mm == (-1.0, 0.0, 0.0)


def test_volumetric_and_plunger_units() -> None:
    move = "G90\nM83\nG1 X10 E2 F600\n"
    assert analyse_gcode(move, "mm3").total.volume_mm3 == pytest.approx(2.0)
    plunger = analyse_gcode(move, "plunger_mm", 4.6).total.volume_mm3
    assert plunger == pytest.approx(2 * math.pi * 2.3**2)
    # M200 D switches Marlin to volumetric E whatever the declared unit
    assert analyse_gcode("M200 D1.75\n" + move, "filament_mm", 1.75).total.volume_mm3 == 2.0


def test_arcs_count_their_length() -> None:
    text = "G90\nM83\nG1 X10 Y0 F600\nG3 X0 Y10 I-10 J0 E1\nG2 X10 Y0 I0 J-10 E1\n"
    a = analyse_gcode(text, "mm3")
    assert a.total.path_length_mm == pytest.approx(10 * math.pi / 2 * 2)
    with pytest.raises(SlicingError, match="only I/J arcs"):
        analyse_gcode("G2 X1 Y1 R5 E1\n", "mm3")


def test_time_follows_a_trapezoidal_profile() -> None:
    long_move = analyse_gcode("G1 X100 F3000\n", "mm3", acceleration_mm_s2=1000)
    assert long_move.total.time_s == pytest.approx(100 / 50 + 50 / 1000)
    short = analyse_gcode("G1 X1 F3000\n", "mm3", acceleration_mm_s2=1000)
    assert short.total.time_s == pytest.approx(2 * math.sqrt(1 / 1000))
    dwell = analyse_gcode("G4 P500\nG4 S2\n", "mm3")
    assert dwell.total.time_s == pytest.approx(2.5)


def test_units_layers_and_host_framing() -> None:
    text = """;PRINTPHARM EXTRUSION e_units=mm3 diameter_mm=1
M83
;PRINTPHARM UNIT_START n=1 of=2
N1 G1 Z0.2 F600*33
G1 X5 E1
G1 Z0.4
G1 X0 E1 ; comment
;PRINTPHARM UNIT_END n=1
;PRINTPHARM UNIT_START n=2 of=2
G1 X10 Z0.2 E3
;PRINTPHARM UNIT_END n=2
"""
    a = analyse_gcode(text)
    assert a.units[1].volume_mm3 == pytest.approx(2.0)
    assert a.units[1].layers == 2
    assert a.units[2].volume_mm3 == pytest.approx(3.0)
    assert a.total.volume_mm3 == pytest.approx(5.0)
    assert a.printing.shape == (3, 4)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (";PRINTPHARM UNIT_START n=1 of=1\nG1 X1\n", "no UNIT_END"),
        (";PRINTPHARM UNIT_END n=1\n", "does not close"),
        (";PRINTPHARM UNIT_START n=1 of=2\n;PRINTPHARM UNIT_START n=2 of=2\n", "inside unit 1"),
        ("G1 X1 Yabc\n", "cannot read"),
        ("G1 X1 F0\n", "feed rate"),
    ],
)
def test_malformed_files_are_refused(text: str, needle: str) -> None:
    with pytest.raises(SlicingError, match=needle):
        analyse_gcode(text, "mm3")


def test_unknown_meaning_of_e_is_refused() -> None:
    with pytest.raises(SlicingError, match="say what E means"):
        analyse_gcode("G1 X1 E1\n")
    with pytest.raises(SlicingError, match="diameter_mm=None"):
        analyse_gcode("G1 X1 E1\n", "filament_mm")


def test_busiest_move_rate_is_the_fastest_window_of_moves_at_their_feed_rates() -> None:
    slow = [f"G1 X{i + 1} E0.1 F600" for i in range(20)]  # 1 mm at 10 mm/s: 0.1 s each
    fast = [f"G1 X{20 + 0.1 * (i + 1):.1f} E0.01" for i in range(16)]  # 0.1 mm: 0.01 s each
    text = "\n".join(["M83", "G1 X0 F600", *slow, "G1 F600", *fast, "; done", ""])
    a = analyse_gcode(text, "mm3")
    assert busiest_move_rate(a.move_s, 16) == pytest.approx(100.0)
    assert busiest_move_rate(a.move_s, 20) == pytest.approx(20 / (16 * 0.01 + 4 * 0.1))
    assert busiest_move_rate(a.move_s, 40) == 0.0  # fewer timed moves than the window
    commands = ["M83", "G1 X0 F600", *slow, "G1 F600", *fast]
    assert a.command_bytes == pytest.approx(sum(map(len, commands)) / len(commands))
