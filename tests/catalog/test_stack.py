"""Resolution order (override → recipe → ink → printer → defaults) and value sources."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.stack import DEFAULTS_SOURCE, LAYERS, PROCESS_DEFAULTS
from printpharm.errors import DesignSpaceError, InputError
from tests.catalog.conftest import edit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ROOT)


def where(catalog: Catalog, recipe_id: str, name: str, **kw: Any) -> tuple[str, str]:
    setting = catalog.resolve(recipe_id, **kw).source_of(name)
    return setting.layer, setting.source


def test_layers_are_in_the_documented_order() -> None:
    assert LAYERS == ("batch override", "recipe", "ink", "printer definition", "defaults")


def test_each_layer_supplies_what_the_higher_ones_leave_open(catalog: Catalog) -> None:
    cpm = "cpm-chewable-disc"
    assert where(catalog, cpm, "print_speed") == ("recipe", "recipes/cpm-chewable-disc.toml")
    assert where(catalog, cpm, "nozzle_temperature") == (
        "ink",
        "inks/cyclophosphamide-sse-chewable.toml",
    )
    # inherited by the ink from its abstract base: ink layer, base file
    assert where(catalog, cpm, "layer_height") == ("ink", "inks/sse-paste-base.toml")
    assert where(catalog, cpm, "travel_speed") == (
        "printer definition",
        "gcode/printers/marlin-sse.toml",
    )
    hc = "hydrocortisone-fdm-tablet"
    assert where(catalog, hc, "prime_length") == ("defaults", DEFAULTS_SOURCE)
    assert catalog.resolve(hc).process.prime_length == PROCESS_DEFAULTS.prime_length


def test_recipe_beats_ink(catalog: Catalog) -> None:
    resolved = catalog.resolve("propranolol-ring")
    assert resolved.process.layer_height.value == Decimal("0.5")
    ink_value = catalog.ink("propranolol-sse-chewable").process.layer_height
    assert ink_value is not None and ink_value.value == Decimal("0.6")
    assert where(catalog, "propranolol-ring", "layer_height") == (
        "recipe",
        "recipes/propranolol-ring.toml",
    )


def test_override_beats_everything(catalog: Catalog) -> None:
    override = {"print_speed": {"value": Decimal("7"), "unit": "mm/s"}}
    resolved = catalog.resolve("cpm-chewable-disc", overrides=override)
    assert resolved.process.print_speed.value == Decimal("7")
    assert where(catalog, "cpm-chewable-disc", "print_speed", overrides=override) == (
        "batch override",
        "batch override",
    )
    # the other values are untouched
    assert resolved.source_of("layer_height").layer == "ink"


def test_override_is_checked_against_the_schema(catalog: Catalog) -> None:
    with pytest.raises(InputError) as info:
        catalog.resolve("cpm-chewable-disc", {"layer_height": {"value": 5, "unit": "mm"}})
    assert str(info.value) == ("batch override: layer_height = 5 mm is above the maximum of 2.0 mm")
    with pytest.raises(InputError, match="speed is not a known key"):
        catalog.resolve("cpm-chewable-disc", {"speed": {"value": 5, "unit": "mm/s"}})


def test_override_outside_the_validated_window_is_a_design_space_error(catalog: Catalog) -> None:
    too_hot = {"nozzle_temperature": {"value": 44, "unit": "°C"}}
    with pytest.raises(DesignSpaceError) as info:
        catalog.resolve("cpm-chewable-disc", too_hot)
    assert str(info.value) == (
        "recipe cpm-chewable-disc: nozzle_temperature = 44 °C (from batch override) "
        "is outside the validated window 37–43 °C"
    )


def test_record_is_plain_and_serialisable(catalog: Catalog) -> None:
    record = catalog.resolve("cpm-chewable-disc").to_record()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                assert isinstance(key, str)
                walk(sub)
        else:
            assert value is None or type(value) in (str, Decimal, int), value

    walk(record)
    assert record["settings"]["layer_height"] == {
        "value": Decimal("0.6"),
        "unit": "mm",
        "layer": "ink",
        "source": "inks/sse-paste-base.toml",
    }
    assert set(record["files"]) == {
        "recipes/cpm-chewable-disc.toml",
        "inks/cyclophosphamide-sse-chewable.toml",
        "inks/sse-paste-base.toml",
        "gcode/printers/marlin-sse.toml",
    }
    json.dumps(record, default=str)


def test_resolved_settings_are_frozen(catalog: Catalog) -> None:
    resolved = catalog.resolve("cpm-chewable-disc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.recipe_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        resolved.settings["x"] = resolved.settings["z_hop"]  # type: ignore[index]


def test_printer_and_recipe_inheritance_keep_the_parent_file(data_root: Path) -> None:
    edit(
        data_root,
        "recipes/sildenafil-caplet.toml",
        'printer = "marlin-sse"',
        'printer = "klipper-sse"',
    )
    (data_root / "recipes" / "sse-slow-base.toml").write_text(
        'schema_version = 1\nid = "sse-slow-base"\nabstract = true\nname = "slow"\n'
        '[process]\nfirst_layer_speed = { value = 3, unit = "mm/s" }\n',
        encoding="utf-8",
    )
    edit(
        data_root,
        "recipes/sildenafil-caplet.toml",
        'id = "sildenafil-caplet"',
        'id = "sildenafil-caplet"\ninherits = "sse-slow-base"',
    )
    catalog = load_catalog(data_root)
    resolved = catalog.resolve("sildenafil-caplet")
    assert resolved.source_of("travel_speed").source == "gcode/printers/marlin-sse.toml"
    assert resolved.source_of("first_layer_speed").source == "recipes/sse-slow-base.toml"
    assert resolved.source_of("first_layer_speed").layer == "recipe"
    assert resolved.process.first_layer_speed.value == 3
    assert "recipes/sse-slow-base.toml" in resolved.files
    assert "gcode/printers/marlin-sse.toml" in resolved.files
    assert catalog.printer("klipper-sse").flavour == "klipper"
    assert catalog.printer("klipper-sse").bed_x.value == 200
