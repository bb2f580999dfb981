"""The deployment commands: ``doctor`` and ``federation export/import/verify``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from printpharm.cli import main

ADMIN_PW = "correct-horse-42-battery"


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


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRINTPHARM_ARGON2", "1,8,1")
    monkeypatch.delenv("PRINTPHARM_DATABASE_URL", raising=False)


def _init(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "init",
        "--db",
        str(db),
        "--admin",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0, err


def _supervisor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db: Path
) -> str:
    code, out, err = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "sup1",
        "--full-name",
        "Sue Pharmacist",
        "--role",
        "supervisor",
        "--db",
        str(db),
        "--user",
        "admin",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PW + "\n",
    )
    assert code == 0, err
    temporary, new = json.loads(out)["temporary_password"], "sue-own-passphrase-77"
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "passwd",
        "--db",
        str(db),
        "--user",
        "sup1",
        "--password-stdin",
        stdin=f"{temporary}\n{new}\n",
    )
    assert code == 0, err
    return new


def test_doctor_on_a_ready_workstation_passes_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ws.sqlite3"
    _init(monkeypatch, capsys, db)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code, out, err = run(
        monkeypatch,
        capsys,
        "doctor",
        "--db",
        str(db),
        "--printer-port",
        "sim://printer",
        "--balance-port",
        "sim://balance",
        "--json",
    )
    payload = json.loads(out)
    statuses = {c["name"]: c["status"] for c in payload["checks"]}
    assert code == 0 and payload["ok"], err
    assert statuses["database"] == statuses["audit chain"] == statuses["printer"] == "ok"
    assert statuses["serial ports"] == "warn"


def test_doctor_fails_with_fixes_when_the_database_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "doctor", "--db", str(tmp_path / "none.sqlite3"))
    assert code == 1
    assert "[FAIL] database" in out and "fix: run `printpharm init`" in out
    assert out.rstrip().endswith("some checks FAILED: see the fixes above")


def test_export_import_verify_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standalone, central, export = (
        tmp_path / "ws.sqlite3",
        tmp_path / "c.sqlite3",
        tmp_path / "x.json",
    )
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "ward-3")
    _init(monkeypatch, capsys, standalone)
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "server")
    _init(monkeypatch, capsys, central)
    password = _supervisor(monkeypatch, capsys, central)

    code, out, err = run(
        monkeypatch, capsys, "federation", "export", "--db", str(standalone), "--out", str(export)
    )
    assert code == 0 and "of workstation ward-3" in out, err
    argv = ("federation", "import", "--db", str(central), "--user", "sup1", "--password-stdin")
    code, out, err = run(monkeypatch, capsys, *argv, str(export), "--json", stdin=password + "\n")
    assert code == 0, err
    result = json.loads(out)
    assert result["source_workstation"] == "ward-3" and not result["already_imported"]
    code, out, _ = run(monkeypatch, capsys, *argv, str(export), stdin=password + "\n")
    assert code == 0 and out.startswith("nothing new")

    assert run(monkeypatch, capsys, "federation", "verify", "--db", str(central))[:2] == (
        0,
        "ward-3: 1 events, intact\n",
    )
    for db in (standalone, central):
        assert run(monkeypatch, capsys, "audit", "verify", "--db", str(db))[0] == 0


def test_importing_an_edited_export_exits_2_naming_the_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standalone, central, export = (
        tmp_path / "ws.sqlite3",
        tmp_path / "c.sqlite3",
        tmp_path / "x.json",
    )
    _init(monkeypatch, capsys, standalone)
    _init(monkeypatch, capsys, central)
    password = _supervisor(monkeypatch, capsys, central)
    run(monkeypatch, capsys, "federation", "export", "--db", str(standalone), "--out", str(export))
    document = json.loads(export.read_text(encoding="utf-8"))
    document["events"][0]["user_name"] = "Mallory"
    export.write_text(json.dumps(document), encoding="utf-8")

    code, _, err = run(
        monkeypatch,
        capsys,
        "federation",
        "import",
        "--db",
        str(central),
        "--user",
        "sup1",
        "--password-stdin",
        str(export),
        stdin=password + "\n",
    )
    assert code == 2 and "event 1 was altered" in err
    assert run(monkeypatch, capsys, "federation", "verify", "--db", str(central))[1] == (
        "no imported chains\n"
    )
