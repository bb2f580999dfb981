"""Issue 13: the SQLite database, its WAL and SHM, and exports are readable only by their owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from printpharm.storage.db import Database

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual desktop umask (022): files are world-readable unless created otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path, lax_umask: None) -> None:
    path = tmp_path / "records" / "printpharm.sqlite3"
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
        with database.engine.connect() as conn:  # an open connection keeps WAL and SHM
            conn.execute(text("SELECT count(*) FROM audit_events")).scalar()
            for suffix in ("", "-wal", "-shm"):
                done = Path(f"{path}{suffix}")
                assert done.exists() and _mode(done) == 0o600, suffix
    finally:
        database.dispose()


def test_an_existing_database_keeps_the_mode_its_owner_chose(
    tmp_path: Path, lax_umask: None
) -> None:
    path = tmp_path / "shared.sqlite3"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o640)  # e.g. readable by a backup group, on purpose
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
    finally:
        database.dispose()
    assert _mode(path) == 0o640
