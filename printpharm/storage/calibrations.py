"""Mass–volume calibrations fitted on site: versions that move draft → validated → locked → retired.

A calibration version holds what was measured (the series' points: deposited
volume from the G-code and weighed mass of every disc), what it is bound to (ink
and ink version, printer type, optionally one printer of the register and one
ink lot), the least-squares fit of ``mass = a·V + b`` with its statistics, and
the context of the series (recipe, devices, acceptance criteria) and the fit's
weighting (``unweighted`` least squares, or ``relative``: weights 1/m̂², migration
0011; versions stored before read as ``unweighted``). Its content
and SHA-256 are written once and never change; only the status moves forward
(the database refuses anything else, migration 0009). ``version`` numbers the
site's calibrations 1, 2, 3, ... across inks and printers. Nothing is deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from printpharm.core.calibration import WEIGHTINGS
from printpharm.errors import RecordError
from printpharm.storage.canonical import canonical_json, sha256_hex
from printpharm.storage.library import VERSION_STATUSES
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.tables import Base, ExactDecimal, UTCDateTime

__all__ = [
    "CalibrationDraft",
    "CalibrationRecord",
    "CalibrationRepository",
    "CalibrationRow",
    "calibrations",
]


class CalibrationRow(Base):
    """One calibration version (content frozen; status moves forward only)."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    ink_id: Mapped[str] = mapped_column(ForeignKey("inks.ink_id"))
    ink_version: Mapped[int] = mapped_column(Integer)
    printer_type: Mapped[str] = mapped_column(String(64))
    printer_asset: Mapped[str | None] = mapped_column(String(64))
    lot_number: Mapped[str | None] = mapped_column(ForeignKey("ink_lots.lot_number"))
    a_mg_per_mm3: Mapped[Decimal] = mapped_column(ExactDecimal)
    b_mg: Mapped[Decimal] = mapped_column(ExactDecimal)
    n_points: Mapped[int] = mapped_column(Integer)
    r2: Mapped[Decimal] = mapped_column(ExactDecimal)
    residual_sd_mg: Mapped[Decimal] = mapped_column(ExactDecimal)
    v_min_mm3: Mapped[Decimal] = mapped_column(ExactDecimal)
    v_max_mm3: Mapped[Decimal] = mapped_column(ExactDecimal)
    points_json: Mapped[str] = mapped_column(Text)
    context_json: Mapped[str] = mapped_column(Text)
    weighting: Mapped[str] = mapped_column(String(16), server_default="unweighted")
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    fitted_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    validated_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class CalibrationDraft:
    """A fitted calibration to store: binding, fit (exact decimals), points and context.

    ``points`` are ``(volume_mm3, mass_mg)`` pairs as exact decimals; ``context``
    (series recipe, devices, acceptance criteria) must be canonical-JSON-able;
    ``weighting`` names the fit (:data:`printpharm.core.calibration.WEIGHTINGS`).
    """

    ink_id: str
    ink_version: int
    printer_type: str
    a_mg_per_mm3: Decimal
    b_mg: Decimal
    r2: Decimal
    residual_sd_mg: Decimal
    points: tuple[tuple[Decimal, Decimal], ...]
    context: dict[str, Any]
    printer_asset: str | None = None
    lot_number: str | None = None
    weighting: str = "unweighted"

    def content(self) -> dict[str, Any]:
        """What the version's SHA-256 (and its signatures) are bound to."""
        return _content(self)


