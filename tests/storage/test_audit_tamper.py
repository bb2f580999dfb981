"""Tampering with a SQLite file behind printpharm's back (sqlite3 module) is caught.

Also: two processes appending at the same time never fork the chain (SQLite
file and PostgreSQL).
"""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from printpharm.storage.audit import AuditEntry, ChainReport, canonical_json, sha256_hex
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.storage._dbs import DbSpec, make_context

N = 10


@pytest.fixture
def audited_file(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "records.sqlite3"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with unit_of_work(db, make_context()) as uow:
        uow.audit.append_many(
            AuditEntry(
                "unit",
                "create",
                f"U{i}",
                "tech1",
                "Tess Tech",
                new={"mass_mg": f"{250 + i}.0"},
                batch_id="B1",
            )
            for i in range(1, N + 1)
        )
    db.dispose()
    return path


def _verify(path: Path) -> ChainReport:
    db = Database(f"sqlite:///{path}", read_only=True)
    with unit_of_work(db, make_context(), write=False) as uow:
        report = uow.verify_chain()
    db.dispose()
    return report


def _tamper(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    for sql in statements:
        con.execute(sql, params if "?" in sql else ())
    con.commit()
    con.close()


def test_untouched_file_verifies(audited_file: Path) -> None:
    report = _verify(audited_file)
    assert report.ok and report.events == N


def test_triggers_refuse_edits_through_sqlite3(audited_file: Path) -> None:
    con = sqlite3.connect(audited_file)
    for sql in ("UPDATE audit_events SET reason='x'", "DELETE FROM audit_events WHERE seq=2"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    con.close()
    assert _verify(audited_file).ok


def _swap(path: Path) -> None:
    _tamper(
        path,
        "UPDATE audit_events SET seq = -4 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = 5",
        "UPDATE audit_events SET seq = 5 WHERE seq = -4",
    )


def _forge_middle(path: Path) -> None:
    """Insert a correctly hashed event 6 after event 5 and relink the old event 6 to it."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    con.execute("DROP TRIGGER audit_events_no_update")
    for seq in range(N, 5, -1):
        con.execute("UPDATE audit_events SET seq = ? WHERE seq = ?", (seq + 1, seq))
    five = dict(con.execute("SELECT * FROM audit_events WHERE seq = 5").fetchone())
    forged = dict(five, seq=6, prev_hash=five["event_hash"], record_id="U-forged")
    forged.pop("event_hash")
    forged["clock_setback"] = bool(forged["clock_setback"])
    forged["event_hash"] = sha256_hex(canonical_json(forged))
    con.execute("UPDATE audit_events SET prev_hash = ? WHERE seq = 7", (forged["event_hash"],))
    con.execute(
        f"INSERT INTO audit_events ({','.join(forged)}) VALUES ({','.join('?' * len(forged))})",
        tuple(forged.values()),
    )
    con.commit()
    con.close()


def _forge_tail_correctly(path: Path) -> None:
    """An attacker who knows the algorithm appends a perfectly chained event."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    last = dict(con.execute("SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone())
    forged = dict(last, seq=N + 1, prev_hash=last["event_hash"], record_id="U-ghost")
    forged.pop("event_hash")
    forged["clock_setback"] = bool(forged["clock_setback"])
    forged["event_hash"] = sha256_hex(canonical_json(forged))
    con.execute(
        f"INSERT INTO audit_events ({','.join(forged)}) VALUES ({','.join('?' * len(forged))})",
        tuple(forged.values()),
    )
    con.commit()
    con.close()


def _sql(*statements: str) -> Callable[[Path], None]:
    return lambda path: _tamper(path, *statements)


UPD = "UPDATE audit_events SET "
DEL = "DELETE FROM audit_events WHERE "
CASES: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("edit a value", _sql(UPD + 'new_value=\'{"mass_mg":"250.0"}\' WHERE seq=7'), 7, "content"),
    ("edit time", _sql(UPD + "occurred_at='2020-01-01T00:00:00.000Z' WHERE seq=2"), 2, "content"),
    ("edit + hash", _sql(UPD + f"reason='x', event_hash='{'a' * 64}' WHERE seq=3"), 3, "content"),
    ("delete a row", _sql(DEL + "seq=6"), 6, "missing"),
    ("delete the first row", _sql(DEL + "seq=1"), 1, "missing"),
    ("delete the last rows", _sql(DEL + f"seq>={N - 1}"), N - 1, "missing"),
    ("reorder two rows", _swap, 4, "link"),
    ("insert a forged row", _forge_middle, 7, "content"),
    ("append a correctly chained row", _forge_tail_correctly, N + 1, "inserted"),
]


@pytest.mark.parametrize(("name", "tamper", "seq", "problem"), CASES, ids=[c[0] for c in CASES])
def test_tampering_is_detected(
    audited_file: Path, name: str, tamper: Callable[[Path], None], seq: int, problem: str
) -> None:
    """AUD-06: edit, delete, reorder and insert are caught with the event's number."""
    tamper(audited_file)
    report = _verify(audited_file)
    assert not report.ok, name
    assert report.first_broken is not None
    assert (report.first_broken.seq, report.first_broken.problem) == (seq, problem)
    assert str(seq) in report.first_broken.detail


def _writer(spec: DbSpec, name: str, count: int) -> None:
    db = spec.open()
    for i in range(count):
        with unit_of_work(db, make_context()) as uow:
            uow.audit.append(AuditEntry("unit", "create", f"{name}-{i}", name, name))
            if i % 10 == 0:
                uow.audit.append_many(
                    AuditEntry("unit", "modify", f"{name}-{i}-{k}", reason="retry")
                    for k in range(3)
                )
    db.dispose()


def test_two_processes_never_fork_the_chain(db_spec: DbSpec) -> None:
    db = db_spec.open()
    db.upgrade()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_spec, f"w{k}", 60)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with unit_of_work(db, make_context(), write=False) as uow:
        report = uow.verify_chain()
        events = uow.events()
    db.dispose()
    assert report.ok, report.first_broken
    assert report.events == 2 * (60 + 6 * 3) == len(events)
    assert {e.user_id for e in events if e.action == "create"} == {"w0", "w1"}
    assert len({e.prev_hash for e in events}) == len(events)
