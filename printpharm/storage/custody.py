"""Who holds a running batch (leases) and the break-glass recovery codes.

A *lease* names the workstation process running a batch (``holder`` =
``<workstation>#<process id>``) and its last heartbeat. It is not a GMP record:
it is written while the batch runs and deleted when the run ends, so that a
batch found "printing" can be told apart from a batch whose program crashed.

A *recovery code* is stored only as its argon2id hash, with when and by whom it
was used; its row is sealed into the audit chain like every protected row (a
hash swapped in SQL is detected before the code is honoured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from printpharm.storage.rowseal import row_matches
from printpharm.storage.tables import Base, RecoveryCode, UTCDateTime

__all__ = [
    "BatchLease",
    "LeaseRecord",
    "LeaseRepository",
    "RecoveryCodeRecord",
    "RecoveryCodeRepository",
]


class BatchLease(Base):
    """The workstation running a batch and its last heartbeat (not a GMP record)."""

    __tablename__ = "batch_leases"
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workstation: Mapped[str] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class LeaseRecord:
    """The process running ``batch_id`` and its last heartbeat."""

    batch_id: str
    holder: str
    heartbeat_at: datetime

    @property
    def workstation(self) -> str:
        """The workstation part of the holder."""
        return self.holder.rpartition("#")[0] or self.holder

    @property
    def pid(self) -> int | None:
        """The process id part of the holder (``None`` if it has none)."""
        text = self.holder.rpartition("#")[2]
        return int(text) if text.isdigit() and "#" in self.holder else None


class LeaseRepository:
    """Leases of running batches."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def beat(self, batch_id: str, holder: str, at: datetime) -> None:
        """Take the lease of ``batch_id`` for ``holder``, or renew its heartbeat."""
        row = self._s.get(BatchLease, batch_id)
        if row is None:
            self._s.add(BatchLease(batch_id=batch_id, workstation=holder, heartbeat_at=at))
        else:
            row.workstation, row.heartbeat_at = holder, at
        self._s.flush()

    def get(self, batch_id: str) -> LeaseRecord | None:
        """The lease of ``batch_id``, if any."""
        row = self._s.get(BatchLease, batch_id)
        return None if row is None else LeaseRecord(row.batch_id, row.workstation, row.heartbeat_at)

    def release(self, batch_id: str) -> None:
        """End the lease of ``batch_id`` (the run ended)."""
        self._s.execute(delete(BatchLease).where(BatchLease.batch_id == batch_id))


@dataclass(frozen=True)
class RecoveryCodeRecord:
    """A stored recovery code: its hash, when made, and when and by whom used."""

    id: int
    code_hash: str
    created_at: datetime
    used_at: datetime | None
    used_by: str | None


class RecoveryCodeRepository:
    """Break-glass recovery codes (hashes only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, code_hash: str, at: datetime) -> int:
        """Store a new code's hash; return its id."""
        row = RecoveryCode(code_hash=code_hash, created_at=at)
        self._s.add(row)
        self._s.flush()
        return row.id

    def unused(self) -> list[RecoveryCodeRecord]:
        """Codes not used yet whose row still matches its seal in the chain, oldest first.

        A code row written or changed in SQL (its own hash swapped in) is not returned.
        """
        stmt = select(RecoveryCode).where(RecoveryCode.used_at.is_(None)).order_by(RecoveryCode.id)
        rows = list(self._s.scalars(stmt))
        conn = self._s.connection()
        return [_record(r) for r in rows if row_matches(conn, "recovery_codes", r.id)]

    def mark_used(self, code_id: int, user_id: str, at: datetime) -> None:
        """Spend code ``code_id`` (a code works once)."""
        row = self._s.get(RecoveryCode, code_id)
        if row is not None:
            row.used_at, row.used_by = at, user_id
            self._s.flush()


def _record(row: RecoveryCode) -> RecoveryCodeRecord:
    return RecoveryCodeRecord(row.id, row.code_hash, row.created_at, row.used_at, row.used_by)
