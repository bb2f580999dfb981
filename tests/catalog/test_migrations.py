"""schema_version migration mechanism, tested with a synthetic v0 → v1 migrator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import load_catalog
from printpharm.catalog.migrations import MIGRATIONS, MigrationRegistry
from printpharm.errors import CatalogError
from tests.catalog.conftest import edit


def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Synthetic v0 spelled the print speed ``speed`` inside [process]."""
    process = dict(data.get("process", {}))
    if "speed" in process:
        process["print_speed"] = process.pop("speed")
    return {**data, "process": process}


def test_current_registry_needs_no_migration() -> None:
    assert MIGRATIONS.current == 1
    data = {"schema_version": 1, "id": "x"}
    assert MIGRATIONS.migrate(data, file="x.toml") == data


def test_v0_file_is_migrated_then_validated(data_root: Path) -> None:
    rel = "recipes/cpm-chewable-disc.toml"
    edit(data_root, rel, "schema_version = 1", "schema_version = 0")
    edit(data_root, rel, "print_speed =", "speed =")
    registry = MigrationRegistry(current=1)
    registry.register(from_version=0)(_v0_to_v1)
    catalog = load_catalog(data_root, registry=registry)
    assert catalog.recipe("cpm-chewable-disc").schema_version == 1
    assert catalog.resolve("cpm-chewable-disc").process.print_speed.value == 6
    with pytest.raises(CatalogError, match="no migration from 0 to 1"):
        load_catalog(data_root)  # the shipped registry has no v0 migrator


def test_chained_migrations_run_in_order() -> None:
    registry = MigrationRegistry(current=3)
    registry.register(0)(lambda d: {**d, "trail": [*d.get("trail", []), "0→1"]})
    registry.register(1)(lambda d: {**d, "trail": [*d["trail"], "1→2"]})
    registry.register(2)(lambda d: {**d, "trail": [*d["trail"], "2→3"]})
    out = registry.migrate({"schema_version": 0}, file="f.toml")
    assert out == {"schema_version": 3, "trail": ["0→1", "1→2", "2→3"]}


def test_registering_twice_or_at_current_is_refused() -> None:
    registry = MigrationRegistry(current=1)
    registry.register(0)(_v0_to_v1)
    with pytest.raises(ValueError, match="exists"):
        registry.register(0)(_v0_to_v1)
    with pytest.raises(ValueError, match="current version is 1"):
        registry.register(1)(_v0_to_v1)


def test_migrator_does_not_mutate_the_input() -> None:
    registry = MigrationRegistry(current=1)
    registry.register(0)(_v0_to_v1)
    data = {"schema_version": 0, "process": {"speed": 1}}
    registry.migrate(data, file="f.toml")
    assert data == {"schema_version": 0, "process": {"speed": 1}}
