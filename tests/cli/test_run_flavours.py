"""A batch runs end to end on every printer flavour's simulator (Marlin, Klipper, RepRapFirmware).

The recipes are the shipped ones bound to another shipped printer definition, in a copy of
the catalog: the simulator reports the firmware of the definition's flavour, preflight
accepts it, the flavour's start and end code stream, and every unit is weighed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.loader import default_data_root
from printpharm.cli import main
from printpharm.core.flavours import flavour

# (shipped recipe, printer definition of the flavour, fixed dose mg)
CASES = [
    ("cpm-chewable-disc", "marlin-sse", "10"),
    ("cpm-chewable-disc", "klipper-sse", "10"),
    ("hydrocortisone-fdm-tablet", "marlin-fdm", "1"),
    ("hydrocortisone-fdm-tablet", "reprap-fdm", "1"),
]


def _catalog_with(tmp_path: Path, recipe: str, printer: str) -> tuple[Path, str]:
    root = tmp_path / "data"
    for folder in ("inks", "recipes", "gcode"):
        shutil.copytree(default_data_root() / folder, root / folder)
    new_id = f"{recipe}-on-{printer}"
    text = (root / "recipes" / f"{recipe}.toml").read_text(encoding="utf-8")
    lines = [
        f'id = "{new_id}"'
        if line.startswith("id = ")
        else f'printer = "{printer}"'
        if line.startswith("printer = ")
        else line
        for line in text.splitlines()
    ]
    (root / "recipes" / f"{new_id}.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root, new_id


@pytest.mark.parametrize(("recipe", "printer", "dose"), CASES)
def test_a_batch_completes_on_each_flavour(
    recipe: str,
    printer: str,
    dose: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, recipe_id = _catalog_with(tmp_path, recipe, printer)
    monkeypatch.setenv("PRINTPHARM_DATA_DIR", str(root))
    out = tmp_path / "out"
    argv = ["run", "--recipe", recipe_id, "--rule", "fixed", "--amount", dose, "--units", "2"]
    assert main([*argv, "--out-dir", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "completed"
    assert [u["verdict"] for u in result["units"]] == ["pass", "pass"]
    expected = flavour(load_catalog(root).printer(printer).flavour)
    assert result["printer"]["firmware"].startswith(expected.simulator_firmware)
    assert expected.firmware_family in result["printer"]["firmware"].lower().replace(" ", "")
    assert next(c for c in result["preflight"] if c["name"] == "firmware")["passed"] is True
    log = next(out.glob("*.printer.log")).read_text(encoding="utf-8", errors="replace")
    assert f"FIRMWARE_NAME:{expected.simulator_firmware}" in log
    streamed = next(out.glob("*.gcode")).read_text(encoding="utf-8")
    start = (root / "gcode" / "templates" / expected.start_template).read_text(encoding="utf-8")
    assert start.splitlines()[0].split("(")[0] in streamed  # the flavour's own start code
