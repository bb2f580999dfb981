"""The hash-chained audit trail: content, transactions, triggers, verification."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from printpharm.errors import AuditError, InputError
from printpharm.storage.audit import (
    GENESIS_HASH,
    AuditEntry,
    canonical_json,
    sha256_hex,
)
from printpharm.storage.canonical import HASHED_FIELDS, event_hash
from printpharm.storage.db import Database
from printpharm.storage.repositories import UserRecord, unit_of_work
from tests.storage._dbs import FakeClock, make_context


def _append(db: Database, n: int, clock: FakeClock | None = None) -> None:
    context = make_context(clock)
    with unit_of_work(db, context) as uow:
        uow.audit.append_many(
            AuditEntry(
                "batch",
                "create",
                f"B{i}",
                "tech1",
                "Tess Tech",
                new={"dose_mg": Decimal("2.50"), "units": i},
                batch_id=f"B{i % 3}",
            )
            for i in range(1, n + 1)
        )


def _user(user_id: str) -> UserRecord:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return UserRecord(user_id, "Pat Pharm", "supervisor", f"$argon2id$x-{user_id}", now, now)


def test_canonical_json_is_sorted_compact_and_exact() -> None:
    text = canonical_json({"b": Decimal("1.50"), "a": [1, "é"], "c": None})
    assert text == '{"a":[1,"é"],"b":"1.50","c":null}'
    with pytest.raises(AuditError, match="float"):
        canonical_json({"mass_mg": 0.1})


def test_events_chain_from_genesis(db: Database) -> None:
    _append(db, 5)
    with unit_of_work(db, make_context(), write=False) as uow:
        events = uow.events()
        report = uow.verify_chain()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.event_hash
    assert report.ok and report.events == 5 and report.first_broken is None
    assert report.last_hash == events[-1].event_hash


def test_event_records_who_what_when_why_where(db: Database) -> None:
    """AUD-02/AUD-03/AUD-13: all attributes present; time from the clock, UTC with ms."""
    clock = FakeClock(datetime(2026, 7, 1, 12, 0, 0, 987654, tzinfo=UTC))
    with unit_of_work(db, make_context(clock)) as uow:
        event = uow.audit.append(
            AuditEntry(
                "ink_lot",
                "modify",
                "L-7",
                "sup1",
                "Sue Super",
                "assay_mg_per_g",
                "  re-assayed by QC lab  ",
                old={"assay": Decimal("99.1")},
                new={"assay": Decimal("98.70")},
                batch_id="B1",
            )
        )
    (stored,) = [e for e in _events(db) if e.seq == event.seq]
    assert stored == event
    assert stored.occurred_at == "2026-07-01T12:00:00.987Z"
    assert re.fullmatch(r".+ UTC[+-]\d\d:\d\d", stored.local_tz)
    assert (stored.user_id, stored.user_name) == ("sup1", "Sue Super")
    assert (stored.record_type, stored.record_id, stored.field) == (
        "ink_lot",
        "L-7",
        "assay_mg_per_g",
    )
    assert stored.reason == "  re-assayed by QC lab  "  # verbatim
    assert stored.old() == {"assay": "99.1"} and stored.new() == {"assay": "98.70"}
    assert (stored.workstation, stored.app_version, stored.config_version) == (
        "test-ws",
        "0.1.0",
        "cfg-7",
    )
    assert stored.mode == "locked" and stored.batch_id == "B1"


def _events(db: Database) -> list:  # type: ignore[type-arg]
    with unit_of_work(db, make_context(), write=False) as uow:
        return uow.events()


@pytest.mark.parametrize("action", ["modify", "delete", "disable", "retire", "reset-password"])
@pytest.mark.parametrize("reason", [None, "", "   \t"])
def test_reason_is_mandatory_for_changes(db: Database, action: str, reason: str | None) -> None:
    """AUD-04."""
    with pytest.raises(InputError, match="reason is required"):
        with unit_of_work(db, make_context()) as uow:
            uow.audit.append(AuditEntry("recipe", action, "R1", "sup1", "Sue", reason=reason))
    assert _events(db) == []


def test_change_and_event_commit_or_roll_back_together(db: Database) -> None:
    """AUD-01: exactly one event with the change; a rollback removes both."""
    with pytest.raises(RuntimeError):
        with unit_of_work(db, make_context()) as uow:
            uow.users.add(_user("rolled"))
            uow.audit.append(AuditEntry("user", "create", "rolled", new={"role": "supervisor"}))
            raise RuntimeError("crash before commit")
    with unit_of_work(db, make_context()) as uow:
        assert uow.users.get("rolled") is None
        assert uow.events() == []
        uow.users.add(_user("kept"))
        uow.audit.append(AuditEntry("user", "create", "kept", new={"role": "supervisor"}))
    events = _events(db)
    assert [(e.record_id, e.action) for e in events] == [("kept", "create")]
    with unit_of_work(db, make_context(), write=False) as uow:
        assert uow.users.get("kept") is not None
        assert uow.verify_chain().ok


def test_clock_setback_is_flagged(db: Database) -> None:
    """AUD-13: a clock set back is recorded and reported, the chain stays valid."""
    clock = FakeClock()
    _append(db, 2, clock)
    clock.advance(-3600)
    _append(db, 1, clock)
    with unit_of_work(db, make_context(), write=False) as uow:
        report = uow.verify_chain()
        events = uow.events()
    assert [e.clock_setback for e in events] == [False, False, True]
    assert report.ok and report.clock_setbacks == (3,)


def test_events_are_filtered_by_batch(db: Database) -> None:
    _append(db, 6)
    with unit_of_work(db, make_context(), write=False) as uow:
        assert [e.record_id for e in uow.events(batch_id="B1")] == ["B1", "B4"]
        assert [e.seq for e in uow.events(limit=2)] == [5, 6]


def test_update_and_delete_are_refused_by_the_database(db: Database) -> None:
    """AUD-05: triggers refuse UPDATE and DELETE on audit_events and signatures."""
    _append(db, 3)
    for sql in (
        "UPDATE audit_events SET reason = 'forged' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
        "UPDATE signatures SET meaning = 'approved'",
        "DELETE FROM users",
    ):
        if "signatures" in sql or "users" in sql:
            with unit_of_work(db, make_context()) as uow:
                uow.users.add(_user(f"u{abs(hash(sql)) % 1000}"))
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                if "signatures" in sql:
                    conn.exec_driver_sql(
                        "INSERT INTO signatures (record_type, record_id, record_version, "
                        "content_sha256, meaning, signer_user_id, signer_name, signed_at, "
                        "local_tz, signature_sha256) SELECT 'batch', 'B1', 1, 'h', 'released', "
                        "user_id, full_name, 't', 'z', 's' FROM users LIMIT 1"
                    )
                conn.exec_driver_sql(sql)
    if db.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE audit_events")
    with unit_of_work(db, make_context(), write=False) as uow:
        report = uow.verify_chain()
    # 3 events appended first, then one row seal for each of the two users added
    assert report.ok and report.events == 3 + 2


def _disable_triggers(conn: sqlalchemy.Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")


@pytest.mark.parametrize(
    ("sql", "seq", "problem"),
    [
        ('UPDATE audit_events SET new_value = \'{"dose_mg":"25"}\' WHERE seq = 4', 4, "content"),
        ("UPDATE audit_events SET user_name = 'Someone Else' WHERE seq = 1", 1, "content"),
        ("DELETE FROM audit_events WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_events WHERE seq = 8", 8, "missing"),
    ],
)
def test_sql_tampering_is_detected_on_both_backends(
    db: Database, sql: str, seq: int, problem: str
) -> None:
    """AUD-06 on SQLite and PostgreSQL, after switching the triggers off."""
    _append(db, 8)
    with db.engine.begin() as conn:
        _disable_triggers(conn)
        conn.exec_driver_sql(sql)
    with unit_of_work(db, make_context(), write=False) as uow:
        report = uow.verify_chain()
    assert not report.ok
    assert report.first_broken is not None
    assert (report.first_broken.seq, report.first_broken.problem) == (seq, problem)


@given(
    st.fixed_dictionaries(
        {
            key: st.one_of(st.none(), st.text(), st.integers(), st.booleans())
            for key in HASHED_FIELDS
        }
    )
)
def test_fast_event_encoding_equals_canonical_json(content: dict[str, object]) -> None:
    """The verifier's hand-rolled encoder produces exactly canonical_json()."""
    assert event_hash(content) == sha256_hex(canonical_json(content))
