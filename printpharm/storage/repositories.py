"""Repositories: rows ↔ plain dataclasses, and the unit of work that binds them.

Nothing outside :mod:`printpharm.storage` sees an ORM row or a SQLAlchemy
session. A service opens one :func:`unit_of_work`; every repository and the
audit log in it share one transaction, so a change and its audit event commit
or roll back together (AUD-01).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from printpharm.errors import RecordError
from printpharm.storage.alarm_acks import AlarmAckRepository
from printpharm.storage.audit import (
    AuditContext,
    AuditEvent,
    AuditLog,
    ChainReport,
    canonical_json,
    read_events,
    verify_chain,
)
from printpharm.storage.batches import BatchRepository, DeviceRepository
from printpharm.storage.content_uniformity import CuRepository
from printpharm.storage.custody import LeaseRepository, RecoveryCodeRepository
from printpharm.storage.db import Database
from printpharm.storage.equipment import (
    BalanceCheckRepository,
    CheckWeightRepository,
    CleaningRepository,
    EquipmentEventRepository,
    EquipmentRepository,
)
from printpharm.storage.lots import LotRepository
from printpharm.storage.printer_uses import PrinterUseRepository
from printpharm.storage.rowseal import AUDIT_LOG_KEY, row_matches
from printpharm.storage.signatures import SignatureRepository
from printpharm.storage.sitekey import signature_message
from printpharm.storage.tables import (
    Alarm,
    PasswordHistory,
    ResearchSession,
    SiteSetting,
    User,
)
from printpharm.storage.training import TrainingRepository
from printpharm.storage.uow_integrity import IntegrityChecks

__all__ = [
    "AlarmRecord",
    "AlarmRepository",
    "ResearchPeriod",
    "ResearchRepository",
    "SettingRecord",
    "SettingsRepository",
    "UnitOfWork",
    "UserRecord",
    "UserRepository",
    "signature_message",
    "unit_of_work",
]


@dataclass
class UserRecord:
    """A user account. ``user_id`` is unique and never reused; accounts are never deleted."""

    user_id: str
    full_name: str
    role: str
    password_hash: str
    password_changed_at: datetime
    created_at: datetime
    created_by: str | None = None
    active: bool = True
    must_change_password: bool = False
    failed_attempts: int = 0
    locked: bool = False
    last_login_at: datetime | None = None
    identity_verified_by: str | None = None
    identity_verified_at: datetime | None = None
    identity_method: str | None = None
    signature_ack_at: datetime | None = None


@dataclass(frozen=True)
class ResearchPeriod:
    """One research-mode unlock: who, why, from when until when."""

    id: int
    unlocked_by: str
    reason: str
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None


@dataclass(frozen=True)
class SettingRecord:
    """One site setting, its version and who changed it last."""

    key: str
    value: Any
    version: int
    updated_by: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AlarmRecord:
    """An alarm (process or security) for operators and administrators."""

    id: int
    kind: str
    severity: str
    message: str
    raised_at: datetime
    batch_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


def _fields(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


class UserRepository:
    """User accounts and their password history."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, user_id: str, *, for_update: bool = False) -> UserRecord | None:
        """Return the account ``user_id`` or ``None``.

        ``for_update`` locks the row until the transaction ends (PostgreSQL
        ``SELECT ... FOR UPDATE``; SQLite write transactions are exclusive anyway),
        so concurrent failure counting on two workstations never loses a count.
        """
        row = self._s.get(
            User, user_id, with_for_update=for_update or None, populate_existing=for_update
        )
        return None if row is None else _to_user(row)

    def all(self) -> list[UserRecord]:
        """Return every account (active and deactivated), by user ID."""
        return [_to_user(r) for r in self._s.scalars(select(User).order_by(User.user_id))]

    def count(self) -> int:
        """Return the number of accounts ever created."""
        return int(self._s.scalar(select(func.count()).select_from(User)) or 0)

    def add(self, user: UserRecord) -> None:
        """Create an account.

        Raises
        ------
        RecordError
            The user ID exists already (active or deactivated): IDs are never reused.
        """
        if self._s.get(User, user.user_id) is not None:
            raise RecordError(
                f"user ID {user.user_id!r} exists already; user IDs are never reused or reassigned"
            )
        self._s.add(User(**dataclasses.asdict(user)))
        self._s.flush()

    def save(self, user: UserRecord) -> None:
        """Write back the mutable fields of an existing account.

        Raises
        ------
        RecordError
            No such account.
        """
        row = self._s.get(User, user.user_id)
        if row is None:
            raise RecordError(f"user {user.user_id!r} does not exist")
        for name, value in dataclasses.asdict(user).items():
            if name != "user_id":
                setattr(row, name, value)
        self._s.flush()

    def recent_password_hashes(self, user_id: str, count: int) -> list[str]:
        """Return the ``count`` most recent password hashes of ``user_id`` (newest first)."""
        if count <= 0:
            return []
        stmt = (
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user_id)
            .order_by(PasswordHistory.id.desc())
            .limit(count)
        )
        return list(self._s.scalars(stmt))

    def add_password_history(self, user_id: str, password_hash: str, set_at: datetime) -> None:
        """Remember a password hash for the no-reuse rule."""
        self._s.add(PasswordHistory(user_id=user_id, password_hash=password_hash, set_at=set_at))
        self._s.flush()


