"""The vectorised reading of plain moves gives exactly what reading line by line gives.

``analyse_gcode`` reads plain ``G0``/``G1`` lines in NumPy runs and every other
line one by one; a file it cannot scan is read wholly line by line. Each test
reads the same text both ways (the scan switched off with ``monkeypatch``) and
compares every figure, so the fast path can never drift from the reference.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from printpharm.errors import SlicingError
from printpharm.geometry.plate import layout_plate
from printpharm.slicing import analysis
from printpharm.slicing._scan import scan
from printpharm.slicing.analysis import GcodeAnalysis, MoveStats, analyse_gcode
from printpharm.slicing.fit import fit_unit
from printpharm.slicing.gcode import write_plate

from .conftest import FDM_MACHINE, FDM_PROCESS, SPECS, SSE_MACHINE, SSE_PROCESS

MIXED = """;PRINTPHARM EXTRUSION e_units=filament_mm diameter_mm=1.75
G90
M82
G92 E0
G1 X10 Y0 E1 F600
G1 X10 Y10 E3
N7 G1 X12 Y10 E3.5*41
G1 X13 Y10 E3.75 ; a comment after a move
g1 x14 e4
G1 X16 E4.2
G01 X17 E4.3
G1 X18.5 E4.4
G92 E0
M83
;PRINTPHARM UNIT_START n=1 of=2
G1 X0 Y10 E0.5
G91
G1 X-1 E0.5
G1 E-0.8
G1 E0.8
G1 Z0.2
G90
G1 Z0.2 F1200
;PRINTPHARM UNIT_END n=1
;PRINTPHARM UNIT_START n=2 of=2
M200 D1.75
G1 X10 Y10 E2
G3 X0 Y20 I-10 J0 E1
G1 X.5 Y-.25 E.1
G1 X5 Y5 E1 
G1 X6  Y5 E1
   G1 X7 Y5 E1
G4 P250

M200 D0
;PRINTPHARM UNIT_END n=2
G1 X0 Y0
"""


def _line_by_line(
    text: str, monkeypatch: pytest.MonkeyPatch, e_units: str | None = None
) -> GcodeAnalysis:
    with monkeypatch.context() as patch:
        patch.setattr(analysis, "scan", lambda text: None)
        return analyse_gcode(text, e_units)


def _same_stats(a: MoveStats, b: MoveStats) -> None:
    for field in dataclasses.fields(MoveStats):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert x == pytest.approx(y, rel=1e-12, abs=1e-12), field.name


def _same(fast: GcodeAnalysis, slow: GcodeAnalysis) -> None:
    assert (fast.e_units, fast.diameter_mm) == (slow.e_units, slow.diameter_mm)
    assert (fast.line_count, fast.command_bytes) == (slow.line_count, slow.command_bytes)
    _same_stats(fast.total, slow.total)
    assert fast.units.keys() == slow.units.keys()
    for n in fast.units:
        _same_stats(fast.units[n], slow.units[n])
    np.testing.assert_allclose(fast.printing, slow.printing, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.move_s, slow.move_s, rtol=1e-12, atol=1e-12)


def test_a_mixed_file_reads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    found = scan(MIXED)
    assert found is not None
    assert 10 <= int(found.plain.sum()) < len(found.lines)  # both paths are exercised
    fast = analyse_gcode(MIXED)
    _same(fast, _line_by_line(MIXED, monkeypatch))
    assert fast.units[2].volume_mm3 > 0 and fast.total.time_s > 0.25


@pytest.mark.parametrize("kind", ["sse", "fdm"])
@pytest.mark.parametrize("template", list(SPECS))
def test_written_plates_read_the_same_both_ways(
    template: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, machine = (SSE_PROCESS, SSE_MACHINE) if kind == "sse" else (FDM_PROCESS, FDM_MACHINE)
    spec, low, high = SPECS[template]
    fitted = fit_unit(spec, 0.5 * (low + high) * (0.5 if kind == "fdm" else 1.0), process)
    layout = layout_plate(fitted.sized.form.footprint(0.0), 3, machine.bed_x_mm, machine.bed_y_mm)
    text = write_plate(fitted.sliced, layout.offsets_mm, machine, process)
    found = scan(text)
    assert found is not None and found.plain.mean() > 0.9  # nearly every line is a plain move
    _same(analyse_gcode(text), _line_by_line(text, monkeypatch))


@pytest.mark.parametrize(
    "text",
    [
        "G1 X1 Y2 E0.5\r\nG1 X2 E1\r\n",  # Windows line ends
        "G1 X1 E0.5 ; µ\nG1 X2 E1\n",  # not ASCII
        "G1 X1-2 E1\nG1 X2 E1\n",  # a number that does not read as one
        "G1 X1 X2 E1\nG1 X2 E1\n",  # a word twice on a line
        "G1 X1 E1\nG1 X2 E1",  # no final newline
        "",
        "\n\n",
    ],
)
def test_files_the_scan_declines_still_read_the_same(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        slow = _line_by_line(text, monkeypatch, "mm3")
    except SlicingError as exc:
        with pytest.raises(SlicingError, match=re.escape(str(exc))):
            analyse_gcode(text, "mm3")
        return
    _same(analyse_gcode(text, "mm3"), slow)


def test_a_bad_feed_rate_on_a_plain_line_names_its_line() -> None:
    with pytest.raises(SlicingError, match="G-code line 3: feed rate must be positive"):
        analyse_gcode("M83\nG1 X1 E1 F600\nG1 X2 E1 F0\n", "mm3")
