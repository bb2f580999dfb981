"""The records commands: init, db upgrade, users, research, audit verify/show."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from printpharm.cli import main

ADMIN_PW = "correct-horse-42-battery"


@pytest.fixture
def dbfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRINTPHARM_ARGON2", "1,8,1")
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "bench-3")
    monkeypatch.delenv("PRINTPHARM_DATABASE_URL", raising=False)
    return tmp_path / "records.sqlite3"


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ready(
    dbfile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    code, out, err = run(
        monkeypatch,
        capsys,
        "init",
        "--db",
        str(dbfile),
        "--admin",
        "admin",
        "--full-name",
        "Ada Admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0, err
    assert "administrator admin created" in out
    return dbfile


def _add_user(monkeypatch, capsys, db: Path, user_id: str, role: str) -> str:  # type: ignore[no-untyped-def]
    code, out, err = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        user_id,
        "--full-name",
        user_id.title(),
        "--role",
        role,
        "--db",
        str(db),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0, err
    temporary = json.loads(out)["temporary_password"]
    new = f"{user_id[::-1]}-own-passphrase"
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "passwd",
        "--db",
        str(db),
        "--user",
        user_id,
        "--password-stdin",
        stdin=f"{temporary}\n{new}\n",
    )
    assert code == 0, err
    return new


def test_init_is_refused_once_an_administrator_exists(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "init",
        "--db",
        str(ready),
        "--admin",
        "eve",
        "--password-stdin",
        stdin="some-long-password-1\n",
    )
    assert code == 2 and "exists already" in err


def test_init_refuses_a_weak_password(
    dbfile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "init",
        "--db",
        str(dbfile),
        "--admin",
        "admin",
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 2 and "minimum is 12" in err


def test_db_upgrade_is_idempotent(
    dbfile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "db", "upgrade", "--db", str(dbfile), "--json")
    assert code == 0 and json.loads(out)["before"] is None
    code, out, _ = run(monkeypatch, capsys, "db", "upgrade", "--db", str(dbfile), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["before"] == payload["after"] is not None


def test_commands_need_a_migrated_database(
    dbfile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "list",
        "--db",
        str(dbfile),
        "--user",
        "a",
        "--password-stdin",
        stdin="x\n",
    )
    assert code == 2 and "db upgrade" in err


def test_users_lifecycle(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_user(monkeypatch, capsys, ready, "tech1", "technician")
    code, out, _ = run(
        monkeypatch,
        capsys,
        "users",
        "list",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PW + "\n",
    )
    users = {u["user_id"]: u for u in json.loads(out)["users"]}
    assert code == 0 and users["tech1"]["role"] == "technician"
    assert "password_hash" not in users["tech1"]
    code, out, _ = run(
        monkeypatch,
        capsys,
        "users",
        "reset-password",
        "tech1",
        "--reason",
        "forgotten",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0 and len(json.loads(out)["temporary_password"]) >= 16
    code, out, _ = run(
        monkeypatch,
        capsys,
        "users",
        "disable",
        "tech1",
        "--reason",
        "left",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0 and "disabled" in out
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "tech1",
        "--full-name",
        "X",
        "--role",
        "technician",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 2 and "never reused" in err


def test_technician_cannot_add_users_or_unlock_research(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = _add_user(monkeypatch, capsys, ready, "tech1", "technician")
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "tech2",
        "--full-name",
        "T",
        "--role",
        "technician",
        "--db",
        str(ready),
        "--user",
        "tech1",
        "--password-stdin",
        stdin=pw + "\n",
    )
    assert code == 2 and "users.manage" in err
    code, _, err = run(
        monkeypatch,
        capsys,
        "research",
        "unlock",
        "--reason",
        "x",
        "--minutes",
        "5",
        "--db",
        str(ready),
        "--user",
        "tech1",
        "--password-stdin",
        stdin=f"{pw}\n{pw}\n",
    )
    assert code == 2 and "research.unlock" in err


def test_wrong_password_is_refused(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "list",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin="not-the-password\n",
    )
    assert code == 2 and json.loads(err)["error"].startswith("login: wrong user ID or password")


def test_research_unlock_status_lock(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = _add_user(monkeypatch, capsys, ready, "sup1", "supervisor")
    code, out, err = run(
        monkeypatch,
        capsys,
        "research",
        "unlock",
        "--reason",
        "rheology",
        "--minutes",
        "30",
        "--db",
        str(ready),
        "--user",
        "sup1",
        "--password-stdin",
        stdin=f"{pw}\n{pw}\n",
    )
    assert code == 0, err
    code, out, _ = run(monkeypatch, capsys, "research", "status", "--db", str(ready), "--json")
    assert json.loads(out)["active"] is True
    code, out, _ = run(
        monkeypatch,
        capsys,
        "research",
        "lock",
        "--db",
        str(ready),
        "--user",
        "sup1",
        "--password-stdin",
        stdin=pw + "\n",
    )
    assert code == 0 and "locked mode" in out
    code, out, _ = run(
        monkeypatch,
        capsys,
        "audit",
        "show",
        "--db",
        str(ready),
        "--record-type",
        "research",
        "--json",
    )
    events = json.loads(out)["events"]
    assert [e["action"] for e in events] == ["unlock", "lock"]
    assert events[0]["reason"] == "rheology" and events[0]["workstation"] == "bench-3"


def test_audit_verify_and_tampering(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "audit", "verify", "--db", str(ready), "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] is True and payload["first_broken"] is None
    assert payload["events"] >= 1
    con = sqlite3.connect(ready)
    con.execute("DROP TRIGGER audit_events_no_update")
    con.execute("UPDATE audit_events SET user_name = 'Mallory' WHERE seq = 1")
    con.commit()
    con.close()
    code, out, _ = run(monkeypatch, capsys, "audit", "verify", "--db", str(ready), "--json")
    payload = json.loads(out)
    assert code == 1 and payload["ok"] is False
    assert payload["first_broken"]["seq"] == 1 and payload["first_broken"]["problem"] == "content"
    code, out, _ = run(monkeypatch, capsys, "audit", "verify", "--db", str(ready))
    assert code == 1 and "BROKEN at event 1" in out


def test_audit_verify_on_a_missing_or_foreign_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "audit", "verify", "--db", str(tmp_path / "no.db"))
    assert code == 2 and "does not exist" in err
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    code, _, err = run(monkeypatch, capsys, "audit", "verify", "--db", str(tmp_path / "other.db"))
    assert code == 2 and "no printpharm records" in err


def test_audit_show_filters_by_batch(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "audit", "show", "--db", str(ready), "--batch", "B-404", "--json"
    )
    assert code == 0 and json.loads(out)["events"] == []
    code, out, _ = run(monkeypatch, capsys, "audit", "show", "--db", str(ready))
    assert code == 0 and "create" in out and "admin" in out


def test_inspector_verifies_a_copied_file_offline(ready: Path, tmp_path: Path) -> None:
    """A standalone copy, read-only, in a fresh process with no login and no environment."""
    copy = tmp_path / "inspection" / "copy.sqlite3"
    copy.parent.mkdir()
    copy.write_bytes(ready.read_bytes())
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


def test_signature_enrolment(
    ready: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = _add_user(monkeypatch, capsys, ready, "sup1", "supervisor")
    code, out, err = run(
        monkeypatch,
        capsys,
        "users",
        "verify-identity",
        "sup1",
        "--method",
        "passport",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0, err
    code, out, err = run(
        monkeypatch,
        capsys,
        "users",
        "acknowledge",
        "--db",
        str(ready),
        "--user",
        "sup1",
        "--password-stdin",
        "--json",
        stdin=f"{pw}\n{pw}\n",
    )
    assert code == 0, err
    assert "legally binding" in json.loads(out)["statement"]
    code, out, _ = run(
        monkeypatch,
        capsys,
        "users",
        "list",
        "--db",
        str(ready),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PW + "\n",
    )
    (sup,) = [u for u in json.loads(out)["users"] if u["user_id"] == "sup1"]
    assert sup["identity_verified_by"] == "admin" and sup["signature_ack_at"]
