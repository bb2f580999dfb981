"""schema_version migrators for ink, recipe and printer files.

A file written for an older schema is upgraded on load, one version at a time,
by functions registered with :meth:`MigrationRegistry.register`; the upgraded
data is then validated against the current models. Version 1 is the first and
current schema, so :data:`MIGRATIONS` is empty today; the mechanism is tested
with a synthetic v0 → v1 migrator.

Example
-------
::

    @MIGRATIONS.register(from_version=1)
    def _rename_speed(data: dict[str, Any]) -> dict[str, Any]:
        process = dict(data.get("process", {}))
        if "speed" in process:
            process["print_speed"] = process.pop("speed")
        return {**data, "process": process}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from printpharm.catalog._models import CURRENT_SCHEMA_VERSION
from printpharm.errors import CatalogError

__all__ = ["MIGRATIONS", "MigrationRegistry", "Migrator"]

#: A migrator takes the data of a file at version N and returns it at version N + 1.
Migrator = Callable[[dict[str, Any]], dict[str, Any]]


class MigrationRegistry:
    """Migrators keyed by the version they upgrade from.

    Parameters
    ----------
    current
        The schema version the models read; data is migrated up to it.
    """

    def __init__(self, current: int = CURRENT_SCHEMA_VERSION) -> None:
        self.current = current
        self._migrators: dict[int, Migrator] = {}

    def register(self, from_version: int) -> Callable[[Migrator], Migrator]:
        """Decorator registering the migrator from ``from_version`` to ``from_version + 1``.

        Raises
        ------
        ValueError
            If a migrator for that version exists or the version is not below ``current``.
        """

        def decorate(func: Migrator) -> Migrator:
            if from_version in self._migrators:
                raise ValueError(f"a migrator from schema_version {from_version} exists")
            if from_version >= self.current:
                raise ValueError(
                    f"cannot migrate from {from_version}: the current version is {self.current}"
                )
            self._migrators[from_version] = func
            return func

        return decorate

    def migrate(self, data: dict[str, Any], *, file: str) -> dict[str, Any]:
        """Return ``data`` upgraded to the current schema version.

        Parameters
        ----------
        data
            The parsed file (not modified).
        file
            The file's name for error messages, e.g. ``"inks/x.toml"``.

        Raises
        ------
        CatalogError
            If ``schema_version`` is missing, not an integer, newer than this
            program, or older with no migrator for some step.
        """
        version = data.get("schema_version")
        if "schema_version" not in data:
            raise CatalogError(
                f"{file}: schema_version is missing (this program reads {self.current})"
            )
        if isinstance(version, bool) or not isinstance(version, int):
            raise CatalogError(f"{file}: schema_version = {version!r} is not an integer")
        if version > self.current:
            raise CatalogError(
                f"{file}: schema_version = {version} is newer than this program reads "
                f"({self.current}); update printpharm"
            )
        while version < self.current:
            migrator = self._migrators.get(version)
            if migrator is None:
                raise CatalogError(
                    f"{file}: schema_version = {version} cannot be read: no migration from "
                    f"{version} to {version + 1} (this program reads {self.current})"
                )
            data = {**migrator(dict(data)), "schema_version": version + 1}
            version += 1
        return data


#: The registry the loader uses.
MIGRATIONS = MigrationRegistry()
