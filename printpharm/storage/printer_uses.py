"""What a registered printer printed besides batches: calibration series.

A batch row names its printer, so the cleaning rule knows what a printer last
printed when that was a batch. A calibration series prints the ink's API too —
discs of a cytotoxic paste leave the same residue as tablets — so a series on a
registered printer is recorded here the moment its gates pass, before the printer
is heated: a series that fails halfway has still soiled the printer. Rows are
append-only (migration ``0012`` refuses UPDATE and DELETE) and sealed into the
audit chain like the cleaning log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from printpharm.storage.tables import Base, UTCDateTime

__all__ = ["PrinterUse", "PrinterUseRepository", "PrinterUseRow"]


class PrinterUseRow(Base):
    """One use of a registered printer other than a batch (append-only)."""

    __tablename__ = "printer_uses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    purpose: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(200))
    api: Mapped[str] = mapped_column(String(120))
    cytotoxic: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class PrinterUse:
    """A use as stored: which printer, when, who, what for, and the API it printed."""

    device_id: int
    used_at: datetime
    used_by: str
    purpose: str
    reference: str
    api: str
    cytotoxic: bool
    id: int | None = None


def _use(row: PrinterUseRow) -> PrinterUse:
    return PrinterUse(
        row.device_id,
        row.used_at,
        row.used_by,
        row.purpose,
        row.reference,
        row.api,
        row.cytotoxic,
        row.id,
    )


class PrinterUseRepository:
    """The printers' uses other than batches (append-only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, use: PrinterUse) -> PrinterUse:
        """Store one use and return it with its id."""
        row = PrinterUseRow(
            device_id=use.device_id,
            used_at=use.used_at,
            used_by=use.used_by,
            purpose=use.purpose,
            reference=use.reference[:200],
            api=use.api[:120],
            cytotoxic=use.cytotoxic,
        )
        self._s.add(row)
        self._s.flush()
        return _use(row)

    def last(self, device_id: int) -> PrinterUse | None:
        """The newest use of the printer ``device_id``, or ``None``."""
        stmt = (
            select(PrinterUseRow)
            .where(PrinterUseRow.device_id == device_id)
            .order_by(PrinterUseRow.used_at.desc(), PrinterUseRow.id.desc())
        )
        row = self._s.scalars(stmt).first()
        return None if row is None else _use(row)
