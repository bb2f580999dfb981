"""Who is logged in at this workstation, over the records services (Qt-free).

Private to :mod:`printpharm.services.station.workstation`. Wraps
:func:`printpharm.services.station.records_app.open_records` with the state one
desktop session needs: the chosen database, the first-run administrator, the
current :class:`UserSession`, idle locking, research mode, user accounts and
the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from printpharm.errors import (
    DatabaseUnavailable,
    MigrationError,
    SessionExpired,
    StorageError,
)
from printpharm.services.access.accounts import UserInfo
from printpharm.services.access.auth import UserSession
from printpharm.services.access.permissions import Operation, Role, is_allowed
from printpharm.services.access.signatures import (
    manifestation,
    read_audit_events,
    verify_audit_trail,
)
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.run.alarm_acks import AlarmAcknowledgements, BatchAlarm
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.recording import BatchRecorder
from printpharm.services.station.records_app import RecordsServices, initialise, open_records
from printpharm.storage.audit import AuditEntry, AuditEvent, ChainReport
from printpharm.storage.batches import BatchRow
from printpharm.storage.db import resolve_database_url

__all__ = ["ModeStatus", "StationSession", "display_url"]


@dataclass(frozen=True)
class ModeStatus:
    """Locked mode, or research mode until ``until`` (local time) unlocked by ``unlocked_by``."""

    research: bool = False
    until: datetime | None = None
    unlocked_by: str | None = None
    reason: str | None = None
    remaining_s: int = 0


def display_url(url: str) -> str:
    """A database URL with any password replaced by ``***``; a SQLite file as its path."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///") or url
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


