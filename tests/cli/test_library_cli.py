"""``printpharm inks|recipes|printers``: listings, resolved sources, unknown ids."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from printpharm.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_recipes_list_json_has_the_planner_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "recipes", "list")
    assert isinstance(rows, list)
    by_id = {row["id"]: row for row in rows}
    cpm = by_id["cpm-chewable-disc"]
    assert cpm["ink"] == "cyclophosphamide-sse-chewable"
    assert cpm["form"] == "disc"
    assert (cpm["dose_min_mg"], cpm["dose_max_mg"]) == (5, 40)
    assert cpm["api"] == "cyclophosphamide" and cpm["printer"] == "marlin-sse"
    assert cpm["example"] is True
    assert by_id["calibration-series"]["dose_min_mg"] is None
    assert by_id["hydrocortisone-fdm-tablet"]["dose_min_mg"] == 0.5


def test_recipes_show_text_names_each_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipes", "show", "cpm-chewable-disc"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("    ")}
    assert "recipes/cpm-chewable-disc.toml" in lines["print_speed"]
    assert "6 mm/s" in lines["print_speed"]
    assert "inks/sse-paste-base.toml" in lines["layer_height"]
    assert "printer definition" in lines["travel_speed"]
    assert "dose 5–40 mg, step 0.5 mg" in out


def test_recipes_show_json_carries_the_record(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, "recipes", "show", "propranolol-ring")
    assert isinstance(payload, dict)
    layer_height = payload["resolved"]["settings"]["layer_height"]
    assert layer_height == {
        "value": 0.5,
        "unit": "mm",
        "layer": "recipe",
        "source": "recipes/propranolol-ring.toml",
    }
    assert payload["recipe"]["form"]["template"] == "ring"
    assert len(payload["resolved"]["files"]["recipes/propranolol-ring.toml"]) == 64


def test_inks_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "inks", "list")
    assert isinstance(rows, list)
    ids = [row["id"] for row in rows]
    assert "placebo-sse-calibration" in ids and "sse-paste-base" not in ids
    payload = run_json(capsys, "inks", "show", "sildenafil-sse")
    assert isinstance(payload, dict)
    assert payload["ink"]["dried_drug_load"] == {"value": 30, "unit": "mg/g"}
    assert payload["origin"]["process.print_speed"] == "inks/sse-paste-base.toml"
    assert main(["inks", "show", "sildenafil-sse"]) == 0
    assert "calibration: mass_mg = 0.95 · V_mm3 + (-1.0) over 50–900 mm3" in capsys.readouterr().out


def test_printers_list(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "printers", "list")
    assert isinstance(rows, list)
    assert {row["id"] for row in rows} == {"marlin-sse", "marlin-fdm", "klipper-sse", "reprap-fdm"}
    assert main(["printers", "list"]) == 0
    assert "marlin_sse_start.gcode" in capsys.readouterr().out


@pytest.mark.parametrize("group", ["inks", "recipes"])
def test_unknown_id_exits_2_naming_known_ids(
    group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([group, "show", "no-such-id"]) == 2
    err = capsys.readouterr().err
    assert "unknown" in err and "'no-such-id'" in err
    known = "cpm-chewable-disc" if group == "recipes" else "minoxidil-sse"
    assert known in err


def test_subprocess_with_a_broken_data_dir_exits_2(tmp_path: Path) -> None:
    for sub in ("inks", "recipes", "gcode/printers"):
        shutil.copytree(ROOT / sub, tmp_path / sub)
    path = tmp_path / "recipes" / "cpm-chewable-disc.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("min = 5, max = 40", "min = 5, max = 4000"),
        encoding="utf-8",
    )
    env = {**os.environ, "PRINTPHARM_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "recipes", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stderr.strip().splitlines()[-1])["error"]
    assert error == (
        "recipes/cpm-chewable-disc.toml: dose.range = 5–4000 mg: max 4000 mg "
        "is above the maximum of 2000 mg"
    )
