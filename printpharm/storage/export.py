"""The inspection package: one batch in a standalone SQLite file an inspector verifies offline.

The package is a printpharm database (same schema, same append-only triggers)
holding the batch, its units, alarms (with their acknowledgements) and
signatures, the library versions and their signatures it names, the accounts
that appear in them (full names only: no password hash ever leaves the database)
and the **whole audit chain up to the moment of export** with its head. The
chain is kept whole because every event's hash covers the one before it: a chain
cut to one batch's events could not be verified. ``printpharm audit verify --db
package.sqlite`` checks it on any machine with nothing but the file.

A manifest (site setting ``inspection_package``) says which batch, when, from
which database revision and chain head.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from printpharm.errors import RecordError
from printpharm.storage.alarm_acks import AlarmAckRow
from printpharm.storage.audit_tables import AuditEventRow, AuditHead, AuditKey, SignatureRow
from printpharm.storage.canonical import canonical_json, format_utc_ms
from printpharm.storage.content_uniformity import CuResultRow, CuSampleRow
from printpharm.storage.db import Database
from printpharm.storage.tables import (
    Alarm,
    Batch,
    Device,
    Ink,
    InkLot,
    InkVersion,
    Recipe,
    RecipeVersion,
    SiteSetting,
    Unit,
    User,
)

__all__ = ["MANIFEST_KEY", "PackageReport", "export_inspection_package"]

#: Site-setting key of the package manifest.
MANIFEST_KEY = "inspection_package"
#: Stored instead of a password hash: no one can log in to a package.
NO_PASSWORD = "!exported: no password"


@dataclass(frozen=True)
class PackageReport:
    """What went into a package: file, batch, audit events, chain head, rows per table."""

    path: Path
    batch_id: str
    events: int
    chain_head_sha256: str
    rows: dict[str, int]
    key_fingerprint: str | None = None


def _t(mapped: Any) -> Table:
    return cast(Table, mapped.__table__)


def _rows(session: Session, table: Table, *where: Any) -> list[dict[str, Any]]:
    stmt = select(table)
    for clause in where:
        stmt = stmt.where(clause)
    return [dict(r._mapping) for r in session.execute(stmt)]


class _Collector:
    """Reads everything one batch needs from the source database."""

    def __init__(self, session: Session, batch_id: str) -> None:
        self.s = session
        self.batch_id = batch_id
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def put(self, table: Table, rows: list[dict[str, Any]]) -> None:
        bucket = self.rows.setdefault(table.name, [])
        pk = [c.name for c in table.primary_key.columns]
        seen = {tuple(r[k] for k in pk) for r in bucket}
        bucket.extend(r for r in rows if tuple(r[k] for k in pk) not in seen)

    def collect(self) -> None:
        batch = _rows(self.s, _t(Batch), _t(Batch).c.batch_id == self.batch_id)
        if not batch:
            raise RecordError(f"batch {self.batch_id!r} does not exist")
        b = batch[0]
        details = json.loads(b["details_json"] or "{}")
        recipe = details.get("recipe") or {}
        ink_id = (recipe.get("ink") or {}).get("id")
        self._library(RecipeVersion, Recipe, "recipe_id", recipe.get("id"), b["recipe_version_id"])
        self._library(InkVersion, Ink, "ink_id", ink_id, None)
        if b["ink_lot_id"] is not None:
            lots = _rows(self.s, _t(InkLot), _t(InkLot).c.id == b["ink_lot_id"])
            self.put(
                _t(Ink), _rows(self.s, _t(Ink), _t(Ink).c.ink_id.in_([r["ink_id"] for r in lots]))
            )
            self.put(_t(InkLot), lots)
            sig = _t(SignatureRow)
            self.put(sig, _rows(self.s, sig, sig.c.record_type == "ink_lot",
                                sig.c.record_id.in_([r["lot_number"] for r in lots])))  # fmt: skip
        devices = [d for d in (b["printer_id"], b["balance_id"]) if d is not None]
        self.put(_t(Device), _rows(self.s, _t(Device), _t(Device).c.id.in_(devices)))
        self.put(_t(Batch), batch)
        self.put(_t(Unit), _rows(self.s, _t(Unit), _t(Unit).c.batch_id == self.batch_id))
        for cu in (CuSampleRow, CuResultRow):
            self.put(_t(cu), _rows(self.s, _t(cu), _t(cu).c.batch_id == self.batch_id))
        self.put(_t(Alarm), _rows(self.s, _t(Alarm), _t(Alarm).c.batch_id == self.batch_id))
        self.put(_t(AuditKey), _rows(self.s, _t(AuditKey)))  # public keys: to verify the head
        acks = _t(AlarmAckRow)
        self.put(acks, _rows(self.s, acks, acks.c.batch_id == self.batch_id))
        sig = _t(SignatureRow)
        self.put(sig, _rows(self.s, sig, sig.c.record_type == "batch",
                            sig.c.record_id == self.batch_id))  # fmt: skip

    def _library(
        self, version: Any, item: Any, column: str, item_id: str | None, row_id: int | None
    ) -> None:
        table = _t(version)
        where = [table.c[column] == item_id] if item_id else [table.c.id == row_id]
        if not item_id and row_id is None:
            return
        versions = _rows(self.s, table, *where)
        if not versions:
            return
        ids = {v[column] for v in versions}
        self.put(_t(item), _rows(self.s, _t(item), _t(item).c[column].in_(ids)))
        self.put(table, versions)
        kind = "recipe" if version is RecipeVersion else "ink"
        record_ids = [f"{v[column]}@v{v['version']}" for v in versions]
        sig = _t(SignatureRow)
        self.put(sig, _rows(self.s, sig, sig.c.record_type == f"{kind}_version",
                            sig.c.record_id.in_(record_ids)))  # fmt: skip

    def users(self) -> list[dict[str, Any]]:
        wanted: set[str] = set()
        for rows in self.rows.values():
            for row in rows:
                for key in ("created_by", "signer_user_id", "acknowledged_by", "updated_by",
                            "prepared_by", "recorded_by", "selected_by", "entered_by"):  # fmt: skip
                    if row.get(key):
                        wanted.add(row[key])
        users = _rows(self.s, _t(User), _t(User).c.user_id.in_(sorted(wanted)))
        for u in users:  # names and roles only: never a password hash
            u.update(password_hash=NO_PASSWORD, active=False, failed_attempts=0, locked=True)
        return users


_ORDER = (User, Recipe, Ink, InkLot, Device, RecipeVersion, InkVersion, Batch, Unit, CuSampleRow,
          CuResultRow, Alarm, AlarmAckRow, SignatureRow, AuditKey)  # fmt: skip


def export_inspection_package(
    source: Database, batch_id: str, path: Path, exported_by: str | None, at: datetime
) -> PackageReport:
    """Write the inspection package of ``batch_id`` to the new SQLite file ``path``.

    Parameters
    ----------
    source
        The live database (SQLite or PostgreSQL); read in one consistent snapshot.
    batch_id
        The batch to package.
    path
        A file that must not exist yet (records are never overwritten).
    exported_by, at
        Who asked and when (recorded in the manifest).

    Raises
    ------
    RecordError
        The batch does not exist, or ``path`` exists already.
    DatabaseUnavailable
        Either database cannot be used.
    """
    path = Path(path)
    if os.path.lexists(path):  # a file, or a link (even one pointing nowhere): never written
        raise RecordError(f"{path} exists already; an inspection package is never overwritten")
    snap = _read(source, batch_id)
    manifest = {
        "batch_id": batch_id,
        "exported_at": format_utc_ms(at),
        "exported_by": exported_by,
        "source_revision": snap.revision,
        "chain_events": snap.head["last_seq"],
        "chain_head_sha256": snap.head["last_hash"],
        "site_key_fingerprint": snap.head.get("key_id"),
        "note": "whole audit chain up to the export, so that every hash can be checked",
    }
    try:
        _write(path, snap, manifest, at)
    except BaseException:  # never leave a half-written package behind
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    counts = {name: len(rows) for name, rows in snap.rows.items()}
    return PackageReport(
        path, batch_id, len(snap.events), str(snap.head["last_hash"]), counts,
        snap.head.get("key_id"),
    )  # fmt: skip


@dataclass(frozen=True)
class _Snapshot:
    rows: dict[str, list[dict[str, Any]]]
    head: dict[str, Any]
    events: list[dict[str, Any]]
    revision: str | None


def _read(source: Database, batch_id: str) -> _Snapshot:
    with source.session(write=False) as s:
        if source.dialect == "postgresql":
            s.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        collector = _Collector(s, batch_id)
        collector.collect()
        collector.rows["users"] = collector.users()
        head = dict(s.execute(select(_t(AuditHead))).one()._mapping)
        events = _rows(s, _t(AuditEventRow), _t(AuditEventRow).c.seq <= head["last_seq"])
        revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return _Snapshot(collector.rows, head, events, revision)


def _write(path: Path, snap: _Snapshot, manifest: dict[str, Any], at: datetime) -> None:
    target = Database(f"sqlite:///{path.resolve()}")
    try:
        target.upgrade()
        with target.session() as t:
            for mapped in _ORDER:
                rows = snap.rows.get(_t(mapped).name, [])
                if rows:
                    t.execute(insert(_t(mapped)), rows)
            for start in range(0, len(snap.events), 5000):
                t.execute(insert(_t(AuditEventRow)), snap.events[start : start + 5000])
            head = {
                k: snap.head[k]
                for k in ("last_seq", "last_hash", "last_occurred_at", "key_id", "signature")
            }
            t.execute(update(_t(AuditHead)).where(_t(AuditHead).c.id == 1).values(**head))
            t.add(SiteSetting(key=MANIFEST_KEY, value_json=canonical_json(manifest), version=1,
                              updated_by=None, updated_at=at))  # fmt: skip
    finally:
        target.dispose()
