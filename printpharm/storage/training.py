"""Training records as plain dataclasses (append-only: a new record supersedes, never edits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.storage.tables import TrainingRecord

__all__ = ["TrainingEntry", "TrainingRepository"]


@dataclass(frozen=True)
class TrainingEntry:
    """One person trained on one subject (``subject_kind``: role, sop, recipe, ink, printer)."""

    id: int
    user_id: str
    subject_kind: str
    subject: str
    trained_on: date
    expires_on: date
    trainer: str
    document_ref: str | None
    recorded_by: str
    recorded_at: datetime


class TrainingRepository:
    """Training records by person and subject."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, entry: TrainingEntry) -> TrainingEntry:
        """Store a record (its ``id`` is ignored) and return it with its database id."""
        values = dict(entry.__dict__)
        values.pop("id")
        row = TrainingRecord(**values)
        self._s.add(row)
        self._s.flush()
        return _entry(row)

    def for_user(self, user_id: str) -> list[TrainingEntry]:
        """Every record of one person, oldest first."""
        stmt = (
            select(TrainingRecord)
            .where(TrainingRecord.user_id == user_id)
            .order_by(TrainingRecord.trained_on, TrainingRecord.id)
        )
        return [_entry(r) for r in self._s.scalars(stmt)]

    def all(self) -> list[TrainingEntry]:
        """Every record, by person then date."""
        stmt = select(TrainingRecord).order_by(
            TrainingRecord.user_id, TrainingRecord.trained_on, TrainingRecord.id
        )
        return [_entry(r) for r in self._s.scalars(stmt)]


def _entry(row: TrainingRecord) -> TrainingEntry:
    return TrainingEntry(
        row.id,
        row.user_id,
        row.subject_kind,
        row.subject,
        row.trained_on,
        row.expires_on,
        row.trainer,
        row.document_ref,
        row.recorded_by,
        row.recorded_at,
    )
