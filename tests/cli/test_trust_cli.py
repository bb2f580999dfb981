"""Issue 13 at the command line: site key at init, anchors, verify, rotation, bad inputs."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, pw


@pytest.fixture
def ready(tmp_path: Path, make_cli: Callable[[Path], Cli], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PRINTPHARM_KEY_DIR", str(tmp_path / "keys"))  # this test's keys only
    cli = make_cli(tmp_path / "records.sqlite3")
    code, _, err = cli.init("--full-name", "Ada Admin")
    assert code == 0, err
    return cli


def test_init_creates_a_private_site_key_and_verify_names_it(ready: Cli) -> None:
    keys = list(Path(os.environ["PRINTPHARM_KEY_DIR"]).glob("*.key"))
    assert len(keys) == 1 and keys[0].stat().st_mode & 0o777 == 0o600
    code, out, _ = ready("audit", "verify", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and payload["key_id"] == keys[0].stem


@pytest.mark.parametrize("minutes", ["nan", "inf", "1e308", "-5", "0"])
def test_research_unlock_refuses_absurd_minutes_with_exit_2(ready: Cli, minutes: str) -> None:
    code, _, err = ready.as_user(
        "admin", "research", "unlock", "--reason", "x", "--minutes", minutes, times=2
    )
    assert code == 2 and "--minutes" in err and "internal error" not in err


def test_anchor_then_a_cut_tail_is_reported_by_verify(ready: Cli, tmp_path: Path) -> None:
    code, out, err = ready("audit", "anchor")
    assert code == 0 and "anchored event" in out, err
    log = Path(os.environ["PRINTPHARM_ANCHOR_LOG"])
    assert log.stat().st_mode & 0o777 == 0o600
    con = sqlite3.connect(ready.db)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    last = con.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
    con.execute("DELETE FROM audit_events WHERE seq = ?", (last,))
    prev = con.execute("SELECT event_hash FROM audit_events WHERE seq = ?", (last - 1,)).fetchone()
    con.execute("UPDATE audit_head SET last_seq = ?, last_hash = ?", (last - 1, prev[0]))
    con.commit()
    con.close()
    code, out, _ = ready("audit", "verify")
    assert code == 1 and "FAILED" in out
    assert "not signed by the site key" in out and "cut from the end" in out
    code, out, err = ready.as_user("admin", "users", "list")  # viewing still works
    assert code == 0 and "admin" in out and "Production is read-only" in err
    code, _, err = ready.as_user("admin", "users", "add", "tess", "--full-name", "Tess",
                                 "--role", "technician")  # fmt: skip
    assert code == 2 and "Production is read-only" in err  # recording does not


def test_rotate_key_keeps_the_chain_verifiable(ready: Cli) -> None:
    code, out, err = ready.as_user("admin", "audit", "rotate-key", "--reason", "yearly")
    assert code == 0 and "new site key" in out, err
    code, out, _ = ready("audit", "verify", "--json")
    payload = json.loads(out)
    assert code == 0 and payload["ok"] and payload["anchors"] >= 1
    assert len(list(Path(os.environ["PRINTPHARM_KEY_DIR"]).glob("*.key"))) == 2


def test_without_the_key_file_the_database_is_read_only(ready: Cli) -> None:
    for key in Path(os.environ["PRINTPHARM_KEY_DIR"]).glob("*.key"):
        key.unlink()
    code, out, _ = ready("audit", "verify")
    assert code == 0  # reading and verifying need no private key
    code, _, err = ready.as_user("admin", "users", "add", "x1", "--full-name", "X", "--role",
                                 "technician")  # fmt: skip
    assert code != 0 and "does not hold" in err


def test_a_damaged_key_file_makes_the_database_read_only_and_the_refusal_says_why(
    ready: Cli,
) -> None:
    """Before, the write said only "does not hold": nobody learnt that the file was damaged."""
    (key,) = Path(os.environ["PRINTPHARM_KEY_DIR"]).glob("*.key")
    with key.open("a") as f:
        f.write("left over from an editor\n")
    code, _, err = ready.as_user("admin", "users", "add", "x1", "--full-name", "X", "--role",
                                 "technician")  # fmt: skip
    assert code == 2 and "does not hold" in err, err
    assert str(key) in err and "after its END line" in err, err
    code, _, _ = ready("audit", "verify")
    assert code == 0  # reading still works


def test_init_prints_a_recovery_code_that_brings_back_a_locked_out_administrator(
    tmp_path: Path, make_cli: Callable[[Path], Cli]
) -> None:
    """Issue 13: break-glass — both administrators locked out, the sealed code unlocks one."""
    cli = make_cli(tmp_path / "records.sqlite3")
    code, out, err = cli.init("--json")
    assert code == 0, err
    recovery = json.loads(out)["recovery_code"]
    assert len(recovery.replace("-", "")) == 30
    cli.add_user("admin.b", "administrator", "Bea Admin", pw("admin.b"))
    break_in = ["users", "break-glass", "admin", "--reason", "both locked out", "--password-stdin"]
    code, _, err = cli(*break_in, stdin=recovery + "\n")
    assert code == 2 and "an administrator can still log in" in err
    for user in ("admin", "admin.b"):  # five wrong passwords each
        for _ in range(5):
            cli(*["users", "list", "--user", user, "--password-stdin"], stdin="wrong-pass\n")
    code, out, err = cli(*break_in, "--json", stdin=recovery + "\n")
    assert code == 0, err
    done = json.loads(out)
    assert done["administrator"] == "admin" and done["recovery_code"] != recovery
    back = f"{done['temporary_password']}\nwe-are-back-in-business-9\n"
    code, _, err = cli("users", "passwd", "--user", "admin", "--password-stdin", stdin=back)
    assert code == 0, err
    code, out, _ = cli("audit", "show", "--json")
    actions = [e["action"] for e in json.loads(out)["events"]]
    assert "break-glass" in actions
    code, _, err = cli(*break_in, stdin=recovery + "\n")  # spent
    assert code == 2


def test_a_crashed_batch_is_closed_at_the_next_cli_start_and_recover_needs_a_supervisor(
    ready: Cli,
) -> None:
    """Issue 13: the CLI's start-up closes this workstation's crashed batch, as the GUI does."""
    from printpharm.services.access.context import audit_context
    from printpharm.storage.audit import AuditContext, AuditEntry
    from printpharm.storage.db import Database
    from printpharm.storage.repositories import unit_of_work
    from printpharm.storage.sitekey import load_site_key

    ready.add_user("tech1", "technician", "Tess Tech", pw("tech1"))
    db = Database(f"sqlite:///{ready.db}")
    try:
        with unit_of_work(db, AuditContext("probe", "-"), write=False) as uow:
            key = uow.current_key()
        assert key is not None
        context = dataclasses.replace(audit_context(), signer=load_site_key(key.key_id))
        with unit_of_work(db, context) as uow:  # a run killed before it closed its batch
            uow.batches.create("B-crash", Decimal("10"), 2, "tech1", uow.now(), False, {})
            uow.batches.set_status("B-crash", "printing")
            uow.audit.append(AuditEntry("batch", "create", "B-crash", "tech1", None,
                                        batch_id="B-crash"))  # fmt: skip
    finally:
        db.dispose()
    code, _, err = ready.as_user("tech1", "batches", "recover", "B-crash")
    assert code == 2 and "batches.recover" in err  # a technician may not
    code, out, err = ready.as_user("tech1", "batches", "show", "B-crash", "--json")
    assert code == 0 and json.loads(out)["batch"]["status"] == "interrupted", err
