"""Light commands import only what they use (the whole-process start-up budget).

Each command runs in a fresh interpreter, exactly as ``printpharm ...`` would, and
the modules it left in ``sys.modules`` are checked: trimesh and SciPy cost about
a second to import, reportlab, SQLAlchemy and PySide6 a few hundred milliseconds,
and none of them is needed to print the version, the help, a BSA, a dose, a QC
verdict or a plan's G-code. (Timings are printed by
``tests/benchmarks/bench_startup.py``; they are never asserted here.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Never imported by a light command.
HEAVY = ("trimesh", "scipy", "reportlab", "sqlalchemy", "PySide6", "alembic", "serial", "stl")
#: Not needed either by the commands that do only exact decimal arithmetic.
ARITHMETIC_ONLY = ("numpy", "shapely", "pydantic", "networkx")

_MASSES = ["250.0"] * 20
COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "version": (["--version"], HEAVY + ARITHMETIC_ONLY),
    "help": (["--help"], HEAVY + ARITHMETIC_ONLY),
    "bsa": (["bsa", "--weight-kg", "20", "--height-cm", "110"], HEAVY + ARITHMETIC_ONLY),
    "dose": (
        ["dose", "--rule", "per-m2", "--amount", "100", "--weight-kg", "20", "--height-cm", "110"],
        HEAVY + ARITHMETIC_ONLY,
    ),
    "qc mass": (["qc", "mass", "--mass-mg", *_MASSES], HEAVY + ARITHMETIC_ONLY),
    "qc av": (["qc", "av", "--content-pct", *["100"] * 10], HEAVY + ARITHMETIC_ONLY),
    "plan": (["plan", "--recipe", "cpm-chewable-disc", "--dose-mg", "12.5", "--units", "2"], HEAVY),
    # reading the catalog validates files (pydantic) but computes no geometry or fit
    "recipes list": (["recipes", "list"], (*HEAVY, "numpy", "shapely")),
    "inks show": (["inks", "show", "cyclophosphamide-sse-chewable"], (*HEAVY, "numpy", "shapely")),
}

_PROBE = (
    "import json, sys\n"
    "from printpharm.launch import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "sys.stderr.write('\\nMODULES ' + json.dumps([code, sorted(sys.modules)]) + '\\n')\n"
)


def _modules(argv: list[str], cwd: Path) -> tuple[int, set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    marker = proc.stderr.rsplit("\nMODULES ", 1)
    assert len(marker) == 2, proc.stderr
    code, modules = json.loads(marker[1])
    return code, set(modules), proc.stdout


def _imported(argv: list[str], cwd: Path) -> tuple[int, set[str], str]:
    code, modules, stdout = _modules(argv, cwd)
    return code, {m.split(".", 1)[0] for m in modules}, stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_light_command_does_not_import_heavy_libraries(name: str, tmp_path: Path) -> None:
    argv, forbidden = COMMANDS[name]
    if argv[0] == "plan":
        argv = [*argv, "--out", str(tmp_path / "plate.gcode")]
    code, top_level, stdout = _imported(argv, tmp_path)
    assert code == 0, stdout
    assert stdout.strip(), "the command printed nothing"
    loaded = sorted(m for m in forbidden if m in top_level)
    assert not loaded, f"printpharm {' '.join(argv[:2])} imported {loaded}"


#: Not imported by ``plan`` either: a cache folder's (``platformdirs``: plan keeps nothing
#: between processes, tests/cli/test_plan_keeps_no_cache.py), the parser of a plate's
#: G-code into units (a run's, not a plan's) and, for a dose given with ``--dose-mg``, the
#: dose engine (BSA, rules, bands, the dose report: ~5 ms of a plan's start).
PLAN_ABSENT = (
    "platformdirs",
    "printpharm.services.run.program",
    "printpharm.core.dosing",
    "printpharm.core.prescription",
    "printpharm.core.dose_report",
)


def test_plan_imports_no_cache_folder_plate_parser_or_dose_engine(tmp_path: Path) -> None:
    argv = [*COMMANDS["plan"][0], "--out", str(tmp_path / "plate.gcode")]
    code, modules, stdout = _modules(argv, tmp_path)
    assert code == 0, stdout
    assert "pydantic" in modules  # it validated the recipe's files
    assert not [m for m in PLAN_ABSENT if m in modules]


def test_plan_with_stl_still_writes_the_mesh(tmp_path: Path) -> None:
    """The mesh libraries are deferred, not lost: ``--stl`` imports them when asked."""
    argv = [
        *COMMANDS["plan"][0],
        "--out",
        str(tmp_path / "p.gcode"),
        "--stl",
        str(tmp_path / "u.stl"),
    ]
    code, top_level, stdout = _imported(argv, tmp_path)
    assert code == 0, stdout
    assert "trimesh" in top_level and (tmp_path / "u.stl").stat().st_size > 84


@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("2", "2")])
def test_numpy_starts_one_blas_thread_unless_told_otherwise(
    preset: str | None, expected: str, tmp_path: Path
) -> None:
    """OpenBLAS starts a thread per core as NumPy loads: ~20-40 ms of every start for nothing."""
    probe = (
        "import os, sys\n"
        "from printpharm.launch import main\n"
        "main(['--version'])\n"
        "print('BLAS', os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert f"BLAS {expected}" in proc.stdout.splitlines(), proc.stdout + proc.stderr
