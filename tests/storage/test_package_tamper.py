"""A doctored inspection package, or a live database dressed up as one, fails ``audit verify``."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from printpharm.services.station.records_app import verify_database
from printpharm.storage.audit import AuditEntry
from printpharm.storage.db import Database
from printpharm.storage.export import export_inspection_package
from printpharm.storage.repositories import unit_of_work
from printpharm.storage.signatures import SignatureRecord
from tests.storage._dbs import clock, db, db_spec, make_context, sqlite_db, sqlite_template
from tests.storage.test_export import _fill

__all__ = ["clock", "db", "db_spec", "sqlite_db", "sqlite_template"]

AT = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def _fill_with_accounts(db: Database) -> None:
    """The batches of :func:`_fill`, and each account's creation event as the services write it."""
    _fill(db)
    with unit_of_work(db, make_context()) as uow:
        for user_id in ("tech1", "other"):
            public = {"user_id": user_id, "full_name": user_id.title(), "role": "technician"}
            uow.audit.append(AuditEntry("user", "create", user_id, "admin", new=public))
        draft = SignatureRecord(None, "batch", "B-1", 1, "c" * 64, "released", "other", "Other",
                                "2026-03-29T01:00:00.000Z", "UTC", None, "d" * 64)  # fmt: skip
        stored = uow.signatures.add(draft)
        uow.audit.append(AuditEntry("batch", "sign", "B-1", "other",
                                    new=dataclasses.asdict(stored), batch_id="B-1"))  # fmt: skip


def _edit(path: Path, *sql: str) -> None:
    """Edit the SQLite file as a forger would: drop every trigger first."""
    con = sqlite3.connect(path)
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f'DROP TRIGGER "{name}"')
        for statement in sql:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


@pytest.fixture
def package(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRINTPHARM_ANCHOR_LOG", str(tmp_path / "anchors.jsonl"))
    _fill_with_accounts(db)
    path = tmp_path / "B-1.sqlite"
    export_inspection_package(db, "B-1", path, "insp", AT)
    assert verify_database(f"sqlite:///{path}").ok
    return path


def test_a_unit_removed_from_a_package_is_reported(package: Path) -> None:
    _edit(package, "DELETE FROM units")
    report = verify_database(f"sqlite:///{package}")
    assert not report.ok
    assert any("units" in p and "missing" in p for p in report.problems()), report.problems()


def test_a_manifest_pointed_at_another_batch_hides_nothing(package: Path) -> None:
    manifest = '{"batch_id": "B-NONE"}'
    _edit(
        package,
        f"UPDATE site_settings SET value_json = '{manifest}' WHERE key = 'inspection_package'",
        "DELETE FROM units",
    )
    problems = "\n".join(verify_database(f"sqlite:///{package}").problems())
    assert "the manifest names batch 'B-NONE', which the package does not hold" in problems
    assert "units" in problems and "missing" in problems


def test_a_signature_removed_from_a_package_is_reported(package: Path) -> None:
    con = sqlite3.connect(package)
    assert con.execute("SELECT meaning FROM signatures").fetchall() == [("released",)]
    con.close()
    _edit(package, "DELETE FROM signatures")
    report = verify_database(f"sqlite:///{package}")
    assert not report.ok
    assert any("signatures" in p and "missing" in p for p in report.problems()), report.problems()


def test_a_signer_renamed_in_a_package_is_reported(package: Path) -> None:
    _edit(package, "UPDATE users SET full_name = 'Someone Else', role = 'pharmacist'")
    report = verify_database(f"sqlite:///{package}")
    assert not report.ok
    assert any("users tech1" in p for p in report.problems()), report.problems()


def test_a_live_database_with_a_planted_manifest_is_still_checked_whole(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRINTPHARM_ANCHOR_LOG", str(tmp_path / "anchors.jsonl"))
    _fill_with_accounts(sqlite_db)
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    sqlite_db.dispose()
    _edit(
        path,
        "INSERT INTO site_settings (key, value_json, version, updated_at) VALUES "
        "('inspection_package', '{\"batch_id\": \"B-1\"}', 1, '2026-03-29 01:00:00')",
        "UPDATE users SET role = 'pharmacist' WHERE user_id = 'tech1'",
        "DELETE FROM units WHERE batch_id = 'B-2'",
    )
    report = verify_database(f"sqlite:///{path}")
    assert not report.ok
    problems = "\n".join(report.problems())
    assert "users tech1: differs" in problems
    assert "site_settings inspection_package: no audit event" in problems
