"""The inspection package at the storage level: contents, no secrets, never overwritten."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.errors import RecordError
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.db import Database
from printpharm.storage.export import NO_PASSWORD, export_inspection_package
from printpharm.storage.library import library
from printpharm.storage.repositories import UserRecord, unit_of_work
from tests.storage._dbs import clock, db, db_spec, make_context, sqlite_template

__all__ = ["clock", "db", "db_spec", "sqlite_template"]

AT = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def _fill(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        for user_id in ("tech1", "other"):
            uow.users.add(UserRecord(user_id, user_id.title(), "technician", "argon2id$secret",
                                     AT, AT))  # fmt: skip
        repo = library(uow)
        repo.ensure_item("recipe", "r1", "Recipe one", AT)
        repo.add_version("recipe", "r1", {"model": {"id": "r1"}}, "tech1", AT)
        repo.ensure_item("recipe", "r2", "Unrelated", AT)
        repo.add_version("recipe", "r2", {"model": {"id": "r2"}}, "other", AT)
        details = {"recipe": {"id": "r1", "version": "library:r1 v1"}}
        for batch_id in ("B-1", "B-2"):
            uow.batches.create(batch_id, Decimal("12.5"), 2, "tech1", AT, False, details)
            uow.batches.set_status(batch_id, "printing")
            uow.batches.add_unit(batch_id, UnitReading(1, Decimal("250.0"), Decimal("250.4")))
            uow.audit.append(AuditEntry("batch", "create", batch_id, "tech1", batch_id=batch_id))


def test_package_holds_the_batch_the_whole_chain_and_no_secrets(
    db: Database, tmp_path: Path
) -> None:
    _fill(db)
    path = tmp_path / "B-1.sqlite"
    report = export_inspection_package(db, "B-1", path, "insp", AT)
    with unit_of_work(db, make_context(), write=False) as uow:
        live = uow.verify_chain()
    assert (report.events, report.chain_head_sha256) == (live.events, live.last_hash)
    assert report.rows["batches"] == 1 and report.rows["recipe_versions"] == 1
    package = Database(f"sqlite:///{path}", read_only=True)
    try:
        with unit_of_work(package, make_context(), write=False) as uow:
            check = uow.verify_chain()
            assert uow.batches.ids() == ["B-1"]
            row = uow.batches.get("B-1")
            assert [v.item_id for v in library(uow).versions("recipe")] == ["r1"]
    finally:
        package.dispose()
    assert check.ok and check.events == live.events and check.last_hash == live.last_hash
    assert row is not None and row.units[0].raw_reading == Decimal("250.4")
    con = sqlite3.connect(path)
    try:
        users = con.execute("SELECT user_id, password_hash, active FROM users").fetchall()
        assert users == [("tech1", NO_PASSWORD, 0)]
        assert b"argon2id$secret" not in path.read_bytes()
    finally:
        con.close()


def test_package_refuses_an_unknown_batch_and_an_existing_file(
    db: Database, tmp_path: Path
) -> None:
    _fill(db)
    missing = tmp_path / "none.sqlite"
    with pytest.raises(RecordError, match="does not exist"):
        export_inspection_package(db, "B-404", missing, None, AT)
    assert not missing.exists()
    existing = tmp_path / "kept.sqlite"
    existing.write_bytes(b"earlier export")
    with pytest.raises(RecordError, match="never overwritten"):
        export_inspection_package(db, "B-1", existing, None, AT)
    assert existing.read_bytes() == b"earlier export"
