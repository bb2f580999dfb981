"""Alarm acknowledgements: who acknowledged which alarm, when, and why.

One acknowledgement per alarm (a unique alarm id), append-only (migration
``0010`` refuses UPDATE and DELETE): an acknowledgement, once given, is part of
the batch record. ``alarm_sha256`` binds it to the alarm as it was shown (kind,
severity, message, time, batch), so an alarm edited afterwards no longer matches.
The alarm row's own ``acknowledged_by``/``acknowledged_at`` mirror it (the
repository sets both in one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from printpharm.errors import RecordError
from printpharm.storage.tables import Alarm, Base, UTCDateTime

__all__ = ["AlarmAck", "AlarmAckRepository", "AlarmAckRow"]


class AlarmAckRow(Base):
    """One alarm's acknowledgement (append-only)."""

    __tablename__ = "alarm_acks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"), unique=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.batch_id"), index=True)
    acknowledged_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    acknowledged_name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_tz: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    alarm_sha256: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class AlarmAck:
    """An acknowledgement as stored: the alarm, the person (ID and printed name), when, why."""

    alarm_id: int
    batch_id: str | None
    acknowledged_by: str
    acknowledged_name: str
    acknowledged_at: datetime
    local_tz: str
    reason: str
    alarm_sha256: str
    id: int | None = None


def _ack(row: AlarmAckRow) -> AlarmAck:
    return AlarmAck(
        row.alarm_id,
        row.batch_id,
        row.acknowledged_by,
        row.acknowledged_name,
        row.acknowledged_at,
        row.local_tz,
        row.reason,
        row.alarm_sha256,
        row.id,
    )


class AlarmAckRepository:
    """Acknowledgements inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, ack: AlarmAck) -> AlarmAck:
        """Store ``ack`` (its ``id`` is ignored), mirror it on the alarm row, return it stored.

        Raises
        ------
        RecordError
            No such alarm, or it was acknowledged already.
        """
        alarm = self._s.get(Alarm, ack.alarm_id, with_for_update=True)
        if alarm is None:
            raise RecordError(f"alarm {ack.alarm_id} does not exist")
        if self.for_alarm(ack.alarm_id) is not None:
            raise RecordError(f"alarm {ack.alarm_id} is acknowledged already")
        row = AlarmAckRow(
            alarm_id=ack.alarm_id,
            batch_id=ack.batch_id,
            acknowledged_by=ack.acknowledged_by,
            acknowledged_name=ack.acknowledged_name,
            acknowledged_at=ack.acknowledged_at,
            local_tz=ack.local_tz,
            reason=ack.reason,
            alarm_sha256=ack.alarm_sha256,
        )
        self._s.add(row)
        alarm.acknowledged_by, alarm.acknowledged_at = ack.acknowledged_by, ack.acknowledged_at
        self._s.flush()
        return _ack(row)

    def for_alarm(self, alarm_id: int) -> AlarmAck | None:
        """The acknowledgement of one alarm, or ``None``."""
        row = self._s.scalars(select(AlarmAckRow).where(AlarmAckRow.alarm_id == alarm_id)).first()
        return None if row is None else _ack(row)

    def for_station(self) -> dict[int, AlarmAck]:
        """The acknowledgements of the alarms of no batch, by alarm id."""
        rows = self._s.scalars(
            select(AlarmAckRow).where(AlarmAckRow.batch_id.is_(None)).order_by(AlarmAckRow.id)
        )
        return {r.alarm_id: _ack(r) for r in rows}

    def for_batch(self, batch_id: str) -> dict[int, AlarmAck]:
        """The acknowledgements of one batch's alarms, by alarm id."""
        rows = self._s.scalars(
            select(AlarmAckRow).where(AlarmAckRow.batch_id == batch_id).order_by(AlarmAckRow.id)
        )
        return {r.alarm_id: _ack(r) for r in rows}
