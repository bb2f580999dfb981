"""The PostgreSQL deployment scripts of ``installers/deploy`` against a real server.

Creates roles and a database with ``create_database.sh`` (migrations by
``printpharm db upgrade``), initialises printpharm as the workstation role, checks
that role cannot rewrite the audit trail, backs up with ``backup.sh`` and restores
with ``restore.sh`` (which verifies the audit chain of the restored copy).
Needs ``PRINTPHARM_TEST_POSTGRES_URL`` (a role that may create roles and databases)
and the PostgreSQL client programs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "installers" / "deploy"
PG_URL = os.environ.get("PRINTPHARM_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PG_URL, reason="PRINTPHARM_TEST_POSTGRES_URL is not set (CI's .ci/run starts one)"
    ),
    pytest.mark.skipif(
        not all(shutil.which(p) for p in ("psql", "pg_dump", "pg_restore")),
        reason="PostgreSQL client programs (psql, pg_dump, pg_restore) are not installed",
    ),
]


def _sh(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for the scripts: this server, fresh role and database names."""
    url = make_url(PG_URL or "")
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PRINTPHARM_DB": f"pp_{tag}",
        "PRINTPHARM_OWNER": f"pp_owner_{tag}",
        "PRINTPHARM_APP": f"pp_app_{tag}",
        "PRINTPHARM_OWNER_PASSWORD": "owner-secret-1",
        "PRINTPHARM_APP_PASSWORD": "app-secret-2",
        "PRINTPHARM_CMD": f"{sys.executable} -m printpharm",
        "PRINTPHARM_ARGON2": "1,8,1",
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    env.pop("PRINTPHARM_DATABASE_URL", None)
    yield env
    for db in (env["PRINTPHARM_DB"], f"{env['PRINTPHARM_DB']}_restored"):
        _sh(env, "psql", "-X", "-q", "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{db}"')
    for role in (env["PRINTPHARM_APP"], env["PRINTPHARM_OWNER"]):
        _sh(env, "psql", "-X", "-q", "-d", "postgres", "-c", f'DROP ROLE IF EXISTS "{role}"')


def test_create_backup_restore_and_the_restored_chain_verifies(
    server: dict[str, str], tmp_path: Path
) -> None:
    created = _sh(server, str(DEPLOY / "create_database.sh"))
    assert created.returncode == 0, created.stderr + created.stdout
    app, db = server["PRINTPHARM_APP"], server["PRINTPHARM_DB"]
    app_url = f"postgresql+psycopg://{app}@{server['PGHOST']}:{server['PGPORT']}/{db}"
    assert f"PRINTPHARM_DATABASE_URL={app_url}" in created.stdout

    as_app = {**server, "PGUSER": app, "PGPASSWORD": server["PRINTPHARM_APP_PASSWORD"]}
    printpharm = (sys.executable, "-m", "printpharm")
    init = subprocess.run(
        [*printpharm, "init", "--db", app_url, "--admin", "admin", "--password-stdin"],
        input="correct-horse-42-battery\n",
        env=as_app,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    for sql, error in (
        ("UPDATE audit_events SET reason = 'x'", "permission denied"),
        ("DROP TRIGGER audit_events_append_only ON audit_events", "must be owner"),
    ):
        refused = _sh(as_app, "psql", "-X", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql)
        assert refused.returncode != 0 and error in refused.stderr, sql
    source = _sh(as_app, *printpharm, "audit", "verify", "--db", app_url, "--json")
    assert source.returncode == 0, source.stderr
    events = json.loads(source.stdout)["events"]  # the administrator, the site key, row seals
    assert events >= 1

    backups = tmp_path / "backups"
    backup = _sh(server, str(DEPLOY / "backup.sh"), str(backups))
    assert backup.returncode == 0, backup.stderr + backup.stdout
    [dump] = backups.glob("*.dump")
    assert (backups / f"{dump.name}.sha256").is_file()

    restored = _sh(server, str(DEPLOY / "restore.sh"), str(dump))
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert f"audit trail intact: {events} events" in restored.stdout
    assert f"into {db}_restored verified" in restored.stdout


def test_create_runs_again_safely_and_restore_refuses_a_dump_that_fails_its_checksum(
    server: dict[str, str], tmp_path: Path
) -> None:
    assert _sh(server, str(DEPLOY / "create_database.sh")).returncode == 0
    again = _sh(server, str(DEPLOY / "create_database.sh"))
    assert again.returncode == 0 and "exists; keeping it" in again.stdout, again.stderr
    backups = tmp_path / "backups"
    assert _sh(server, str(DEPLOY / "backup.sh"), str(backups)).returncode == 0
    [dump] = backups.glob("*.dump")
    with dump.open("ab") as handle:
        handle.write(b"\0")
    restored = _sh(server, str(DEPLOY / "restore.sh"), str(dump))
    assert restored.returncode != 0 and "does not match its checksum" in restored.stderr
