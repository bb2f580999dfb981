"""The records commands: init, db upgrade, users, research, audit verify/show."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, verifier


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_cli: Callable[[Path], Cli]) -> Cli:
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "bench-3")
    return make_cli(tmp_path / "records.sqlite3")


@pytest.fixture
def ready(fresh: Cli) -> Cli:
    code, out, err = fresh.init("--full-name", "Ada Admin")
    assert code == 0, err
    assert "administrator admin created" in out
    return fresh


def _add_user(cli: Cli, user_id: str, role: str) -> str:
    return cli.add_user(user_id, role, user_id.title(), f"{user_id[::-1]}-own-passphrase")


def test_init_is_refused_once_an_administrator_exists(ready: Cli) -> None:
    code, _, err = ready.init(admin="eve", password="some-long-password-1")
    assert code == 2 and "exists already" in err


def test_init_refuses_a_weak_password(fresh: Cli) -> None:
    code, _, err = fresh.init(password="short")
    assert code == 2 and "minimum is 12" in err


def test_db_upgrade_is_idempotent(fresh: Cli) -> None:
    code, out, _ = fresh("db", "upgrade", "--json")
    assert code == 0 and json.loads(out)["before"] is None
    code, out, _ = fresh("db", "upgrade", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["before"] == payload["after"] is not None


def test_commands_need_a_migrated_database(fresh: Cli) -> None:
    code, _, err = fresh.as_user("a", "users", "list", password="x")
    assert code == 2 and "db upgrade" in err


def test_users_lifecycle(ready: Cli) -> None:
    _add_user(ready, "tech1", "technician")
    code, out, _ = ready.as_user("admin", "users", "list", "--json")
    users = {u["user_id"]: u for u in json.loads(out)["users"]}
    assert code == 0 and users["tech1"]["role"] == "technician"
    assert "password_hash" not in users["tech1"]
    code, out, _ = ready.as_user(
        "admin", "users", "reset-password", "tech1", "--reason", "forgotten", "--json"
    )
    assert code == 0 and len(json.loads(out)["temporary_password"]) >= 16
    code, out, _ = ready.as_user("admin", "users", "disable", "tech1", "--reason", "left")
    assert code == 0 and "disabled" in out
    code, _, err = ready.as_user(
        "admin", "users", "add", "tech1", "--full-name", "X", "--role", "technician"
    )
    assert code == 2 and "never reused" in err


def test_technician_cannot_add_users_or_unlock_research(ready: Cli) -> None:
    _add_user(ready, "tech1", "technician")
    code, _, err = ready.as_user(
        "tech1", "users", "add", "tech2", "--full-name", "T", "--role", "technician"
    )
    assert code == 2 and "users.manage" in err
    code, _, err = ready.as_user(
        "tech1", "research", "unlock", "--reason", "x", "--minutes", "5", times=2
    )
    assert code == 2 and "research.unlock" in err


def test_wrong_password_is_refused(ready: Cli) -> None:
    code, _, err = ready.as_user("admin", "users", "list", "--json", password="not-the-password")
    assert code == 2 and json.loads(err)["error"].startswith("login: wrong user ID or password")


def test_research_unlock_status_lock(ready: Cli) -> None:
    _add_user(ready, "sup1", "supervisor")
    code, out, err = ready.as_user(
        "sup1", "research", "unlock", "--reason", "rheology", "--minutes", "30", times=2
    )
    assert code == 0, err
    code, out, _ = ready("research", "status", "--json")
    assert json.loads(out)["active"] is True
    code, out, _ = ready.as_user("sup1", "research", "lock")
    assert code == 0 and "locked mode" in out
    code, out, _ = ready("audit", "show", "--record-type", "research", "--json")
    events = json.loads(out)["events"]
    assert [e["action"] for e in events] == ["unlock", "lock"]
    assert events[0]["reason"] == "rheology" and events[0]["workstation"] == "bench-3"


def test_audit_verify_and_tampering(ready: Cli) -> None:
    code, out, _ = ready("audit", "verify", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] is True and payload["first_broken"] is None
    assert payload["events"] >= 1
    con = sqlite3.connect(ready.db)
    con.execute("DROP TRIGGER audit_events_no_update")
    con.execute("UPDATE audit_events SET user_name = 'Mallory' WHERE seq = 1")
    con.commit()
    con.close()
    code, out, _ = ready("audit", "verify", "--json")
    payload = json.loads(out)
    assert code == 1 and payload["ok"] is False
    assert payload["first_broken"]["seq"] == 1 and payload["first_broken"]["problem"] == "content"
    code, out, _ = ready("audit", "verify")
    assert code == 1 and "BROKEN at event 1" in out


def test_audit_verify_on_a_missing_or_foreign_file(tmp_path: Path, fresh: Cli) -> None:
    code, _, err = fresh.on(tmp_path / "no.db")("audit", "verify")
    assert code == 2 and "does not exist" in err
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    code, _, err = fresh.on(tmp_path / "other.db")("audit", "verify")
    assert code == 2 and "no printpharm records" in err


def test_audit_show_filters_by_batch(ready: Cli) -> None:
    code, out, _ = ready("audit", "show", "--batch", "B-404", "--json")
    assert code == 0 and json.loads(out)["events"] == []
    code, out, _ = ready("audit", "show")
    assert code == 0 and "create" in out and "admin" in out


def test_inspector_verifies_a_copied_file_offline(ready: Cli, tmp_path: Path) -> None:
    """A standalone copy, read-only, in a fresh process with no login and no environment."""
    copy = tmp_path / "inspection" / "copy.sqlite3"
    copy.parent.mkdir()
    copy.write_bytes(ready.db.read_bytes())
    copy.chmod(0o444)
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "audit", "verify", "--db", str(copy), "--json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True


def test_signature_enrolment(ready: Cli) -> None:
    _add_user(ready, "sup1", "supervisor")
    code, out, err = ready.as_user(
        "admin", "users", "verify-identity", "sup1", "--method", "passport"
    )
    assert code == 2 and "created the account of sup1" in err  # issue 13: a second admin
    code, out, err = ready.as_user(
        verifier(ready), "users", "verify-identity", "sup1", "--method", "passport"
    )
    assert code == 0, err
    code, out, err = ready.as_user("sup1", "users", "acknowledge", "--json", times=2)
    assert code == 0, err
    assert "legally binding" in json.loads(out)["statement"]
    code, out, _ = ready.as_user("admin", "users", "list", "--json")
    (sup,) = [u for u in json.loads(out)["users"] if u["user_id"] == "sup1"]
    assert sup["identity_verified_by"] == "admin.b" and sup["signature_ack_at"]
