"""Users, sessions, credentials and permission checks.

The first run creates the administrator. Accounts have unique IDs and are
deactivated, never deleted. Passwords are argon2id hashes checked against the
site policy. After ``lockout_threshold`` consecutive failures (logins,
re-authentications and signatures alike) the account locks, an audit event and
a security alarm are written, and the alert callback fires. A session that has
been idle longer than ``idle_timeout_s`` locks; only a full re-authentication
(user ID and password) unlocks it. Every guarded operation goes through
:meth:`AuthService.require`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from printpharm.core.text import shown
from printpharm.errors import (
    AccountLocked,
    AuditChainBroken,
    AuthenticationFailed,
    InputError,
    PermissionDenied,
    SessionExpired,
)
from printpharm.services.access.passwords import (
    HasherConfig,
    PasswordPolicy,
    hash_password,
    needs_rehash,
    verify_password,
)
from printpharm.services.access.permissions import READ_OPERATIONS, Operation, Role, is_allowed
from printpharm.services.access.revocation import end_if_account_changed
from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.db import Database
from printpharm.storage.repositories import AlarmRecord, UnitOfWork, UserRecord, unit_of_work
from printpharm.storage.sitekey import SiteKey

#: The longest user ID an account can have (accounts refuse longer ones).
_MAX_USER_ID = 64

__all__ = ["AuthConfig", "AuthService", "UserSession"]


@dataclass(frozen=True)
class AuthConfig:
    """Configurable security parameters (compliance.md §3 defaults)."""

    lockout_threshold: int = 5
    idle_timeout_s: int = 15 * 60
    max_research_s: int = 8 * 3600
    policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    hasher: HasherConfig = field(default_factory=HasherConfig)

    def __post_init__(self) -> None:
        if self.lockout_threshold < 1 or self.idle_timeout_s < 1 or self.max_research_s < 1:
            raise InputError("lockout_threshold, idle_timeout_s and max_research_s must be ≥ 1")


@dataclass
class UserSession:
    """A logged-in user. Only sessions issued by :class:`AuthService` are honoured."""

    token: str
    user_id: str
    full_name: str
    role: Role
    started_at: datetime
    last_activity_at: datetime
    must_change_password: bool = False
    locked: bool = False


class AuthService:
    """Sessions, credentials and permission checks over one database.

    Parameters
    ----------
    db
        The database (migrated).
    context
        Workstation, versions and clock used for audit events and timeouts.
    config
        Security parameters.
    alert
        Called with the security alarm when an account locks (11.300(d)).
    """

    def __init__(
        self,
        db: Database,
        context: AuditContext,
        config: AuthConfig | None = None,
        alert: Callable[[AlarmRecord], None] | None = None,
    ) -> None:
        self._db = db
        self._context = context
        self.config = config or AuthConfig()
        self._alert = alert
        self._sessions: dict[str, UserSession] = {}
        self._blocked: str | None = None
        #: The external anchor log the signed head is appended to (at a release, a key
        #: rotation, daily); ``None``: not anchored (set by the composition root).
        self.anchor_log: Path | None = None
        self._gate: Callable[[], None] | None = None

    # -- sessions --------------------------------------------------------------------------

    def login(self, user_id: str, password: str) -> UserSession:
        """Check the credentials and open a session.

        Raises
        ------
        AuthenticationFailed
            Wrong user ID or password (counted toward lockout).
        AccountLocked
            The account is locked or deactivated.
        """
        if self._blocked is not None:
            return self._login_read_only(user_id, password)
        self.verify_credentials(user_id, password, "login")
        with self.uow() as uow:
            user = self.record_success(uow, user_id)
            user.last_login_at = uow.now()
            max_age = self.config.policy.max_age_days
            if max_age and uow.now() - user.password_changed_at > timedelta(days=max_age):
                user.must_change_password = True
            uow.users.save(user)
            uow.audit.append(AuditEntry("session", "login", user_id, user_id, user.full_name))
            now = uow.now()
        session = UserSession(
            secrets.token_hex(16),
            user.user_id,
            user.full_name,
            Role(user.role),
            now,
            now,
            user.must_change_password,
        )
        self._sessions[session.token] = session
        return replace(session)

    def _login_read_only(self, user_id: str, password: str) -> UserSession:
        """A login while the records failed their integrity check: to view and export only.

        The chain cannot be extended (that would sign what a forger wrote), so nothing
        is written to it: the attempt is kept as an alarm row instead, and every
        recorded action stays refused (:meth:`require`).
        """
        with self.uow(write=False) as uow:
            user = uow.users.get(user_id)
        right = user is not None and verify_password(user.password_hash, password,
                                                     self.config.hasher)  # fmt: skip
        if user is None:
            hash_password(password, self.config.hasher)  # same cost as a real check
        ok = user is not None and right and user.active and not user.locked
        with self.uow() as uow:
            uow.alarms.raise_alarm(
                "security.login-read-only", "high",
                f"{'login' if ok else 'refused login'} of {user_id!r} while the records "
                "failed their integrity check (not in the audit trail: it cannot be extended)",
                uow.now(),
            )  # fmt: skip
        if not ok or user is None:
            raise AuthenticationFailed(
                "login: wrong user ID or password, or the account is locked or deactivated "
                "(an administrator can unlock it)"
            )
        now = self._context.clock()
        session = UserSession(secrets.token_hex(16), user.user_id, user.full_name,
                              Role(user.role), now, now, user.must_change_password)  # fmt: skip
        self._sessions[session.token] = session
        return replace(session)

    def logout(self, session: UserSession) -> None:
        """End a session (audited)."""
        live = self._sessions.pop(session.token, None)
        if live is not None and self._blocked is not None:
            return  # read-only: the chain cannot be extended
        if live is not None:
            with self.uow() as uow:
                uow.audit.append(
                    AuditEntry("session", "logout", live.user_id, live.user_id, live.full_name)
                )

    def check(self, session: UserSession) -> UserSession:
        """Return the live session, refreshing its activity time.

        Raises
        ------
        SessionExpired
            Not a session of this service, ended, or idle past the timeout
            (the session locks; :meth:`unlock_session` needs full credentials).
        """
        live = self._sessions.get(session.token)
        if live is None:
            raise SessionExpired("not logged in (or the session ended); log in again")
        if live.locked:
            raise SessionExpired(
                f"session of {live.user_id} is locked; re-enter user ID and password"
            )
        now = self._context.clock()
        idle_s = (now - live.last_activity_at).total_seconds()
        if idle_s > self.config.idle_timeout_s:
            live.locked = True
            if self._blocked is not None:  # read-only: the chain cannot be extended
                raise SessionExpired(f"session of {live.user_id} locked after {int(idle_s)} s")
            with self.uow() as uow:
                uow.audit.append(
                    AuditEntry(
                        "session",
                        "timeout-lock",
                        live.user_id,
                        live.user_id,
                        live.full_name,
                        new={"idle_s": int(idle_s)},
                    )
                )
            raise SessionExpired(
                f"session of {live.user_id} locked after {int(idle_s)} s idle "
                f"(limit {self.config.idle_timeout_s} s); re-enter user ID and password"
            )
        live.last_activity_at = now
        end_if_account_changed(self, live)
        return live

    def unlock_session(self, session: UserSession, user_id: str, password: str) -> UserSession:
        """Unlock a timed-out session with the full credentials of its own user.

        Raises
        ------
        AuthenticationFailed
            Wrong password, or the credentials of another user.
        SessionExpired
            The session is unknown or ended.
        """
        live = self._sessions.get(session.token)
        if live is None:
            raise SessionExpired("not logged in (or the session ended); log in again")
        self._same_user(live, user_id, "unlock")
        self.verify_credentials(user_id, password, "unlock")
        with self.uow() as uow:
            self.record_success(uow, user_id)
            uow.audit.append(AuditEntry("session", "unlock", user_id, user_id, live.full_name))
        live.locked, live.last_activity_at = False, self._context.clock()
        return replace(live)

    def require(self, session: UserSession, operation: Operation) -> UserSession:
        """Return the live session if its role may perform ``operation``.

        Raises
        ------
        SessionExpired
            See :meth:`check`.
        PermissionDenied
            The role may not, or the user must first change a temporary password.
        """
        live = self.check(session)
        if live.must_change_password:
            raise PermissionDenied(f"{live.user_id} must change the temporary password first")
        if operation not in READ_OPERATIONS:
            if self._blocked is not None:
                raise AuditChainBroken(self._blocked)
            if self._gate is not None:
                self._gate()  # the integrity check before every recorded action
        if not is_allowed(live.role, operation):
            with self.uow() as uow:
                uow.audit.append(
                    AuditEntry(
                        "permission",
                        "denied",
                        operation.value,
                        live.user_id,
                        live.full_name,
                        new={"role": live.role.value},
                    )
                )
            raise PermissionDenied(f"role {live.role.value} may not {operation.value}")
        return live

    def live(self, session: UserSession) -> UserSession:
        """Return the service's own record of ``session`` (no timeout check).

        Raises
        ------
        SessionExpired
            Not a session of this service, or it ended.
        """
        live = self._sessions.get(session.token)
        if live is None:
            raise SessionExpired("not logged in (or the session ended); log in again")
        return live

    def reauthenticate(
        self, session: UserSession, user_id: str, password: str, purpose: str
    ) -> UserSession:
        """Check both credential components again for ``purpose`` (signature, unlock ...).

        Entering another user's ID is refused, logged and counted against the
        session user. Wrong passwords count toward lockout.

        Raises
        ------
        AuthenticationFailed, AccountLocked, SessionExpired
        """
        live = self.check(session)
        self._same_user(live, user_id, purpose)
        self.verify_credentials(user_id, password, purpose)
        return live

    def verify_credentials(self, user_id: str, password: str, purpose: str) -> None:
        """Raise unless ``password`` is right for an active, unlocked ``user_id``.

        Failures are audited (``<purpose>-failed``) and counted; the failure at
        the threshold locks the account. Success does not reset the counter:
        the caller does that in its own transaction.

        Raises
        ------
        AuthenticationFailed
            Unknown user or wrong password.
        AccountLocked
            The account is locked or deactivated.
        """
        with self.uow(write=False) as uow:
            user = uow.users.get(user_id)
        if user is None:
            hash_password(password, self.config.hasher)  # same cost as a real check
        else:  # checked for locked and deactivated accounts too: same time, same answer
            right = verify_password(user.password_hash, password, self.config.hasher)
            if right and user.active and not user.locked:
                if needs_rehash(user.password_hash, self.config.hasher):
                    self._rehash(user_id, password)
                return
        self._count_failure(user_id, purpose, "wrong user ID or password")

    def _rehash(self, user_id: str, password: str) -> None:
        """Re-hash a password with the current argon2id parameters (after they changed)."""
        with self.uow() as uow:
            user = uow.users.get(user_id, for_update=True)
            if user is None:
                return
            user.password_hash = hash_password(password, self.config.hasher)
            uow.users.save(user)
            uow.audit.append(
                AuditEntry(
                    "user", "rehash", user_id, user_id, user.full_name,
                    new={"time_cost": self.config.hasher.time_cost,
                         "memory_kib": self.config.hasher.memory_cost_kib,
                         "parallelism": self.config.hasher.parallelism},
                )
            )  # fmt: skip

    def _same_user(self, live: UserSession, user_id: str, purpose: str) -> None:
        if user_id != live.user_id:
            self._count_failure(
                live.user_id,
                purpose,
                f"{live.user_id} entered the user ID {shown(user_id)} of another user",
                entered=user_id,
            )

    def _count_failure(
        self, user_id: str, purpose: str, detail: str, entered: str | None = None
    ) -> None:
        alarm: AlarmRecord | None = None
        # one answer, in the same time, for a wrong password, a locked and a deactivated
        # account: the answer tells nobody which accounts exist or are locked (issue 13)
        refused = (
            f"{purpose}: wrong user ID or password, or the account is locked or deactivated "
            "(an administrator can unlock it)"
        )
        error: Exception = AuthenticationFailed(refused)
        with self.uow() as uow:
            user = uow.users.get(user_id, for_update=True)
            new: dict[str, object] = {"detail": detail}
            if entered is not None:
                new["entered_user_id"] = entered
                error = AuthenticationFailed(f"{purpose}: you may only use your own credentials")
            if user is not None and (not user.active or user.locked):
                state = "deactivated" if not user.active else "locked"
                new["refused"] = f"account {state}"
                error = AccountLocked(refused)
            elif user is not None:
                user.failed_attempts += 1
                new["failed_attempts"] = user.failed_attempts
                if user.failed_attempts >= self.config.lockout_threshold:
                    user.locked = True
                    error = AccountLocked(refused)
                uow.users.save(user)
            name = user.full_name if user is not None else None
            record_id = user_id
            if len(user_id) > _MAX_USER_ID:  # no account has it; keep what fits the record
                record_id = user_id[:_MAX_USER_ID] + "…"
                new["typed_user_id"] = shown(user_id)
            uow.audit.append(
                AuditEntry(
                    "session",
                    f"{purpose}-failed",
                    record_id,
                    user_id if user else None,
                    name,
                    new=new,
                )
            )
            if user is not None and user.locked and "failed_attempts" in new:
                alarm = self._lock_out(uow, user)
        if alarm is not None and self._alert is not None:
            self._alert(alarm)
        raise error

    def _lock_out(self, uow: UnitOfWork, user: UserRecord) -> AlarmRecord:
        message = f"account {user.user_id!r} locked after {user.failed_attempts} failed attempts"
        uow.audit.append(
            AuditEntry(
                "user",
                "lockout",
                user.user_id,
                user.user_id,
                user.full_name,
                new={"failed_attempts": user.failed_attempts},
            )
        )
        return uow.alarms.raise_alarm("security.lockout", "high", message, uow.now())

    def record_success(self, uow: UnitOfWork, user_id: str) -> UserRecord:
        """Reset the failure counter after a successful re-authentication, inside ``uow``."""
        user = uow.users.get(user_id, for_update=True)
        if user is None or not user.active or user.locked:
            raise AccountLocked(f"account {shown(user_id)} is locked or deactivated")
        if user.failed_attempts:
            user.failed_attempts = 0
            uow.users.save(user)
        return user

    def uow(self, write: bool = True) -> AbstractContextManager[UnitOfWork]:
        """Open a unit of work on this service's database and audit context."""
        return unit_of_work(self._db, self._context, write=write)

    def now(self) -> datetime:
        """The application clock."""
        return self._context.clock()

    def use_signer(self, key: SiteKey) -> None:
        """Sign the chain head with ``key`` from now on (after the site key is registered)."""
        self._context = replace(self._context, signer=key)

    def alert(self, alarm: AlarmRecord) -> None:
        """Pass a security alarm to the alert callback (a pop-up, a message), if any."""
        if self._alert is not None:
            self._alert(alarm)

    def use_gate(self, gate: Callable[[], None]) -> None:
        """Call ``gate`` before every recorded action; it raises to refuse (integrity check)."""
        self._gate = gate

    def block_production(self, reason: str) -> None:
        """Refuse every recorded action but reading from now on (failed integrity check)."""
        self._blocked = reason

    @property
    def signer(self) -> SiteKey | None:
        """The site key this service signs with (``None``: database without one)."""
        return self._context.signer

    @property
    def production_blocked(self) -> str | None:
        """Why recorded actions are refused, or ``None``."""
        return self._blocked

    def has_users(self) -> bool:
        """Return whether any account exists (``False`` before the first run)."""
        with self.uow(write=False) as uow:
            return uow.users.count() > 0

    def end_sessions_of(self, user_id: str) -> None:
        """Forget every open session of ``user_id`` (after it is deactivated)."""
        for token in [t for t, s in self._sessions.items() if s.user_id == user_id]:
            del self._sessions[token]
