"""``printpharm plan``: files written, JSON that lets anyone recompute the volume, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from printpharm.cli import main
from printpharm.geometry.stl import load_stl
from printpharm.slicing.analysis import analyse_gcode


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_writes_gcode_and_stl_and_reports_the_volume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, stl = tmp_path / "batch.gcode", tmp_path / "unit.stl"
    code, stdout, _ = _run(
        capsys,
        "plan",
        "--recipe",
        "cpm-chewable-disc",
        "--dose-mg",
        "12.5",
        "--units",
        "3",
        "--out",
        str(out),
        "--stl",
        str(stl),
        "--json",
    )
    assert code == 0
    payload = json.loads(stdout)
    assert payload["dose_mg"] == 12.5 and payload["units"] == 3
    assert payload["ink_mass_mg"] == pytest.approx(250.0)
    ext = payload["extrusion"]
    assert ext["e_units"] == "plunger_mm" and ext["diameter_mm"] == 14.5
    text = out.read_text(encoding="ascii")
    analysis = analyse_gcode(text, ext["e_units"], ext["diameter_mm"])  # independent read-back
    target = payload["target_volume_mm3"]
    for n in (1, 2, 3):
        assert analysis.units[n].volume_mm3 == pytest.approx(target, rel=0.005)
        assert analysis.units[n].volume_mm3 == pytest.approx(
            payload["unit_volumes_mm3"][n - 1], rel=1e-6
        )
    assert payload["line_count"] == len(text.splitlines())
    assert payload["layer_height_mm"] == 0.6 and payload["line_width_mm"] == 0.9
    assert set(payload["dimensions_mm"]) == {"diameter_mm", "height_mm"}
    assert load_stl(stl).is_watertight


def test_plan_takes_the_dose_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.gcode"
    code, stdout, _ = _run(
        capsys,
        "plan",
        "--recipe",
        "propranolol-ring",
        "--rule",
        "per-kg",
        "--amount",
        "0.5",
        "--weight-kg",
        "16.3",
        "--step-mg",
        "0.5",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    payload = json.loads(stdout)
    assert payload["dose_mg"] == 8.0  # 8.15 mg rounded half-up to 0.5 mg
    assert payload["dose_calculation"]["rule"] == "per_kg"


def test_plan_text_output_names_the_e_axis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = _run(
        capsys,
        "plan",
        "--recipe",
        "hydrocortisone-fdm-tablet",
        "--dose-mg",
        "5",
        "--out",
        str(tmp_path / "b.gcode"),
    )
    assert code == 0
    assert "E axis: filament_mm, diameter 1.75 mm" in stdout


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--dose-mg", "45"], "outside the validated range 5–40 mg"),
        (["--dose-mg", "10.2"], "not a multiple of the 0.5 mg dose step"),
        ([], "give the dose either with --dose-mg or with the --rule options"),
        (["--dose-mg", "10", "--rule", "fixed", "--amount", "10"], "give the dose either"),
        (["--dose-mg", "10", "--units", "0"], "--units 0 must be at least 1"),
        (["--dose-mg", "40", "--units", "500"], "do not fit"),
        (["--dose-mg", "10", "--printer", "marlin-fdm"], "validated on printer marlin-sse"),
    ],
)
def test_refusals_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "b.gcode"
    code, _, stderr = _run(
        capsys, "plan", "--recipe", "cpm-chewable-disc", "--out", str(out), *extra
    )
    assert code == 2
    assert needle in stderr
    assert not out.exists()


def test_unknown_recipe_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = _run(
        capsys,
        "plan",
        "--recipe",
        "nope",
        "--dose-mg",
        "5",
        "--out",
        str(tmp_path / "b.gcode"),
        "--json",
    )
    assert code == 2
    assert "unknown recipe id 'nope'" in json.loads(stderr)["error"]
