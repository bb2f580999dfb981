"""Issue 13 at the command line: site key at init, anchors, verify, rotation, bad inputs."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli


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
    code, _, err = ready.as_user("admin", "users", "list")
    assert code != 0 and "Production is read-only" in err


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