class StationSession:
    """The database and the logged-in user of one workstation.

    Parameters
    ----------
    db_url
        Database URL, or ``None`` for the environment/default SQLite file.
    clock
        Aware-datetime clock for audit events and idle timeouts (tests inject one).
    """

    def __init__(
        self, db_url: str | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.db_url = db_url
        self._clock = clock
        self.services: RecordsServices | None = None
        self.user: UserSession | None = None
        self.open_error: str | None = None
        self.recovered: list[str] = []
        #: The break-glass recovery code made by :meth:`create_administrator` (shown once).
        self.recovery_code: str | None = None

    # -- database ---------------------------------------------------------------------------

    @property
    def resolved_url(self) -> str:
        """The SQLAlchemy URL actually used (explicit, environment, or default file)."""
        return resolve_database_url(self.db_url)

    def now(self) -> datetime:
        """The clock of audit events and timeouts (aware)."""
        return self._clock() if self._clock is not None else datetime.now(UTC)

    def open(self) -> bool:
        """Open the database; ``False`` when it is empty or unreachable (see ``open_error``)."""
        self.close()
        try:
            self.services = open_records(self.db_url, clock=self._clock)
        except (MigrationError, DatabaseUnavailable, StorageError) as exc:
            self.open_error = str(exc)
            return False
        self.open_error = None
        # The integrity gate at start-up (as every CLI command): chain, key, anchors, rows.
        # When intact, this workstation's batches left open by a crash are closed as
        # interrupted; when not, production is read-only and integrity_problem says why.
        self.services.start_up()
        self.recovered = list(self.services.recovered)
        return True

    @property
    def integrity_problem(self) -> str | None:
        """Why production is read-only here (a failed integrity check), or ``None``."""
        return None if self.services is None else self.services.auth.production_blocked

    def needs_first_run(self) -> bool:
        """Whether the database must be created or has no administrator yet."""
        if self.services is None and not self.open():
            return True
        assert self.services is not None
        return not self.services.accounts.has_users()

    def create_administrator(
        self, user_id: str, full_name: str, password: str, db_url: str | None = None
    ) -> UserInfo:
        """First run: create (or upgrade) the database and its administrator, then open it.

        Raises
        ------
        PermissionDenied
            An account exists already.
        PasswordPolicyError, InputError
            The user ID or password is not acceptable.
        StorageError
            The database cannot be created or reached.
        """
        self.close()
        self.db_url = db_url if db_url else self.db_url
        made = initialise(self.db_url, user_id, full_name, password, self._clock)
        self.recovery_code = made.recovery_code  # shown once, to be printed and sealed
        self.open()
        return made.admin

    def close(self) -> None:
        """End the session and release the database."""
        if self.services is not None:
            if self.user is not None:
                self.logout()
            self.services.close()
        self.services = None

    # -- sessions ---------------------------------------------------------------------------

    def _svc(self) -> RecordsServices:
        if self.services is None:
            raise SessionExpired("the database is not open; log in again")
        return self.services

    def login(self, user_id: str, password: str) -> UserSession:
        """Log in (raises AuthenticationFailed, AccountLocked as the auth service does)."""
        self.user = self._svc().auth.login(user_id.strip(), password)
        return self.user

    def logout(self) -> None:
        """Log the current user out (audited)."""
        if self.user is not None and self.services is not None:
            self.services.auth.logout(self.user)
        self.user = None

    def change_password(self, old_password: str, new_password: str) -> None:
        """Change the current user's password (clears a temporary password)."""
        user = self._require_user()
        services = self._svc()
        # The accounts service owns password changes (it moved there from auth).
        owner: object = (
            services.accounts if hasattr(services.accounts, "change_password") else (services.auth)
        )
        change: Callable[[UserSession, str, str], None] = getattr(owner, "change_password")  # noqa: B009
        change(user, old_password, new_password)
        self.user = services.auth.check(user)

    def touch(self) -> UserSession:
        """Record activity; raises :class:`SessionExpired` when idle past the timeout (locks)."""
        return self._svc().auth.check(self._require_user())

    def unlock(self, user_id: str, password: str) -> UserSession:
        """Unlock the idle-locked session with the same user's credentials."""
        self.user = self._svc().auth.unlock_session(self._require_user(), user_id, password)
        return self.user

    @property
    def idle_timeout_s(self) -> int:
        """The site's idle timeout in seconds."""
        return self._svc().auth.config.idle_timeout_s

    def _require_user(self) -> UserSession:
        if self.user is None:
            raise SessionExpired("not logged in")
        return self.user

    def require(self, operation: Operation) -> UserSession:
        """The live session if its role may ``operation`` (audits a refusal).

        Raises
        ------
        SessionExpired
            Nobody is logged in, or the session locked.
        PermissionDenied
            The role may not.
        """
        return self._svc().auth.require(self._require_user(), operation)

    def may(self, operation: Operation) -> bool:
        """Whether the current user's role allows ``operation`` (for enabling controls)."""
        return self.user is not None and is_allowed(self.user.role, operation)

    def record(
        self,
        action: str,
        batch_id: str,
        new: dict[str, object] | None = None,
        reason: str | None = None,
    ) -> None:
        """Write a batch event (``planned``, ``print-started``, ...) to the audit trail.

        Raises
        ------
        SessionExpired
            Nobody is logged in.
        AuditError, StorageError
            The event cannot be written (the caller must not go on).
        """
        user = self._require_user()
        entry = AuditEntry(
            "batch",
            action,
            batch_id,
            user.user_id,
            user.full_name,
            reason=reason,
            new=new,
            batch_id=batch_id,
        )
        with self._svc().auth.uow() as uow:
            uow.audit.append(entry)

    # -- research mode ----------------------------------------------------------------------

    def mode_status(self) -> ModeStatus:
        """The current mode (an overdue research period is closed as it is read)."""
        if self.services is None:
            return ModeStatus()
        status = self.services.research.status()
        period = status.period
        if not status.active or period is None:
            return ModeStatus()
        return ModeStatus(
            research=True,
            until=period.ends_at.astimezone(),
            unlocked_by=period.unlocked_by,
            reason=period.reason,
            remaining_s=status.remaining_s,
        )

    def unlock_research(self, user_id: str, password: str, reason: str, minutes: int) -> None:
        """Unlock research mode for ``minutes`` (supervisor credentials re-entered)."""
        self._svc().research.unlock(self._require_user(), user_id, password, reason, minutes * 60)

    def lock_research(self) -> bool:
        """Return to locked mode now; ``False`` if research mode was not on."""
        return self._svc().research.lock(self._require_user())

    # -- accounts and audit -----------------------------------------------------------------

    def users(self) -> list[UserInfo]:
        """Every account (administrators only)."""
        return self._svc().accounts.list_users(self._require_user())

    def add_user(self, user_id: str, full_name: str, role: Role | str) -> str:
        """Create an account; return its one-time password."""
        return self._svc().accounts.add_user(self._require_user(), user_id, full_name, role)

    def disable_user(self, user_id: str, reason: str) -> None:
        """Deactivate an account (never deleted)."""
        self._svc().accounts.disable_user(self._require_user(), user_id, reason)

    def unlock_account(self, user_id: str, reason: str) -> None:
        """Unlock an account locked after failed attempts."""
        self._svc().accounts.unlock_account(self._require_user(), user_id, reason)

    def reset_password(self, user_id: str, reason: str) -> str:
        """Issue a one-time password for ``user_id``."""
        return self._svc().accounts.reset_password(self._require_user(), user_id, reason)

    def verify_identity(self, user_id: str, method: str) -> None:
        """Record that the identity of ``user_id`` was verified (enables signing)."""
        self._svc().accounts.verify_identity(self._require_user(), user_id, method)

    def acknowledge_signature(self, password: str) -> None:
        """The current user acknowledges the electronic-signature statement."""
        self._svc().accounts.acknowledge_signature(self._require_user(), password)

    def recorder(self) -> BatchRecorder:
        """A recorder writing a print run into the database as the current user."""
        return DatabaseRecorder(self._svc().auth, self._require_user())

    def _batches(self) -> BatchRecordsService:
        services = self._svc()
        return BatchRecordsService(services.auth, services.records)

    def batch_ids(self, limit: int = 100) -> list[str]:
        """The newest batch IDs (``limit`` at most), newest first."""
        self._svc().auth.require(self._require_user(), Operation.VIEW_RECORDS)
        with self._svc().auth.uow(write=False) as uow:
            ids = uow.batches.ids()
        return sorted(ids, reverse=True)[:limit]

    def batch(self, batch_id: str) -> BatchRow:
        """One batch record (raises RecordError if it does not exist)."""
        return self._batches().get(self._require_user(), batch_id)

    def export_batch(self, batch_id: str, fmt: str, path: Path) -> Path:
        """Write the batch record as ``pdf``, ``csv`` or ``json`` (audited); return the file.

        Raises
        ------
        PermissionDenied
            The role may not export records.
        InputError, RecordError
            Unknown format, no such batch, or ``path`` exists (never overwritten).
        """
        from printpharm.services.records.export import BatchExportService  # reportlab: on use

        services = self._svc()
        service = BatchExportService(services.auth, services.db)
        return service.export(self._require_user(), batch_id, fmt, path).path

    def sign_batch(
        self, batch_id: str, meaning: str, user_id: str, password: str, comment: str | None
    ) -> str:
        """Sign a batch record ``reviewed``, ``released`` or ``rejected``; return the signature.

        Raises
        ------
        SignatureError
            A release without a review by another person, or a signer not enrolled.
        AuthenticationFailed, AccountLocked, PermissionDenied, SessionExpired, RecordError
            As :class:`printpharm.services.records.batches.BatchRecordsService` raises them
            (wrong or another user's credentials, the printer signing, a role that may not).
        """
        service, user = self._batches(), self._require_user()
        if meaning == "reviewed":
            signature = service.review(user, batch_id, user_id, password, comment or "")
        else:
            signature = service.dispose(user, batch_id, meaning, user_id, password, comment)
        return manifestation(signature)

    def batch_alarms(self, batch_id: str) -> list[BatchAlarm]:
        """Every alarm of a batch with its acknowledgement, oldest first.

        Raises
        ------
        PermissionDenied, SessionExpired, RecordError
            The role may not view records, nobody is logged in, or no such batch.
        """
        return AlarmAcknowledgements(self._svc().auth).alarms(self._require_user(), batch_id)

    def station_alarms(self) -> list[BatchAlarm]:
        """The alarms of no batch (lockouts, audit chain, anchors, break-glass), oldest first.

        Raises
        ------
        PermissionDenied, SessionExpired
            The role may not view records, or nobody is logged in.
        """
        return AlarmAcknowledgements(self._svc().auth).alarms(self._require_user(), None)

    def paused_alarm(self, batch_id: str) -> BatchAlarm | None:
        """The ``pause`` alarm a run of ``batch_id`` waits on (nobody acknowledged it yet)."""
        return AlarmAcknowledgements(self._svc().auth).open_pause(self._require_user(), batch_id)

    def acknowledge_alarm(
        self, batch_id: str | None, alarm_id: int, reason: str, password: str
    ) -> BatchAlarm:
        """The logged-in user acknowledges an alarm with ``reason`` and their password again.

        ``batch_id`` ``None``: an alarm of the station (supervisors and administrators).

        Raises
        ------
        InputError, RecordError, AuthenticationFailed, AccountLocked, PermissionDenied,
        SessionExpired
            As :meth:`AlarmAcknowledgements.acknowledge` raises them.
        """
        user = self._require_user()
        service = AlarmAcknowledgements(self._svc().auth)
        return service.acknowledge(user, batch_id, alarm_id, reason, user.user_id, password)

    def audit_events(self, limit: int = 200) -> list[AuditEvent]:
        """The latest audit events (needs a user allowed to view the audit trail)."""
        services = self._svc()
        services.auth.require(self._require_user(), Operation.VIEW_AUDIT)
        return read_audit_events(services.db, limit=limit)

    def verify_audit(self) -> ChainReport:
        """Verify the hash chain of the audit trail."""
        services = self._svc()
        services.auth.require(self._require_user(), Operation.VIEW_AUDIT)
        return verify_audit_trail(services.db)