def _to_user(row: User) -> UserRecord:
    return UserRecord(**{name: getattr(row, name) for name in _fields(UserRecord)})


class ResearchRepository:
    """Research-mode periods."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def open_period(self) -> ResearchPeriod | None:
        """Return the period not yet ended (by lock or expiry bookkeeping), if any."""
        stmt = (
            select(ResearchSession)
            .where(ResearchSession.ended_at.is_(None))
            .order_by(ResearchSession.id.desc())
        )
        row = self._s.scalars(stmt).first()
        return None if row is None else _to_period(row)

    def start(self, unlocked_by: str, reason: str, started_at: datetime, ends_at: datetime) -> int:
        """Record a new research-mode period and return its id."""
        row = ResearchSession(
            unlocked_by=unlocked_by, reason=reason, started_at=started_at, ends_at=ends_at
        )
        self._s.add(row)
        self._s.flush()
        return row.id

    def end(self, period_id: int, ended_at: datetime, ended_by: str) -> None:
        """Mark a period ended (``ended_by`` is a user ID or ``"expiry"``)."""
        row = self._s.get(ResearchSession, period_id)
        if row is None:
            raise RecordError(f"research period {period_id} does not exist")
        row.ended_at, row.ended_by = ended_at, ended_by
        self._s.flush()


def _to_period(row: ResearchSession) -> ResearchPeriod:
    return ResearchPeriod(**{name: getattr(row, name) for name in _fields(ResearchPeriod)})


class SettingsRepository:
    """Versioned site settings (values stored as canonical JSON)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, key: str) -> SettingRecord | None:
        """Return one setting or ``None``."""
        row = self._s.get(SiteSetting, key)
        return None if row is None else _to_setting(row)

    def all(self) -> dict[str, SettingRecord]:
        """Return every setting by key."""
        return {r.key: _to_setting(r) for r in self._s.scalars(select(SiteSetting))}

    def put(self, key: str, value: Any, updated_by: str | None, at: datetime) -> SettingRecord:
        """Create or change a setting; its version increases by one each change."""
        row = self._s.get(SiteSetting, key)
        if row is None:
            row = SiteSetting(key=key, value_json="null", version=0)
            self._s.add(row)
        row.value_json = canonical_json(value)
        row.version = (row.version or 0) + 1
        row.updated_by, row.updated_at = updated_by, at
        self._s.flush()
        return _to_setting(row)


def _to_setting(row: SiteSetting) -> SettingRecord:
    return SettingRecord(
        row.key, json.loads(row.value_json), row.version, row.updated_by, row.updated_at
    )


