"""The recipe and ink library: versions that move draft → validated → locked → retired.

A version's content (canonical JSON) and its SHA-256 are written once and never
change; only the status moves forward (the database refuses anything else, see
migration 0004). Editing creates a new version; nothing is ever deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from printpharm.errors import InputError, RecordError
from printpharm.storage.canonical import canonical_json, sha256_hex
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.tables import Ink, InkVersion, Recipe, RecipeVersion

__all__ = [
    "LIBRARY_KINDS",
    "VERSION_STATUSES",
    "LibraryKind",
    "LibraryRepository",
    "LibraryVersion",
    "library",
]

LibraryKind = Literal["recipe", "ink"]
#: The kinds of library item.
LIBRARY_KINDS: tuple[LibraryKind, ...] = ("recipe", "ink")

#: Allowed status moves of a version.
VERSION_STATUSES: dict[str, frozenset[str]] = {
    "draft": frozenset({"validated", "retired"}),
    "validated": frozenset({"locked", "retired"}),
    "locked": frozenset({"retired"}),
    "retired": frozenset(),
}


_VersionRow = RecipeVersion | InkVersion


@dataclass(frozen=True)
class LibraryVersion:
    """One stored version of a recipe or ink (content decoded; Decimals stay strings)."""

    kind: LibraryKind
    item_id: str
    version: int
    status: str
    content: dict[str, Any]
    content_sha256: str
    created_by: str
    created_at: datetime

    @property
    def label(self) -> str:
        """``<id> v<version>``, as printed on batch records."""
        return f"{self.item_id} v{self.version}"

    @property
    def record_id(self) -> str:
        """The id signatures and audit events use: ``<id>@v<version>``."""
        return f"{self.item_id}@v{self.version}"

    def intact(self) -> bool:
        """Whether the stored content still hashes to the stored SHA-256."""
        return sha256_hex(canonical_json(self.content)) == self.content_sha256


def _table(kind: str) -> type[_VersionRow]:
    if kind == "recipe":
        return RecipeVersion
    if kind == "ink":
        return InkVersion
    raise InputError(f"library kind {kind!r} is not one of {list(LIBRARY_KINDS)}")


def _item_column(kind: str) -> Any:
    return RecipeVersion.recipe_id if kind == "recipe" else InkVersion.ink_id


def _to_version(kind: LibraryKind, row: _VersionRow) -> LibraryVersion:
    item = row.recipe_id if isinstance(row, RecipeVersion) else row.ink_id
    return LibraryVersion(
        kind,
        item,
        row.version,
        row.status,
        json.loads(row.content_json),
        row.content_sha256,
        row.created_by,
        row.created_at,
    )


class LibraryRepository:
    """Versions of recipes and inks inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def ensure_item(
        self,
        kind: LibraryKind,
        item_id: str,
        name: str,
        at: datetime,
        *,
        drug_load_mg_per_g: Decimal | None = None,
        density_g_per_ml: Decimal | None = None,
        api: str | None = None,
    ) -> None:
        """Create the recipe or ink row the versions hang on, if it is missing."""
        if kind == "recipe":
            if self._s.get(Recipe, item_id) is None:
                self._s.add(Recipe(recipe_id=item_id, name=name, created_at=at))
        elif self._s.get(Ink, item_id) is None:
            if drug_load_mg_per_g is None or density_g_per_ml is None:
                raise InputError(f"ink {item_id}: drug load and density are needed to register it")
            self._s.add(
                Ink(
                    ink_id=item_id,
                    name=name,
                    api=api,
                    drug_load_mg_per_g=drug_load_mg_per_g,
                    density_g_per_ml=density_g_per_ml,
                    created_at=at,
                )
            )
        self._s.flush()

    def add_version(
        self,
        kind: LibraryKind,
        item_id: str,
        content: dict[str, Any],
        created_by: str,
        at: datetime,
    ) -> LibraryVersion:
        """Store ``content`` as the next version (status ``draft``) and return it.

        Raises
        ------
        AuditError
            The content holds a float or a value without a canonical JSON form.
        """
        table = _table(kind)
        column = _item_column(kind)
        last = self._s.scalar(select(func.max(table.version)).where(column == item_id)) or 0
        text = canonical_json(content)
        values: dict[str, Any] = {
            "recipe_id" if kind == "recipe" else "ink_id": item_id,
            "version": last + 1,
            "status": "draft",
            "content_json": text,
            "content_sha256": sha256_hex(text),
            "created_by": created_by,
            "created_at": at,
        }
        row = table(**values)
        self._s.add(row)
        self._s.flush()
        return _to_version(kind, row)

    def _row(self, kind: LibraryKind, item_id: str, version: int) -> _VersionRow | None:
        table = _table(kind)
        stmt = select(table).where(_item_column(kind) == item_id, table.version == version)
        row = self._s.scalars(stmt).first()
        assert row is None or isinstance(row, RecipeVersion | InkVersion)
        return row

    def get(self, kind: LibraryKind, item_id: str, version: int) -> LibraryVersion | None:
        """Return one version or ``None``."""
        row = self._row(kind, item_id, version)
        return None if row is None else _to_version(kind, row)

    def versions(
        self, kind: LibraryKind, item_id: str | None = None, status: str | None = None
    ) -> list[LibraryVersion]:
        """Return versions by item id then version number, optionally filtered."""
        table = _table(kind)
        column = _item_column(kind)
        stmt = select(table).order_by(column, table.version)
        if item_id is not None:
            stmt = stmt.where(column == item_id)
        if status is not None:
            stmt = stmt.where(table.status == status)
        rows = self._s.scalars(stmt).all()
        return [_to_version(kind, r) for r in rows if isinstance(r, RecipeVersion | InkVersion)]

    def set_status(
        self, kind: LibraryKind, item_id: str, version: int, status: str
    ) -> LibraryVersion:
        """Move a version to ``status`` (see :data:`VERSION_STATUSES`).

        Raises
        ------
        RecordError
            No such version, or the move is not allowed from its status.
        """
        row = self._row(kind, item_id, version)
        if row is None:
            raise RecordError(f"{kind} {item_id} v{version} does not exist")
        if status not in VERSION_STATUSES.get(row.status, frozenset()):
            raise RecordError(
                f"{kind} {item_id} v{version} is {row.status} and cannot become {status} "
                f"(allowed: {sorted(VERSION_STATUSES.get(row.status, ())) or 'none'})"
            )
        row.status = status
        self._s.flush()
        return _to_version(kind, row)


def library(uow: UnitOfWork) -> LibraryRepository:
    """The library repository sharing ``uow``'s transaction (changes commit with its audit)."""
    return LibraryRepository(uow._session)