@dataclass(frozen=True)
class CalibrationRecord:
    """One stored calibration version (points and context decoded, Decimals exact)."""

    version: int
    ink_id: str
    ink_version: int
    printer_type: str
    printer_asset: str | None
    lot_number: str | None
    a_mg_per_mm3: Decimal
    b_mg: Decimal
    n_points: int
    r2: Decimal
    residual_sd_mg: Decimal
    v_min_mm3: Decimal
    v_max_mm3: Decimal
    points: tuple[tuple[Decimal, Decimal], ...]
    context: dict[str, Any]
    content_sha256: str
    status: str
    status_reason: str | None
    fitted_by: str
    fitted_at: datetime
    validated_by: str | None = None
    validated_at: datetime | None = None
    locked_by: str | None = None
    locked_at: datetime | None = None
    retired_at: datetime | None = None
    weighting: str = "unweighted"

    @property
    def record_id(self) -> str:
        """The id signatures and audit events use: ``CAL-v<version>``."""
        return f"CAL-v{self.version}"

    def content(self) -> dict[str, Any]:
        """The content the SHA-256 was computed over (as :meth:`CalibrationDraft.content`)."""
        return _content(self)

    def intact(self) -> bool:
        """Whether the stored content still hashes to the stored SHA-256."""
        return sha256_hex(canonical_json(self.content())) == self.content_sha256


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (NUMERIC returns 0.041 as 0.041000), never as 1E+2."""
    return Decimal(f"{value.normalize():f}")


def _content(c: CalibrationDraft | CalibrationRecord) -> dict[str, Any]:
    return {
        "ink_id": c.ink_id,
        "ink_version": c.ink_version,
        "printer_type": c.printer_type,
        "printer_asset": c.printer_asset,
        "lot_number": c.lot_number,
        "a_mg_per_mm3": _plain(c.a_mg_per_mm3),
        "b_mg": _plain(c.b_mg),
        "r2": _plain(c.r2),
        "residual_sd_mg": _plain(c.residual_sd_mg),
        "points": [[v, m] for v, m in c.points],
        "context": c.context,
        # a weighted fit binds its weighting; an unweighted one hashes as before 0011
        **({} if c.weighting == "unweighted" else {"weighting": c.weighting}),
    }


def _record(row: CalibrationRow) -> CalibrationRecord:
    points = tuple((Decimal(v), Decimal(m)) for v, m in json.loads(row.points_json))
    return CalibrationRecord(
        row.version, row.ink_id, row.ink_version, row.printer_type, row.printer_asset,
        row.lot_number, row.a_mg_per_mm3, row.b_mg, row.n_points, row.r2, row.residual_sd_mg,
        row.v_min_mm3, row.v_max_mm3, points, json.loads(row.context_json), row.content_sha256,
        row.status, row.status_reason, row.fitted_by, row.fitted_at, row.validated_by,
        row.validated_at, row.locked_by, row.locked_at, row.retired_at, row.weighting,
    )  # fmt: skip


class CalibrationRepository:
    """Calibration versions inside one unit of work."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, draft: CalibrationDraft, fitted_by: str, at: datetime) -> CalibrationRecord:
        """Store ``draft`` as the next version (status ``draft``) and return it.

        Raises
        ------
        AuditError
            The context holds a float or a value without a canonical JSON form.
        RecordError
            Fewer than one point.
        """
        if not draft.points:
            raise RecordError("a calibration without points cannot be stored")
        if draft.weighting not in WEIGHTINGS:
            raise RecordError(f"calibration weighting {draft.weighting!r} is unknown")
        fit = (draft.a_mg_per_mm3, draft.b_mg, draft.r2, draft.residual_sd_mg)
        if any(not v.is_finite() or v.as_tuple().exponent < -6 for v in fit):  # type: ignore[operator]
            # NUMERIC(18, 6) on PostgreSQL: more places would be rounded there and not on
            # SQLite, and the stored version would no longer hash to its content.
            raise RecordError(f"calibration fit {fit} must be finite with at most 6 decimals")
        last = self._s.scalar(select(func.max(CalibrationRow.version))) or 0
        volumes = [v for v, _ in draft.points]
        row = CalibrationRow(
            version=last + 1, ink_id=draft.ink_id, ink_version=draft.ink_version,
            printer_type=draft.printer_type, printer_asset=draft.printer_asset,
            lot_number=draft.lot_number, a_mg_per_mm3=draft.a_mg_per_mm3, b_mg=draft.b_mg,
            n_points=len(draft.points), r2=draft.r2, residual_sd_mg=draft.residual_sd_mg,
            v_min_mm3=min(volumes), v_max_mm3=max(volumes),
            points_json=canonical_json([[v, m] for v, m in draft.points]),
            context_json=canonical_json(draft.context), weighting=draft.weighting,
            content_sha256=sha256_hex(canonical_json(draft.content())), status="draft",
            status_reason=None, fitted_by=fitted_by, fitted_at=at,
        )  # fmt: skip
        self._s.add(row)
        self._s.flush()
        return _record(row)

    def _row(self, version: int) -> CalibrationRow | None:
        stmt = select(CalibrationRow).where(CalibrationRow.version == version)
        return self._s.scalars(stmt).first()

    def get(self, version: int) -> CalibrationRecord | None:
        """Return one version, or ``None``."""
        row = self._row(version)
        return None if row is None else _record(row)

    def all(
        self,
        ink_id: str | None = None,
        printer_type: str | None = None,
        status: str | None = None,
    ) -> list[CalibrationRecord]:
        """Versions, newest first, optionally of one ink, printer type and/or status."""
        stmt = select(CalibrationRow).order_by(CalibrationRow.version.desc())
        if ink_id is not None:
            stmt = stmt.where(CalibrationRow.ink_id == ink_id)
        if printer_type is not None:
            stmt = stmt.where(CalibrationRow.printer_type == printer_type)
        if status is not None:
            stmt = stmt.where(CalibrationRow.status == status)
        return [_record(r) for r in self._s.scalars(stmt)]

    def set_status(
        self,
        version: int,
        status: str,
        at: datetime,
        by: str | None = None,
        reason: str | None = None,
    ) -> CalibrationRecord:
        """Move a version to ``status`` (the library's moves: draft → validated → locked → retired).

        Raises
        ------
        RecordError
            No such version, or the move is not allowed from its status.
        """
        row = self._row(version)
        if row is None:
            raise RecordError(f"calibration v{version} does not exist")
        if status not in VERSION_STATUSES.get(row.status, frozenset()):
            allowed = sorted(VERSION_STATUSES.get(row.status, ())) or "none"
            raise RecordError(
                f"calibration v{version} is {row.status} and cannot become {status} "
                f"(allowed: {allowed})"
            )
        row.status, row.status_reason = status, reason
        if status == "validated":
            row.validated_by, row.validated_at = by, at
        elif status == "locked":
            row.locked_by, row.locked_at = by, at
        else:
            row.retired_at = at
        self._s.flush()
        return _record(row)


def calibrations(uow: UnitOfWork) -> CalibrationRepository:
    """The calibration repository sharing ``uow``'s transaction (changes commit with its audit)."""
    return CalibrationRepository(uow._session)
