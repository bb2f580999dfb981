"""Engines, migrations, URL resolution and exact decimals."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.errors import DatabaseUnavailable, MigrationError, RecordError
from printpharm.storage import db as dbmod
from printpharm.storage.db import Database, resolve_database_url
from printpharm.storage.repositories import unit_of_work
from printpharm.storage.tables import Ink
from tests.storage._dbs import DbSpec, make_context

EXPECTED_TABLES = {
    "alarm_acks",
    "alarms",
    "audit_events",
    "audit_head",
    "batches",
    "calibrations",
    "cu_results",
    "cu_samples",
    "devices",
    "ink_lots",
    "inks",
    "password_history",
    "patients",
    "prescriptions",
    "recipe_versions",
    "recipes",
    "research_sessions",
    "roles",
    "signatures",
    "site_settings",
    "units",
    "users",
}


def test_upgrade_creates_every_table_and_reaches_head(db_spec: DbSpec) -> None:
    database = db_spec.open()
    with pytest.raises(MigrationError, match="empty database"):
        database.require_current()
    database.upgrade()
    assert EXPECTED_TABLES <= set(database.table_names())
    assert database.current_revision() == database.head_revision()
    database.require_current()
    database.upgrade()  # idempotent
    assert database.current_revision() == database.head_revision()
    database.dispose()


def test_roles_and_chain_head_are_seeded(db: Database) -> None:
    with db.session(write=False) as s:
        roles = {r[0] for r in s.execute(Ink.metadata.tables["roles"].select())}
        head = s.execute(Ink.metadata.tables["audit_head"].select()).one()
    assert roles == {"technician", "supervisor", "administrator", "inspector"}
    assert (head.last_seq, head.last_hash) == (0, "0" * 64)


def test_sqlite_file_uses_wal_and_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(db: Database) -> None:
    from printpharm.storage.tables import PasswordHistory

    with pytest.raises(RecordError):
        with unit_of_work(db, make_context()) as uow:
            uow._session.add(  # noqa: SLF001 - storage-internal test of the FK rule
                PasswordHistory(user_id="nobody", password_hash="x", set_at=datetime.now(UTC))
            )


def test_decimals_round_trip_exactly(db: Database) -> None:
    load = Decimal("12.345678")
    with db.session() as s:
        s.add(
            Ink(
                ink_id="ink-a",
                name="A",
                drug_load_mg_per_g=load,
                density_g_per_ml=Decimal("1.05"),
                created_at=datetime.now(UTC),
            )
        )
    with db.session(write=False) as s:
        ink = s.get(Ink, "ink-a")
        assert ink is not None
        assert ink.drug_load_mg_per_g == load
        assert isinstance(ink.drug_load_mg_per_g, Decimal)
        assert ink.density_g_per_ml + Decimal("0.1") == Decimal("1.15")


def test_float_is_refused_for_exact_columns(sqlite_db: Database) -> None:
    with pytest.raises(Exception, match="needs a Decimal"):
        with sqlite_db.session() as s:
            s.add(
                Ink(
                    ink_id="ink-f",
                    name="F",
                    drug_load_mg_per_g=0.1,  # type: ignore[arg-type]
                    density_g_per_ml=Decimal("1"),
                    created_at=datetime.now(UTC),
                )
            )
            s.flush()


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRINTPHARM_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert resolve_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_database_url(None) == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("PRINTPHARM_DATABASE_URL")
    monkeypatch.setattr(
        "platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "data" / "printpharm")
    )
    expected = tmp_path / "data" / "printpharm" / "printpharm.sqlite3"
    assert resolve_database_url(None) == f"sqlite:///{expected}"
    assert resolve_database_url("records.sqlite3").endswith("/records.sqlite3")
    assert dbmod.default_database_url().startswith("sqlite:///")


def test_read_only_open_of_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        Database(f"sqlite:///{tmp_path / 'missing.sqlite3'}", read_only=True)


def test_read_only_database_refuses_writes(sqlite_db: Database, tmp_path: Path) -> None:
    ro = Database(sqlite_db.url, read_only=True)
    with pytest.raises(DatabaseUnavailable):
        with ro.session(write=True) as s:
            s.add(
                Ink(
                    ink_id="x",
                    name="x",
                    drug_load_mg_per_g=Decimal(1),
                    density_g_per_ml=Decimal(1),
                    created_at=datetime.now(UTC),
                )
            )
    assert sqlite3.connect(tmp_path / "printpharm.sqlite3").execute(
        "SELECT count(*) FROM inks"
    ).fetchone() == (0,)


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match="not valid"):
        Database("not a url://")


def test_unreachable_postgres_is_database_unavailable() -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailable):
        database.ping()


def test_upgrade_from_the_first_schema_keeps_data_and_triggers(db_spec: DbSpec) -> None:
    """Migrations run in order on an existing database (REC-03 groundwork)."""
    database = db_spec.open()
    database.upgrade("0001")
    assert database.current_revision() == "0001"
    with database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (user_id, full_name, role, active, password_hash, "
            "password_changed_at, must_change_password, failed_attempts, locked, created_at) "
            "VALUES ('old1', 'Olga Old', 'technician', true, 'h', '2025-01-01 00:00:00', "
            "false, 0, false, '2025-01-01 00:00:00')"
        )
    database.upgrade()
    assert database.current_revision() == database.head_revision() != "0001"
    with unit_of_work(database, make_context(), write=False) as uow:
        user = uow.users.get("old1")
    assert user is not None and user.full_name == "Olga Old"
    assert user.identity_verified_by is None and user.signature_ack_at is None
    with pytest.raises(Exception, match="append-only"):
        with database.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM users")
    database.dispose()
