"""The red-team SQL of issue 13, run as the workstation role ``create_database.sh`` makes.

The workstation role can change protected rows only together with their audit
event in the same transaction (deferred constraint triggers of 0008_keyed_audit)
and can delete none; a copied password hash and a head moved back are refused.
The app's own operations as that role still work end to end, and a forger who
writes the audit event too is accepted by the database but caught by
``audit verify`` (the site key).
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from printpharm.storage.sitekey import load_site_key
from tests.installers.test_deploy_scripts import DEPLOY, _sh, pytestmark, server

__all__ = ["pytestmark", "server"]

ADMIN_PW = "correct-horse-42-battery"
SUP_PW = "pharmacist-orbit-7-lantern"
TECH_PW = "technician-quartz-9-meadow"


def _cli(env: dict[str, str], url: str, *argv: str, stdin: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "printpharm", *argv, "--db", url],
        input=stdin, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _add_user(env: dict[str, str], url: str, user: str, role: str, password: str) -> None:
    _cli(env, url, "training", "add", user, "--role", role, "--trained-on", "2026-01-05",
         "--trainer", "Tara Trainer", "--user", "admin", "--password-stdin",
         stdin=ADMIN_PW + "\n")  # fmt: skip  # an account needs its role's training (TRN-01)
    out = _cli(env, url, "users", "add", user, "--full-name", user.title(), "--role", role,
               "--json", "--user", "admin", "--password-stdin", stdin=ADMIN_PW + "\n")  # fmt: skip
    import json

    temporary = json.loads(out)["temporary_password"]
    _cli(env, url, "users", "passwd", "--user", user, "--password-stdin",
         stdin=f"{temporary}\n{password}\n")  # fmt: skip


@pytest.fixture
def deployed(server: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], str]:
    created = _sh(server, str(DEPLOY / "create_database.sh"))
    assert created.returncode == 0, created.stderr + created.stdout
    app, db = server["PRINTPHARM_APP"], server["PRINTPHARM_DB"]
    url = f"postgresql+psycopg://{app}@{server['PGHOST']}:{server['PGPORT']}/{db}"
    env = {**server, "PGUSER": app, "PGPASSWORD": server["PRINTPHARM_APP_PASSWORD"],
           "PRINTPHARM_KEY_DIR": str(tmp_path / "keys"),
           "PRINTPHARM_ANCHOR_LOG": str(tmp_path / "anchors.jsonl")}  # fmt: skip
    _cli(env, url, "init", "--admin", "admin", "--password-stdin", stdin=ADMIN_PW + "\n")
    _add_user(env, url, "sup1", "supervisor", SUP_PW)
    _add_user(env, url, "tech1", "technician", TECH_PW)
    _cli(env, url, "research", "unlock", "--reason", "trial", "--minutes", "5",
         "--user", "sup1", "--password-stdin", stdin=SUP_PW + "\n" + SUP_PW + "\n")  # fmt: skip
    _app_batch(env, url, tmp_path)
    return env, url


def _app_batch(env: dict[str, str], url: str, tmp_path: Path) -> None:
    """A batch and a unit written by printpharm's storage code as the workstation role."""
    db = Database(url, connect_args={"password": env["PGPASSWORD"]})
    try:
        with unit_of_work(db, AuditContext("ws", "0.1.0"), write=False) as uow:
            key_info = uow.current_key()
        assert key_info is not None
        key = load_site_key(key_info.key_id, tmp_path / "keys")
        with unit_of_work(db, AuditContext("ws", "0.1.0", signer=key)) as uow:
            from datetime import UTC, datetime

            now = datetime.now(UTC)
            uow.batches.create("B1", Decimal(10), 2, "tech1", now)
            uow.batches.add_unit("B1", UnitReading(1, Decimal("303.05"), Decimal("303.05")))
            uow.audit.append(AuditEntry("unit", "create", "B1/1", "tech1", batch_id="B1"))
    finally:
        db.dispose()


def _psql(env: dict[str, str], sql: str) -> subprocess.CompletedProcess[str]:
    return _sh(env, "psql", "-X", "-d", env["PRINTPHARM_DB"], "-v", "ON_ERROR_STOP=1", "-c", sql)


RED_TEAM = [
    ("UPDATE users SET role = 'supervisor' WHERE user_id = 'tech1'", "without its audit event"),
    (
        "UPDATE users SET password_hash = (SELECT password_hash FROM users "
        "WHERE user_id = 'sup1') WHERE user_id = 'tech1'",
        "cannot be copied",
    ),
    ("UPDATE units SET raw_reading = 0.2", "without its audit event"),
    ("UPDATE batches SET status = 'released'", "without its audit event"),
    (
        "UPDATE research_sessions SET ends_at = ends_at + interval '10 years'",
        "without its audit event",
    ),
    (
        "INSERT INTO signatures (record_type, record_id, record_version, content_sha256, "
        "meaning, signer_user_id, signer_name, signed_at, local_tz, signature_sha256) VALUES "
        "('batch', 'B1', 2, 'c', 'released', 'sup1', 'Sup1', 't', 'z', 'forged')",
        "without its audit event",
    ),
    ("DELETE FROM units", "permission denied"),
    ("DELETE FROM audit_events", "permission denied"),
    ("UPDATE audit_head SET last_seq = 1", "never moves back"),
    ("UPDATE audit_keys SET public_key = 'x'", "permission denied"),
]


def test_the_red_team_sql_is_refused_for_the_workstation_role(
    deployed: tuple[dict[str, str], str],
) -> None:
    env, url = deployed
    for sql, error in RED_TEAM:
        refused = _psql(env, sql)
        assert refused.returncode != 0 and error in refused.stderr, (sql, refused.stderr)
    out = _cli(env, url, "audit", "verify", stdin="")
    assert out.startswith("audit trail intact"), out

    # a forger who writes the audit event too gets past the database, not past the key
    forged = _psql(
        env,
        "BEGIN; "
        "INSERT INTO audit_events (seq, occurred_at, local_tz, record_type, record_id, action, "
        "new_value, workstation, app_version, config_version, mode, clock_setback, prev_hash, "
        "event_hash) SELECT last_seq + 1, '2099-01-01T00:00:00.000Z', 'UTC', 'row', "
        "'users/tech1', 'write', '{}', 'x', 'x', 'x', 'locked', false, last_hash, "
        "md5(random()::text) FROM audit_head; "
        "UPDATE audit_head SET last_seq = last_seq + 1; "
        "UPDATE users SET role = 'supervisor' WHERE user_id = 'tech1'; COMMIT;",
    )
    assert forged.returncode == 0, forged.stderr  # the database cannot tell: the key can
    done = subprocess.run(
        [sys.executable, "-m", "printpharm", "audit", "verify", "--db", url],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and "FAILED" in done.stdout, done.stdout + done.stderr
