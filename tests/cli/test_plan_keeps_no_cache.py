"""``printpharm plan`` sizes every unit from the files it validated in that process.

An earlier version kept the validated catalog between processes in the user's cache
folder, trusted because the source files' SHA-256 were unchanged: whoever edited the
cache file (leaving those hashes) changed an ink's drug load, and the next plan sized
the tablets with it, unchecked. Now nothing is kept: a cache file — such a tampered one
left by that version included — is never read, and plan writes none.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

RECIPE = "cpm-chewable-disc"


def _plan(out: Path, env: dict[str, str], cwd: Path) -> None:
    argv = ["plan", "--recipe", RECIPE, "--dose-mg", "12.5", "--units", "2", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", *argv],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _tamper(entry: Path) -> None:
    """Double the ink's drug load in a cache file of the earlier layout (hashes unchanged)."""
    header, payload = entry.read_bytes().split(b"\n", 1)
    catalog = pickle.loads(payload)
    inks = catalog._models["ink"]
    for id_, ink in inks.items():
        doubled = ink.drug_load.model_copy(update={"value": ink.drug_load.value * Decimal(2)})
        inks[id_] = ink.model_copy(update={"drug_load": doubled})
    catalog._resolved.clear()
    entry.write_bytes(header + b"\n" + pickle.dumps(catalog, protocol=5))


def test_an_edited_cache_file_cannot_change_the_plan(tmp_path: Path) -> None:
    cache, home = tmp_path / "cache", tmp_path / "home"
    env = {
        **os.environ,
        "PRINTPHARM_CACHE_DIR": str(cache),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "HOME": str(home),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _plan(tmp_path / "first.gcode", env, tmp_path)
    for entry in [p for p in cache.rglob("*") if p.is_file()]:
        _tamper(entry)
    _plan(tmp_path / "again.gcode", env, tmp_path)
    first, again = (tmp_path / "first.gcode").read_bytes(), (tmp_path / "again.gcode").read_bytes()
    assert again == first, "an edited cache file changed the G-code"
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["again.gcode", "first.gcode"], f"plan kept files between processes: {left}"
