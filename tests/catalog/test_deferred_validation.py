"""Validators are built when first used, and without pydantic's plugin lookup while it is off.

Each case that depends on what a fresh interpreter imports runs in a subprocess: the
replacement of pydantic's plugin lookup (printpharm.catalog._plugins) happens once, when
the catalog is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, os, sys
from pathlib import Path
from printpharm.catalog import load_catalog
from printpharm.errors import CatalogError
{before}
catalog = load_catalog(recipe="propranolol-ring")
ink = catalog.ink(catalog.recipe("propranolol-ring").ink)
try:
    load_catalog(Path(sys.argv[1]), recipe="propranolol-ring")
    refused = ""
except CatalogError as exc:
    refused = str(exc)
lookup = sys.modules.get("pydantic.plugin._loader")
sys.stderr.write("\\nPROBE " + json.dumps({{
    "drug_load": str(ink.drug_load),
    "refused": refused,
    "metadata": "importlib.metadata" in sys.modules,
    "real_lookup": hasattr(lookup, "entry_points"),
}}))
"""


def _probe(data_root: Path, plugins: str | None, before: str = "") -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if plugins is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = plugins
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(before=before), str(data_root)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stderr.rsplit("\nPROBE ", 1)[1])
    return found


def _broken(data_root: Path) -> Path:
    from tests.catalog.conftest import edit

    edit(data_root, "recipes/propranolol-ring.toml", "min = 2, max = 20", "min = -2, max = 20")
    return data_root


def test_plugins_off_validates_alike_without_importing_the_lookup(data_root: Path) -> None:
    root = _broken(data_root)
    off, on = _probe(root, "__all__"), _probe(root, None)
    assert off["metadata"] is False and off["real_lookup"] is False
    assert on["real_lookup"] is True  # plugins on: pydantic's own lookup, untouched
    assert off["drug_load"] == on["drug_load"] and off["drug_load"]
    assert off["refused"] == on["refused"]
    assert "propranolol-ring.toml: dose.range" in str(off["refused"])


def test_plugins_turned_on_later_are_looked_up(data_root: Path) -> None:
    """The variable read when a validator is built decides, as in pydantic itself."""
    turn_on = "del os.environ['PYDANTIC_DISABLE_PLUGINS']"
    later = _probe(_broken(data_root), "__all__", before=turn_on)
    assert later["real_lookup"] is True
    assert "propranolol-ring.toml: dose.range" in str(later["refused"])


def test_defaults_made_without_validation_pass_validation() -> None:
    """Defaults are built with ``model_construct`` (no validator at import): still valid."""
    from printpharm.catalog._models import ProcessLayer, Variability
    from printpharm.catalog._recipes import ControlSettings, FormBounds
    from printpharm.catalog.stack import PROCESS_DEFAULTS

    for model in (ProcessLayer, Variability, ControlSettings, FormBounds):
        default = model()
        assert model.model_validate(default.model_dump()) == default
    written = PROCESS_DEFAULTS.model_dump(exclude_unset=True)
    assert ProcessLayer.model_validate(written) == PROCESS_DEFAULTS
