"""A batch runs end to end on every printer flavour's simulator (Marlin, Klipper, RepRapFirmware).

The recipes are the shipped ones bound to another shipped printer definition, in a copy of
the catalog: the simulator reports the firmware of the definition's flavour, preflight
accepts it, the flavour's start and end code stream, and every unit is weighed. The
printer and the balance are served on pseudo-terminals (``--printer-port`` and
``--balance-port``), so the run goes through the serial link as it would on hardware.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.loader import default_data_root
from printpharm.cli import main
from printpharm.core.flavours import flavour
from printpharm.devices.sim import FAST_PTY_SPEED, Plate, PtyServer, build_balance, build_printer
from printpharm.services.run.devices import simulator_urls

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


def _servers(root: Path, recipe_id: str) -> tuple[PtyServer, PtyServer]:
    """The printer of the recipe's definition (its flavour, E axis, ink physics) and a balance
    weighing its plate, each on a pty, configured as ``run --simulate`` configures them."""
    catalog = load_catalog(root)
    recipe = catalog.recipe(recipe_id)
    printer_url, _ = simulator_urls(catalog.printer(recipe.printer), catalog.ink(recipe.ink))
    options = {
        k: v for k, v in parse_qsl(urlsplit(printer_url).query) if k not in ("plate", "fast")
    }
    plate = Plate()
    printer = PtyServer(build_printer(options, plate), speed=FAST_PTY_SPEED)
    return printer, PtyServer(build_balance({}, plate), speed=FAST_PTY_SPEED)


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
    printer_server, balance_server = _servers(root, recipe_id)
    with printer_server as p_port, balance_server as b_port:
        ports = ["--printer-port", p_port.path, "--balance-port", b_port.path]
        code = main([*argv, *ports, "--out-dir", str(out), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["status"] == "completed"
    assert result["printer"]["port"] == p_port.path  # over the serial link, not in-process
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
