"""Ink lots in the database: what was prepared, its assay, its status and what is left.

A lot is written when it is recorded and then changes only through the named
moves of :data:`LOT_STATUSES`, the recording of its assay (while it is in
quarantine) and the consumption of ink by the batches printed from it. Lots are
never deleted. ``version`` counts changes of the lot's content (assay,
density), which release signatures bind to; status and quantity left are not
content (the audit trail keeps every change of them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.errors import RecordError
from printpharm.storage.tables import InkLot

__all__ = ["LOT_STATUSES", "LotRecord", "LotRepository"]

#: Allowed lot statuses and the statuses each may move to.
LOT_STATUSES: dict[str, frozenset[str]] = {
    "quarantine": frozenset({"released", "rejected", "expired"}),
    "released": frozenset({"in_use", "rejected", "expired"}),
    "in_use": frozenset({"used_up", "rejected", "expired"}),
    "used_up": frozenset(),
    "rejected": frozenset(),
    "expired": frozenset(),
}


@dataclass(frozen=True)
class LotRecord:
    """One ink lot as stored (``id`` is ``None`` before it is added)."""

    lot_number: str
    ink_id: str
    ink_version: int
    prepared_on: date
    prepared_by: str
    quantity: Decimal
    quantity_remaining: Decimal
    quantity_unit: str
    container: str
    beyond_use_date: date
    recorded_by: str
    received_at: datetime
    gtin: str | None = None
    assay_basis: str | None = None
    assay_value: Decimal | None = None
    assay_uncertainty: Decimal | None = None
    assay_method: str | None = None
    assay_analyst: str | None = None
    density_g_per_ml: Decimal | None = None
    status: str = "quarantine"
    status_reason: str | None = None
    version: int = 1
    id: int | None = None


_FIELDS = [f.name for f in dataclasses.fields(LotRecord)]


def _record(row: InkLot) -> LotRecord:
    return LotRecord(**{name: getattr(row, name) for name in _FIELDS})


class LotRepository:
    """Ink lots inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, lot_number: str, *, for_update: bool = False) -> InkLot:
        stmt = select(InkLot).where(InkLot.lot_number == lot_number)
        if for_update:
            stmt = stmt.with_for_update()
        row = self._s.scalars(stmt).first()
        if row is None:
            raise RecordError(f"ink lot {lot_number!r} is not recorded")
        return row

    def add(self, lot: LotRecord) -> LotRecord:
        """Record a new lot (status ``quarantine``) and return it with its id.

        Raises
        ------
        RecordError
            The lot number is recorded already (lot numbers are never reused).
        """
        if self.find(lot.lot_number) is not None:
            raise RecordError(
                f"ink lot {lot.lot_number!r} is recorded already; lot numbers are never reused"
            )
        values = dataclasses.asdict(lot)
        values.pop("id")
        row = InkLot(**{**values, "status": "quarantine", "version": 1})
        self._s.add(row)
        self._s.flush()
        return _record(row)

    def find(self, lot_number: str) -> LotRecord | None:
        """Return the lot with this number, or ``None``."""
        row = self._s.scalars(select(InkLot).where(InkLot.lot_number == lot_number)).first()
        return None if row is None else _record(row)

    def get_by_id(self, lot_id: int) -> LotRecord | None:
        """Return the lot with this database id, or ``None``."""
        row = self._s.get(InkLot, lot_id)
        return None if row is None else _record(row)

    def all(self, ink_id: str | None = None, status: str | None = None) -> list[LotRecord]:
        """Lots, newest first, optionally of one ink and/or in one status."""
        stmt = select(InkLot).order_by(InkLot.received_at.desc(), InkLot.lot_number)
        if ink_id is not None:
            stmt = stmt.where(InkLot.ink_id == ink_id)
        if status is not None:
            stmt = stmt.where(InkLot.status == status)
        return [_record(r) for r in self._s.scalars(stmt)]

    def set_status(self, lot_number: str, status: str, reason: str | None = None) -> LotRecord:
        """Move a lot to ``status`` (see :data:`LOT_STATUSES`).

        Raises
        ------
        RecordError
            No such lot, or the move is not allowed from its status.
        """
        row = self._row(lot_number, for_update=True)
        if status not in LOT_STATUSES.get(row.status, frozenset()):
            allowed = sorted(LOT_STATUSES.get(row.status, ())) or "none"
            raise RecordError(
                f"ink lot {lot_number} is {row.status} and cannot become {status} "
                f"(allowed: {allowed})"
            )
        row.status, row.status_reason = status, reason
        self._s.flush()
        return _record(row)

    def set_assay(
        self,
        lot_number: str,
        basis: str,
        value: Decimal,
        uncertainty: Decimal | None,
        method: str,
        analyst: str | None,
        density_g_per_ml: Decimal | None,
    ) -> LotRecord:
        """Record the bulk assay (and measured density) of a lot in quarantine.

        Raises
        ------
        RecordError
            No such lot, or it left quarantine (a released lot's assay never changes).
        """
        row = self._row(lot_number, for_update=True)
        if row.status != "quarantine":
            raise RecordError(
                f"ink lot {lot_number} is {row.status}: its assay can only be recorded in "
                "quarantine, before release"
            )
        row.assay_basis, row.assay_value, row.assay_uncertainty = basis, value, uncertainty
        row.assay_method, row.assay_analyst = method, analyst
        if density_g_per_ml is not None:
            row.density_g_per_ml = density_g_per_ml
        row.version += 1
        self._s.flush()
        return _record(row)

    def consume(self, lot_number: str, amount: Decimal) -> tuple[LotRecord, LotRecord]:
        """Take ``amount`` (in the lot's unit) from what is left; return (before, after).

        What is left never goes below zero (a batch that used more than was recorded
        leaves the lot empty; the audit event keeps both figures).

        Raises
        ------
        RecordError
            No such lot, or a negative amount.
        """
        if amount < 0:
            raise RecordError(f"ink lot {lot_number}: cannot consume a negative amount {amount}")
        row = self._row(lot_number, for_update=True)
        before = _record(row)
        row.quantity_remaining = max(Decimal(0), row.quantity_remaining - amount)
        self._s.flush()
        return before, _record(row)
