"""Database fixtures shared by the storage, services and records-CLI tests.

Every test gets its own database: a real SQLite file in ``tmp_path`` or, when
``PRINTPHARM_TEST_POSTGRES_URL`` is set, a fresh schema on that PostgreSQL
server (dropped afterwards).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from printpharm.storage.audit import AuditContext
from printpharm.storage.db import Database

PG_ENV = "PRINTPHARM_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV)

#: Parametrise a fixture over both back-ends; PostgreSQL skips without the variable.
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL, reason=f"{PG_ENV} is not set (CI's .ci/run starts a PostgreSQL)"
            ),
        ],
    ),
]


@dataclass(frozen=True)
class DbSpec:
    """Everything needed to open the same database again (picklable, for subprocesses)."""

    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def open(self, **kwargs: Any) -> Database:
        return Database(self.url, connect_args=dict(self.connect_args), **kwargs)


class FakeClock:
    """A controllable UTC clock: ``clock()`` returns the current fake time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 29, 0, 30, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_context(clock: FakeClock | None = None) -> AuditContext:
    """An audit context for tests (workstation ``test-ws``)."""
    return AuditContext("test-ws", "0.1.0", "cfg-7", None, clock or FakeClock())


def _drop_schema(schema: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG_URL or "")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def new_spec(kind: str, tmp_path: Path) -> Iterator[DbSpec]:
    """Yield a spec for an empty database of ``kind``; clean up afterwards."""
    if kind == "sqlite":
        path = tmp_path / "printpharm.sqlite3"
        yield DbSpec(f"sqlite:///{path}", path=path)
        return
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(PG_URL or "")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    try:
        yield DbSpec(PG_URL or "", {"options": f"-csearch_path={schema}"})
    finally:
        _drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def db_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbSpec]:
    """An empty database on each back-end."""
    yield from new_spec(request.param, tmp_path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "printpharm.sqlite3"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture
def db(db_spec: DbSpec, sqlite_template: Path) -> Iterator[Database]:
    """A migrated database on each back-end."""
    if db_spec.path is not None:
        shutil.copyfile(sqlite_template, db_spec.path)
    database = db_spec.open()
    if db_spec.path is None:
        database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file database."""
    database = Database(f"sqlite:///{tmp_path / 'printpharm.sqlite3'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock."""
    return FakeClock()
