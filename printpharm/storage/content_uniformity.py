"""Content uniformity of a batch: the units chosen to assay and their results.

The units to assay are chosen by printpharm from a recorded seed (stage 1: 10
units; stage 2: 20 more) before any result can be entered; each result is
tied to its unit number, the analytical method and who entered it. Both tables
are append-only (migration ``0005`` refuses UPDATE and DELETE); each
new sample or result raises the batch's content version, so a signature given
before it no longer matches the record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from printpharm.errors import RecordError
from printpharm.storage.tables import Base, Batch, ExactDecimal, UTCDateTime

__all__ = ["CuRepository", "CuResult", "CuResultRow", "CuSample", "CuSampleRow"]


class CuSampleRow(Base):
    """The units of one stage chosen for assay (stage 1: 10, stage 2: 20 more)."""

    __tablename__ = "cu_samples"
    __table_args__ = (UniqueConstraint("batch_id", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"))
    stage: Mapped[int] = mapped_column(Integer)
    units_json: Mapped[str] = mapped_column(Text)
    seed: Mapped[str] = mapped_column(String(64))
    selected_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    selected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CuResultRow(Base):
    """One unit's assayed content (% of label claim, and mg where given)."""

    __tablename__ = "cu_results"
    __table_args__ = (UniqueConstraint("batch_id", "unit_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id"))
    unit_index: Mapped[int] = mapped_column(Integer)
    content_pct: Mapped[Decimal] = mapped_column(ExactDecimal)
    content_mg: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    method: Mapped[str] = mapped_column(String(200))
    analyst: Mapped[str | None] = mapped_column(String(200))
    entered_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class CuSample:
    """The units of one stage, the seed they were derived from, who asked and when."""

    stage: int
    units: tuple[int, ...]
    seed: str
    selected_by: str
    selected_at: datetime


@dataclass(frozen=True)
class CuResult:
    """One unit's assay result as entered."""

    unit_index: int
    content_pct: Decimal
    method: str
    entered_by: str
    entered_at: datetime
    content_mg: Decimal | None = None
    analyst: str | None = None


def _bump(session: Session, batch_id: str) -> None:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise RecordError(f"batch {batch_id!r} does not exist")
    if batch.status in ("released", "rejected"):
        raise RecordError(f"batch {batch_id!r} is {batch.status}; its record is final")
    batch.version += 1


class CuRepository:
    """Content-uniformity samples and results inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def samples(self, batch_id: str) -> tuple[CuSample, ...]:
        """The stages chosen so far, stage 1 first."""
        rows = self._s.scalars(
            select(CuSampleRow).where(CuSampleRow.batch_id == batch_id).order_by(CuSampleRow.stage)
        )
        return tuple(
            CuSample(r.stage, tuple(json.loads(r.units_json)), r.seed, r.selected_by, r.selected_at)
            for r in rows
        )

    def results(self, batch_id: str) -> tuple[CuResult, ...]:
        """Every result entered, by unit number."""
        rows = self._s.scalars(
            select(CuResultRow)
            .where(CuResultRow.batch_id == batch_id)
            .order_by(CuResultRow.unit_index)
        )
        return tuple(
            CuResult(
                r.unit_index,
                r.content_pct,
                r.method,
                r.entered_by,
                r.entered_at,
                r.content_mg,
                r.analyst,
            )
            for r in rows
        )

    def add_sample(self, batch_id: str, sample: CuSample) -> None:
        """Store a stage's chosen units (raises the batch's content version).

        Raises
        ------
        RecordError
            No such batch, it is released or rejected, or the stage was chosen already.
        """
        if any(s.stage == sample.stage for s in self.samples(batch_id)):
            raise RecordError(f"batch {batch_id}: stage {sample.stage} units were chosen already")
        _bump(self._s, batch_id)
        self._s.add(
            CuSampleRow(
                batch_id=batch_id,
                stage=sample.stage,
                units_json=json.dumps(list(sample.units)),
                seed=sample.seed,
                selected_by=sample.selected_by,
                selected_at=sample.selected_at,
            )
        )
        self._s.flush()

    def add_results(self, batch_id: str, results: Sequence[CuResult]) -> None:
        """Store results (raises the batch's content version once).

        Raises
        ------
        RecordError
            No such batch, it is final, or a unit has a result already (never overwritten).
        """
        done = {r.unit_index for r in self.results(batch_id)}
        again = sorted(r.unit_index for r in results if r.unit_index in done)
        if again:
            raise RecordError(
                f"batch {batch_id}: unit(s) {again} have a result already; results are never "
                "overwritten"
            )
        _bump(self._s, batch_id)
        for r in results:
            self._s.add(
                CuResultRow(
                    batch_id=batch_id,
                    unit_index=r.unit_index,
                    content_pct=r.content_pct,
                    content_mg=r.content_mg,
                    method=r.method,
                    analyst=r.analyst,
                    entered_by=r.entered_by,
                    entered_at=r.entered_at,
                )
            )
        self._s.flush()
