"""G-code writers: flavours, unit markers and weigh points, line limits, templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from printpharm.core.flavours import FLAVOURS as FLAVOUR_REGISTRY
from printpharm.errors import SlicingError
from printpharm.geometry.tablet import Disc
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.gcode import TEMPLATE_DIR, fill_template, write_plate
from printpharm.slicing.settings import Extrusion, MachineSettings, ProcessSettings
from printpharm.slicing.toolpaths import SlicedUnit, slice_form

from .conftest import FDM_PROCESS, SSE_PROCESS

FLAVOURS = list(FLAVOUR_REGISTRY)  # every flavour of the registry


def _unit(process: ProcessSettings = SSE_PROCESS) -> SlicedUnit:
    return slice_form(Disc(9.0, process.layering.height_of(10)), process)


def _machine(flavour: str, e_units: str = "plunger_mm", relative: bool = True) -> MachineSettings:
    ext = Extrusion(e_units, 4.78, relative=relative)  # type: ignore[arg-type]
    return MachineSettings(flavour, ext, nozzle_temp_c=30, bed_temp_c=25)  # type: ignore[arg-type]


def _host_framed(n: int, line: str) -> str:
    """What a host sends: "N<n> <command>*<checksum>" with the comment stripped."""
    command = line.split(";", 1)[0].rstrip()
    framed = f"N{n} {command}"
    checksum = 0
    for ch in framed.encode("ascii"):
        checksum ^= ch
    return f"{framed}*{checksum}"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_lines_fit_marlins_buffer_with_line_numbers_and_checksums(flavour: str) -> None:
    offsets = [(20.0 + 15 * i, 20.0 + 15 * j) for i in range(10) for j in range(10)]
    text = write_plate(_unit(), offsets, _machine(flavour), SSE_PROCESS, 123.456789, 12.3456)
    lines = text.splitlines()
    assert text.isascii()
    assert max(len(line) for line in lines) <= 80
    # a long print: line numbers reach 6 digits; 96 characters include N and *cs
    assert max(len(_host_framed(999_999, line)) for line in lines) <= 96


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_unit_is_delimited_and_followed_by_a_weigh_point(flavour: str) -> None:
    offsets = [(30.0, 30.0), (50.0, 30.0), (70.0, 30.0)]
    text = write_plate(_unit(), offsets, _machine(flavour), SSE_PROCESS, 100.0, 5.5)
    markers = [ln for ln in text.splitlines() if ln.startswith(";PRINTPHARM ")]
    units = [m for m in markers if "UNIT_" in m or "WEIGH" in m]
    expected = []
    for n in (1, 2, 3):
        expected += [
            f";PRINTPHARM UNIT_START n={n} of=3 target_mm3=100.0000 target_mg=5.5000",
            f";PRINTPHARM UNIT_END n={n}",
            f";PRINTPHARM WEIGH n={n}",
        ]
    assert units == expected
    for n in (1, 2, 3):
        block = text.split(f";PRINTPHARM UNIT_END n={n}\n", 1)[1].split(f";PRINTPHARM WEIGH n={n}")[
            0
        ]
        assert block.splitlines()[-1] == "M400"  # moves finished before the host weighs
        assert re.match(r"G0 Z\d", block.splitlines()[0])  # lifted off the unit


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_start_and_end_code_come_from_the_flavour_templates(flavour: str) -> None:
    text = write_plate(_unit(), [(40.0, 40.0)], _machine(flavour), SSE_PROCESS)
    assert "{" not in text and "}" not in text
    assert "M109 S30" in text and "M190 S25" in text
    assert text.splitlines()[-1].startswith("M84")


@pytest.mark.parametrize(
    ("e_units", "relative"),
    [("plunger_mm", True), ("plunger_mm", False), ("filament_mm", False), ("mm3", True)],
)
def test_e_axis_meanings_give_the_same_volume(e_units: str, relative: bool) -> None:
    unit = _unit(FDM_PROCESS)
    machine = _machine("marlin_fdm", e_units, relative)
    text = write_plate(unit, [(40.0, 40.0), (60.0, 40.0)], machine, FDM_PROCESS)
    analysis = analyse_gcode(text)
    assert analysis.e_units == e_units
    for n in (1, 2):
        assert analysis.units[n].volume_mm3 == pytest.approx(unit.volume_mm3, rel=2e-4)
        assert analysis.units[n].retract_net_mm3 == pytest.approx(0.0, abs=1e-6)
    if e_units == "mm3":
        assert "M200 D4.78" in text


def test_klipper_has_no_volumetric_mode() -> None:
    with pytest.raises(SlicingError, match="Klipper has no volumetric"):
        _machine("klipper", "mm3")


def test_templates_substitute_names_only() -> None:
    assert fill_template("M104 S{t}\n", {"t": "200"}) == ["M104 S200"]
    with pytest.raises(SlicingError, match=r"placeholder \{bed\} has no value"):
        fill_template("M140 S{bed}", {})
    # no evaluation: an expression is not a placeholder and stays as text
    assert fill_template("; {1+1}", {}) == ["; {1+1}"]
    with pytest.raises(SlicingError, match="not ASCII"):
        fill_template("; température", {})


def test_every_flavour_has_both_templates() -> None:
    for flavour in FLAVOURS:
        for part in ("start", "end"):
            path = TEMPLATE_DIR / f"{flavour}_{part}.gcode"
            assert path.read_text(encoding="ascii").strip()


def test_missing_template_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SlicingError, match="cannot be read"):
        write_plate(
            _unit(), [(40.0, 40.0)], _machine("marlin_sse"), SSE_PROCESS, template_dir=tmp_path
        )


def test_unit_taller_than_the_printer_is_refused() -> None:
    low = MachineSettings("marlin_sse", Extrusion("plunger_mm", 4.78), max_z_mm=5.0)
    with pytest.raises(SlicingError, match="max_z_mm=5.0"):
        write_plate(_unit(), [(40.0, 40.0)], low, SSE_PROCESS)


def test_an_empty_plate_is_refused() -> None:
    with pytest.raises(SlicingError, match="at least one unit"):
        write_plate(_unit(), [], _machine("marlin_sse"), SSE_PROCESS)


def test_the_writer_refuses_a_line_it_cannot_keep_short() -> None:
    with pytest.raises(SlicingError, match="longer than 80"):
        write_plate(
            _unit(),
            [(40.0, 40.0)],
            _machine("marlin_sse"),
            SSE_PROCESS,
            target_volume_mm3=1e40,
            target_mg=1e40,
        )


@pytest.mark.parametrize("relative", [True, False])
def test_a_series_of_different_units_reads_back_unit_by_unit(relative: bool) -> None:
    from printpharm.slicing.gcode import write_series

    small = _unit()
    tall = slice_form(Disc(12.0, SSE_PROCESS.layering.height_of(14)), SSE_PROCESS)
    machine = _machine("marlin_sse", "plunger_mm", relative)
    units = [(small, small.volume_mm3, 10.0), (tall, tall.volume_mm3, 20.0), (small, 1.0, 10.0)]
    offsets = [(30.0, 30.0), (50.0, 30.0), (70.0, 30.0)]
    text = write_series(units, offsets, machine, SSE_PROCESS)
    analysis = analyse_gcode(text)
    expected = (small.volume_mm3, tall.volume_mm3, small.volume_mm3)
    for n, volume in enumerate(expected, start=1):
        assert analysis.units[n].volume_mm3 == pytest.approx(volume, rel=2e-4)
    assert (
        f";PRINTPHARM UNIT_START n=2 of=3 target_mm3={tall.volume_mm3:.4f} target_mg=20.0000"
        in (text)
    )
    # every lift clears the tallest unit (the head travels over all of them to park)
    safe = f"G0 Z{tall.layers[-1].z_mm + machine.park_lift_mm:.3f} "
    assert text.count(safe) == 1 + 3
    with pytest.raises(SlicingError, match="3 units for 2 places"):
        write_series(units, offsets[:2], machine, SSE_PROCESS)
