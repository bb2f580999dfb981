"""Verification of the hash chain: the first broken link, clock setbacks, row seals.

Split from :mod:`printpharm.storage.audit` (which re-exports these names).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from printpharm.storage.audit_tables import AuditHead
from printpharm.storage.canonical import SORTED_FIELDS, flat_canonical

__all__ = [
    "GENESIS_HASH",
    "SETBACK_TOLERANCE_S",
    "BrokenLink",
    "ChainReport",
    "setback_seconds",
    "verify_chain",
]

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64

#: A clock may step back this much (NTP slew, two workstations' clocks) before an
#: event is flagged as written after a clock setback (AUD-13).
SETBACK_TOLERANCE_S = 2.0


def setback_seconds(occurred_at: str, latest_before: str) -> float:
    """How many seconds ``occurred_at`` lies before ``latest_before`` (ISO UTC strings)."""
    a = datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    b = datetime.fromisoformat(latest_before.replace("Z", "+00:00"))
    return (b - a).total_seconds()


@dataclass(frozen=True)
class BrokenLink:
    """The first place verification failed: the event's sequence number and what is wrong."""

    seq: int
    problem: str
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`."""

    ok: bool
    events: int
    first_broken: BrokenLink | None
    clock_setbacks: tuple[int, ...] = ()
    last_hash: str = GENESIS_HASH


def verify_chain(
    session: Session,
    *,
    chunk: int = 20_000,
    sealed: dict[str, tuple[int, str | None]] | None = None,
    after: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk the whole chain and report the first broken link.

    Detects edited events (stored hash differs from the recomputed one),
    deleted events (gap in sequence numbers, or fewer events than the chain
    head records), inserted or reordered events (``prev_hash`` does not match
    the previous event's hash) and events appended outside printpharm (more
    events than the chain head records). Clock setbacks beyond
    :data:`SETBACK_TOLERANCE_S` are listed (and make an integrity check fail).

    Parameters
    ----------
    session
        An open session on the database to verify (read-only is enough).
    chunk
        Events fetched per query.
    sealed
        If given, filled with the latest ``row`` event of every protected row:
        ``record_id`` → (seq, sha256) (see :func:`.rowseal.cross_check`).
    after
        ``(seq, event_hash)`` of an event verified before: only the events after it
        are walked (the quick check before each recorded action), once the stored
        event ``seq`` is shown to still have that hash. Clock setbacks are then
        judged within the walked part only.
    """
    conn = session.connection()
    sql = (
        f"SELECT {', '.join(SORTED_FIELDS)}, event_hash FROM audit_events "
        "WHERE seq > :after ORDER BY seq LIMIT :chunk"
    )
    expected_seq, prev_hash, count, start = 1, GENESIS_HASH, 0, 0
    if after is not None and after[0] > 0:
        stored = conn.execute(
            text("SELECT event_hash FROM audit_events WHERE seq = :seq"), {"seq": after[0]}
        ).scalar()
        if stored != after[1]:
            problem = "missing" if stored is None else "content"
            detail = f"event {after[0]} differs from the event verified before (rewritten)"
            return ChainReport(False, after[0] - 1, BrokenLink(after[0], problem, detail))
        expected_seq, prev_hash, count, start = after[0] + 1, after[1], after[0], after[0]
    after_seq = start
    setbacks: list[int] = []
    latest = ""
    while True:
        rows = conn.execute(text(sql), {"after": after_seq, "chunk": chunk}).all()
        for row in rows:
            broken = _check_row(row, expected_seq, prev_hash)
            if broken is not None:
                return ChainReport(False, count, broken, tuple(setbacks), prev_hash)
            at = row[_I_AT]
            if at < latest and setback_seconds(at, latest) > SETBACK_TOLERANCE_S:
                setbacks.append(row[_I_SEQ])
            elif at > latest:
                latest = at
            if sealed is not None and row[_I_TYPE] == "row":
                value = row[_I_NEW]
                digest = json.loads(value).get("sha256") if value else None
                sealed[row[_I_RID]] = (row[_I_SEQ], digest)
            prev_hash, expected_seq, count = row[-1], row[_I_SEQ] + 1, count + 1
        if len(rows) < chunk:
            break
        after_seq = rows[-1][_I_SEQ]
    broken = _check_head(session, count, prev_hash)
    return ChainReport(broken is None, count, broken, tuple(setbacks), prev_hash)


_I_SEQ = SORTED_FIELDS.index("seq")
_I_PREV = SORTED_FIELDS.index("prev_hash")
_I_SETBACK = SORTED_FIELDS.index("clock_setback")
_I_AT = SORTED_FIELDS.index("occurred_at")
_I_TYPE = SORTED_FIELDS.index("record_type")
_I_RID = SORTED_FIELDS.index("record_id")
_I_NEW = SORTED_FIELDS.index("new_value")


def _check_row(row: Sequence[Any], expected_seq: int, prev_hash: str) -> BrokenLink | None:
    seq = row[_I_SEQ]
    if seq != expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
        return BrokenLink(
            expected_seq, "missing", f"event {missing} missing (deleted); next found is {seq}"
        )
    if row[_I_PREV] != prev_hash:
        return BrokenLink(
            seq,
            "link",
            f"event {seq} does not follow event {seq - 1}: prev_hash {str(row[_I_PREV])[:12]}… "
            f"≠ {prev_hash[:12]}… (inserted, deleted or reordered)",
        )
    values = list(row[:-1])
    values[_I_SETBACK] = bool(values[_I_SETBACK])  # SQLite stores booleans as 0/1
    recomputed = hashlib.sha256(flat_canonical(values).encode("utf-8")).hexdigest()
    if recomputed != row[-1]:
        return BrokenLink(
            seq,
            "content",
            f"event {seq} was altered after it was written: stored hash {str(row[-1])[:12]}… "
            f"≠ recomputed {recomputed[:12]}…",
        )
    return None


def _check_head(session: Session, count: int, last_hash: str) -> BrokenLink | None:
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        return BrokenLink(count + 1, "head", "the chain head row is missing")
    if head.last_seq > count:
        return BrokenLink(
            count + 1,
            "missing",
            f"chain head records {head.last_seq} events, only {count} found "
            f"(events {count + 1}..{head.last_seq} deleted)",
        )
    if head.last_seq < count:
        return BrokenLink(
            head.last_seq + 1,
            "inserted",
            f"event {head.last_seq + 1}..{count} not recorded by the chain head "
            "(appended outside printpharm)",
        )
    if head.last_hash != last_hash:
        return BrokenLink(count, "head", f"event {count} hash differs from the chain head")
    return None