class AlarmRepository:
    """Process and security alarms."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def raise_alarm(
        self, kind: str, severity: str, message: str, at: datetime, batch_id: str | None = None
    ) -> AlarmRecord:
        """Record a new alarm and return it."""
        row = Alarm(kind=kind, severity=severity, message=message, raised_at=at, batch_id=batch_id)
        self._s.add(row)
        self._s.flush()
        return _to_alarm(row)

    def unacknowledged(self) -> list[AlarmRecord]:
        """Return alarms nobody has acknowledged yet, oldest first."""
        stmt = select(Alarm).where(Alarm.acknowledged_at.is_(None)).order_by(Alarm.id)
        return [_to_alarm(r) for r in self._s.scalars(stmt)]

    def for_station(self) -> list[AlarmRecord]:
        """Return the alarms of no batch (security, integrity), oldest first."""
        stmt = select(Alarm).where(Alarm.batch_id.is_(None)).order_by(Alarm.id)
        return [_to_alarm(r) for r in self._s.scalars(stmt)]

    def get(self, alarm_id: int) -> AlarmRecord | None:
        """Return one alarm, or ``None``."""
        row = self._s.get(Alarm, alarm_id)
        return None if row is None else _to_alarm(row)

    def for_batch(self, batch_id: str) -> list[AlarmRecord]:
        """Return one batch's alarms (warnings included), oldest first."""
        stmt = select(Alarm).where(Alarm.batch_id == batch_id).order_by(Alarm.id)
        return [_to_alarm(r) for r in self._s.scalars(stmt)]


def _to_alarm(row: Alarm) -> AlarmRecord:
    return AlarmRecord(**{name: getattr(row, name) for name in _fields(AlarmRecord)})


class UnitOfWork(IntegrityChecks):
    """One transaction: repositories and the audit log sharing one session.

    Its integrity checks (chain, keys, seals, rows, anchors) come from
    :class:`~.uow_integrity.IntegrityChecks`.
    """

    def __init__(self, session: Session, context: AuditContext) -> None:
        self._session = session
        self.context = context
        self.users = UserRepository(session)
        self.signatures = SignatureRepository(session, context.signer)
        self.research = ResearchRepository(session)
        self.settings = SettingsRepository(session)
        self.alarms = AlarmRepository(session)
        self.alarm_acks = AlarmAckRepository(session)
        self.batches = BatchRepository(session)
        self.devices = DeviceRepository(session)
        self.lots = LotRepository(session)
        self.cu = CuRepository(session)
        self.equipment = EquipmentRepository(session)
        self.equipment_events = EquipmentEventRepository(session)
        self.check_weights = CheckWeightRepository(session)
        self.balance_checks = BalanceCheckRepository(session)
        self.cleaning = CleaningRepository(session)
        self.printer_uses = PrinterUseRepository(session)
        self.training = TrainingRepository(session)
        self.leases = LeaseRepository(session)
        self.recovery_codes = RecoveryCodeRepository(session)
        self.audit = AuditLog(session, context, self.mode)
        session.info[AUDIT_LOG_KEY] = self.audit

    def now(self) -> datetime:
        """The application clock (the same one the audit trail uses)."""
        return self.context.clock()

    def mode(self) -> str:
        """``"locked"``, or ``"research:<period id>"`` while a research period runs."""
        period = self.research.open_period()
        if period is None or self.now() >= period.ends_at:
            return "locked"
        if not row_matches(self._session.connection(), "research_sessions", period.id):
            return "locked"  # a period edited outside printpharm opens nothing
        return f"research:{period.id}"

    def events(self, **filters: Any) -> list[AuditEvent]:
        """Audit events in chain order (see :func:`printpharm.storage.audit.read_events`)."""
        return read_events(self._session, **filters)

    def verify_chain(self) -> ChainReport:
        """Verify the audit chain (see :func:`printpharm.storage.audit.verify_chain`)."""
        return verify_chain(self._session)


@contextmanager
def unit_of_work(
    db: Database, context: AuditContext, *, write: bool = True
) -> Iterator[UnitOfWork]:
    """Open a unit of work; commit when the block ends, roll back on any error.

    Raises
    ------
    RecordError
        A uniqueness or foreign-key rule refused the change.
    DatabaseUnavailable
        The database cannot be used.
    """
    try:
        with db.session(write=write) as session:
            yield UnitOfWork(session, context)
    except IntegrityError as exc:
        raise RecordError(f"the database refused the change: {exc.orig}") from exc
