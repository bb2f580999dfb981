"""Forgeries by someone with full SQL access but without the site key are detected (issue 13).

Each attack of the red-team report is replayed on SQLite and PostgreSQL with the
triggers switched off (as the database owner or a file copy would), re-hashing the
chain and updating the head as a careful forger would. ``verify_integrity`` must
fail naming what was forged, the app must refuse to extend a forged chain, and the
batch views' checks must not take forged rows for valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from printpharm.errors import AuditChainBroken
from printpharm.services.access.site_trust import anchor_head
from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.canonical import SORTED_FIELDS, event_hash
from printpharm.storage.db import Database
from printpharm.storage.integrity import IntegrityReport, read_anchors
from printpharm.storage.repositories import UnitOfWork, UserRecord, unit_of_work
from printpharm.storage.signatures import SignatureRecord
from printpharm.storage.sitekey import SiteKey, create_site_key
from tests.storage._dbs import FakeClock, make_context

AT = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


class Keyed:
    """A keyed database with a batch of 3 units, a review signature and a research period."""

    def __init__(self, db: Database, key: SiteKey, clock: FakeClock) -> None:
        self.db, self.key, self.clock = db, key, clock
        self.context = AuditContext("ws-1", "0.1.0", "cfg", None, clock, key)

    def uow(self) -> Any:
        return unit_of_work(self.db, self.context)

    def verify(self, anchors: Path | None = None) -> IntegrityReport:
        with unit_of_work(self.db, self.context, write=False) as uow:
            return uow.verify_integrity(read_anchors(anchors) if anchors else ())

    def sql(self, *statements: str, **params: Any) -> None:
        """Run statements as a forger: triggers off (owner / superuser / a copy of the file)."""
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                for (name,) in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).all():
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            for statement in statements:
                conn.execute(text(statement), params)

    def events(self) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings().all()
        return [dict(r) for r in rows]

    def rechain(self, events: list[dict[str, Any]]) -> None:
        """Rewrite the whole chain from ``events`` (renumbered, re-hashed) and its head."""
        prev = "0" * 64
        for seq, e in enumerate(events, start=1):
            e["seq"], e["prev_hash"] = seq, prev
            e["clock_setback"] = bool(e["clock_setback"])
            e["event_hash"] = prev = event_hash({k: e[k] for k in SORTED_FIELDS})
        columns = [*SORTED_FIELDS, "event_hash"]
        self.sql("DELETE FROM audit_events")
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(
                text(
                    f"INSERT INTO audit_events ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                ),
                [{c: e[c] for c in columns} for e in events],
            )
            conn.execute(
                text("UPDATE audit_head SET last_seq = :s, last_hash = :h, last_occurred_at = :a"),
                {"s": len(events), "h": prev, "a": events[-1]["occurred_at"]},
            )


def _populate(uow: UnitOfWork) -> None:
    for user_id, role in (("tech1", "technician"), ("sup1", "supervisor")):
        uow.users.add(UserRecord(user_id, user_id, role, f"$argon2id$x-{user_id}", AT, AT))
    uow.batches.create("B1", Decimal("10"), 3, "tech1", AT)
    for i in (1, 2, 3):
        uow.batches.add_unit(
            "B1", UnitReading(i, Decimal("303.05"), Decimal("303.05"), "mg", AT, True)
        )
        uow.audit.append(AuditEntry("unit", "create", f"B1/{i}", "tech1", batch_id="B1"))
    uow.signatures.add(_signature("reviewed", "sig-review"))
    uow.research.start("sup1", "trial", AT, AT + timedelta(minutes=60))


def _signature(meaning: str, digest: str) -> SignatureRecord:
    return SignatureRecord(None, "batch", "B1", 4, "c" * 64, meaning, "sup1", "sup1",
                           "2026-03-29T00:00:00.000Z", "UTC UTC+00:00", None, digest)  # fmt: skip


@pytest.fixture
def keyed(db: Database, tmp_path: Path) -> Iterator[Keyed]:
    clock = FakeClock()
    key = create_site_key(tmp_path / "keys")
    with unit_of_work(db, make_context(clock)) as uow:
        uow.register_key(key, None, "admin")
    env = Keyed(db, key, clock)
    with env.uow() as uow:
        _populate(uow)
    yield env


def test_an_untouched_keyed_database_verifies(keyed: Keyed) -> None:
    report = keyed.verify()
    assert report.ok, report.problems()
    assert report.key_id == keyed.key.key_id and not report.row_problems


def _head_problem(report: IntegrityReport) -> None:
    assert not report.ok
    assert any("not signed by the site key" in p for p in report.key_problems), report.problems()


def test_deleting_the_last_events_and_updating_the_head_is_detected(keyed: Keyed) -> None:
    events = keyed.events()
    keyed.rechain(events[:-3])
    _head_problem(keyed.verify())
    with pytest.raises(AuditChainBroken, match="not signed by the site key"):
        with keyed.uow() as uow:
            uow.audit.append(AuditEntry("note", "create", "x"))


def test_appending_a_forged_event_and_updating_the_head_is_detected(keyed: Keyed) -> None:
    events = keyed.events()
    forged = dict(events[-1], action="release", record_type="batch", record_id="B1")
    keyed.rechain([*events, forged])
    _head_problem(keyed.verify())


def test_deleting_in_the_middle_renumbering_and_rehashing_is_detected(keyed: Keyed) -> None:
    events = keyed.events()
    keyed.rechain(events[:4] + events[6:])
    report = keyed.verify()
    _head_problem(report)


def test_a_forged_release_signature_with_its_own_chained_event_is_detected(
    keyed: Keyed,
) -> None:
    keyed.sql(
        "INSERT INTO signatures (record_type, record_id, record_version, content_sha256, "
        "meaning, signer_user_id, signer_name, signed_at, local_tz, signature_sha256) "
        "VALUES ('batch', 'B1', 4, :c, 'released', 'sup1', 'sup1', "
        "'2026-03-29T00:00:00.000Z', 'UTC UTC+00:00', 'forged')",
        c="c" * 64,
    )
    events = keyed.events()
    keyed.rechain([*events, dict(events[-1], action="sign", record_type="batch")])
    report = keyed.verify()
    _head_problem(report)
    assert any("released of B1" in p and "not sealed" in p for p in report.key_problems)
    assert any(p.table == "signatures" for p in report.row_problems)
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        forged = [s for s in uow.signatures.for_record("batch", "B1") if s.meaning == "released"]
        genuine = [s for s in uow.signatures.for_record("batch", "B1") if s.meaning == "reviewed"]
        assert uow.signatures.seal_problem(forged[0]) is not None
        assert uow.signatures.seal_problem(genuine[0]) is None


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("UPDATE units SET raw_reading = '0.2' WHERE unit_index = 2", "units"),
        ("UPDATE batches SET status = 'released'", "batches"),
        ("UPDATE research_sessions SET ends_at = :later", "research_sessions"),
        ("UPDATE users SET role = 'supervisor' WHERE user_id = 'tech1'", "users"),
        ("DELETE FROM units WHERE unit_index = 3", "units"),
    ],
)
def test_a_protected_row_changed_in_sql_is_reported_with_its_table_and_key(
    keyed: Keyed, statement: str, table: str
) -> None:
    if keyed.db.dialect == "postgresql" and "raw_reading" in statement:
        statement = statement.replace("'0.2'", "0.2")
    keyed.sql(statement, **({"later": AT + timedelta(days=3650)} if ":later" in statement else {}))
    report = keyed.verify()
    assert not report.ok
    assert [p.table for p in report.row_problems] == [table], report.problems()
    assert report.chain.ok and not report.key_problems  # the chain itself is untouched


def test_a_research_period_moved_ahead_in_sql_opens_nothing(keyed: Keyed) -> None:
    with keyed.uow() as uow:
        assert uow.mode().startswith("research:")
    keyed.clock.advance(3600)  # the genuine period (to 01:00) is over
    keyed.sql("UPDATE research_sessions SET ends_at = :later", later=AT + timedelta(days=3650))
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        assert uow.mode() == "locked"


def test_a_clock_set_back_fails_verification_and_raises_an_alarm(keyed: Keyed) -> None:
    keyed.clock.advance(-3600)
    with keyed.uow() as uow:
        event = uow.audit.append(AuditEntry("note", "create", "late"))
        assert event.clock_setback
    report = keyed.verify()
    assert not report.ok and report.chain.clock_setbacks == (event.seq,)
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        assert [a.kind for a in uow.alarms.unacknowledged()] == ["clock-setback"]


def test_a_small_clock_step_back_is_within_the_tolerance(keyed: Keyed) -> None:
    keyed.clock.advance(-1)
    with keyed.uow() as uow:
        assert not uow.audit.append(AuditEntry("note", "create", "ntp")).clock_setback
    assert keyed.verify().ok


def test_a_restored_older_copy_is_caught_by_the_anchor_log(
    keyed: Keyed, tmp_path: Path, sqlite_template: Path
) -> None:
    log = tmp_path / "anchors.jsonl"
    before = keyed.events()
    with keyed.uow() as uow:
        uow.audit.append(AuditEntry("batch", "release", "B1", "sup1", batch_id="B1"))
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        anchor_head(uow, log)
    assert keyed.verify(log).ok
    # the forger holds the site key too (or restores an old backup): a cut tail re-signed
    keyed.rechain(before)
    with unit_of_work(keyed.db, keyed.context) as uow:
        head = uow.signed_head()
        from printpharm.storage.sitekey import head_message

        signature = keyed.key.sign(
            head_message(head["seq"], head["event_hash"], head["occurred_at"], keyed.key.key_id)
        )
    keyed.sql("UPDATE audit_head SET key_id = :k, signature = :s", k=keyed.key.key_id, s=signature)
    report = keyed.verify(log)
    assert not report.key_problems  # signed with the real key...
    assert report.anchor_problem is not None and "cut from the end" in report.anchor_problem


def test_an_edited_anchor_log_is_reported(keyed: Keyed, tmp_path: Path) -> None:
    log = tmp_path / "anchors.jsonl"
    with unit_of_work(keyed.db, keyed.context, write=False) as uow:
        anchor_head(uow, log)
    log.write_text(log.read_text().replace('"seq":', '"seq":1', 1))
    report = keyed.verify(log)
    assert report.anchor_problem is not None and "line 1" in report.anchor_problem


def test_rotation_keeps_old_keys_and_the_new_key_signs(keyed: Keyed, tmp_path: Path) -> None:
    new = create_site_key(tmp_path / "keys")
    with keyed.uow() as uow:
        uow.register_key(new, keyed.key, "admin")
    rotated = Keyed(keyed.db, new, keyed.clock)
    with rotated.uow() as uow:
        uow.audit.append(AuditEntry("note", "create", "after rotation"))
    report = rotated.verify()
    assert report.ok and report.key_id == new.key_id, report.problems()
    with pytest.raises(Exception, match="site key"):
        with keyed.uow() as uow:  # the old key no longer extends the chain
            uow.audit.append(AuditEntry("note", "create", "old key"))


def test_the_key_file_is_private(tmp_path: Path) -> None:
    key = create_site_key(tmp_path / "k")
    assert key.path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "k").stat().st_mode & 0o077 == 0
