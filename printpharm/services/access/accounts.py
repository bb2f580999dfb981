"""User accounts: the first administrator, adding, listing, disabling, roles, passwords.

Accounts have unique IDs that are never reused and are deactivated, never
deleted (the database refuses DELETE on ``users``). Every change is audited
with who, when and why (SEC-11); administrators never learn a user's final
password (a reset issues a one-time password that must be changed, SEC-09).

Assigning a role (adding an account, changing its role) needs an in-date
training record of that person for that role (compliance TRN-01, see
:mod:`printpharm.services.access.training`). The first administrator, created
at ``printpharm init`` before anybody could record training, is exempt; the
audit trail says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from printpharm.core.text import shown
from printpharm.errors import InputError, PermissionDenied
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.passwords import generate_temporary_password, hash_password
from printpharm.services.access.permissions import Operation, Role, is_allowed
from printpharm.services.access.training import TrainingEntry, require_role_training
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import UnitOfWork, UserRecord

__all__ = ["SIGNATURE_STATEMENT", "AccountService", "UserInfo"]

#: What a user acknowledges before their first electronic signature (21 CFR 11.10(j), 11.100(c)).
SIGNATURE_STATEMENT = (
    "I understand that my electronic signature in printpharm is the legally binding "
    "equivalent of my hand-written signature, and that I am accountable for every "
    "action taken under it."
)

_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: Longest full name (the printed name on signatures and records).
MAX_FULL_NAME = 200


@dataclass(frozen=True)
class UserInfo:
    """An account as shown to people (never the password hash)."""

    user_id: str
    full_name: str
    role: str
    active: bool
    locked: bool
    failed_attempts: int
    must_change_password: bool
    created_at: datetime
    created_by: str | None
    last_login_at: datetime | None
    password_changed_at: datetime
    identity_verified_by: str | None = None
    signature_ack_at: datetime | None = None

    @property
    def may_sign(self) -> bool:
        """Identity verified and signature statement acknowledged (SEC-12, SIG-09)."""
        return self.identity_verified_by is not None and self.signature_ack_at is not None


def _info(user: UserRecord) -> UserInfo:
    return UserInfo(
        user.user_id,
        user.full_name,
        user.role,
        user.active,
        user.locked,
        user.failed_attempts,
        user.must_change_password,
        user.created_at,
        user.created_by,
        user.last_login_at,
        user.password_changed_at,
        user.identity_verified_by,
        user.signature_ack_at,
    )


def _public(user: UserRecord) -> dict[str, object]:
    return {
        "user_id": user.user_id,
        "full_name": user.full_name,
        "role": user.role,
        "active": user.active,
        "locked": user.locked,
        "must_change_password": user.must_change_password,
    }


#: ``identity_method`` after a password reset: signing is revoked, and the resetter may not
#: re-verify the identity.
REVOKED_BY_RESET = "revoked: password reset by "


class AccountService:
    """Account management over an :class:`AuthService` (which holds sessions and policy)."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def has_users(self) -> bool:
        """Return whether any account exists (``False`` before the first run)."""
        with self._auth.uow(write=False) as uow:
            return uow.users.count() > 0

    def create_first_administrator(self, user_id: str, full_name: str, password: str) -> UserInfo:
        """Create the first account, an administrator; refused once any account exists.

        Raises
        ------
        PermissionDenied
            An account exists already.
        PasswordPolicyError, InputError
            The password or the user ID is not acceptable.
        """
        _check_identity(user_id, full_name)
        self._auth.config.policy.check(user_id, password, hasher=self._auth.config.hasher)
        with self._auth.uow() as uow:
            if uow.users.count() > 0:
                raise PermissionDenied(
                    "the first administrator exists already; add users with `printpharm users add`"
                )
            user = self._new_user(uow, user_id, full_name, Role.ADMINISTRATOR, password, None)
            user.must_change_password = False
            uow.users.save(user)
            uow.audit.append(
                AuditEntry(
                    "user",
                    "create",
                    user_id,
                    user_id,
                    full_name,
                    reason="first run: initial administrator (exempt from the role-training "
                    "record of TRN-01: nobody can record training before the first account)",
                    new=_public(user),
                )
            )
            return _info(user)

    def add_user(
        self,
        session: UserSession,
        user_id: str,
        full_name: str,
        role: Role | str,
        password: str | None = None,
    ) -> str:
        """Create an account and return its one-time password (changed at first login).

        Raises
        ------
        PermissionDenied
            The session may not manage users, or the person has no in-date training
            record for the role (TRN-01).
        RecordError
            ``user_id`` exists already (IDs are never reused).
        InputError
            Malformed user ID, empty name or unknown role.
        """
        actor = self._auth.require(session, Operation.MANAGE_USERS)
        _check_identity(user_id, full_name)
        new_role = _role(role)
        temporary = password or generate_temporary_password()
        if password is not None:
            self._auth.config.policy.check(user_id, password, hasher=self._auth.config.hasher)
        trained = self._role_training(actor, user_id, new_role)
        with self._auth.uow() as uow:
            user = self._new_user(uow, user_id, full_name, new_role, temporary, actor.user_id)
            uow.audit.append(
                AuditEntry(
                    "user", "create", user_id, actor.user_id, actor.full_name,
                    reason=f"role training record {trained.id} (until {trained.expires_on})",
                    new=_public(user),
                )
            )  # fmt: skip
        return temporary

    def _role_training(self, actor: UserSession, user_id: str, role: Role) -> TrainingEntry:
        """The training record allowing ``role`` for ``user_id``; a refusal is audited."""
        with self._auth.uow(write=False) as uow:
            try:
                return require_role_training(uow, user_id, role.value, uow.now().date())
            except PermissionDenied as exc:
                refused = exc
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("user", "role-refused", user_id, actor.user_id, actor.full_name,
                           field="role", reason=str(refused), new={"role": role.value})
            )  # fmt: skip
        raise refused

    def _new_user(
        self,
        uow: UnitOfWork,
        user_id: str,
        full_name: str,
        role: Role,
        password: str,
        created_by: str | None,
    ) -> UserRecord:
        now = uow.now()
        pw_hash = hash_password(password, self._auth.config.hasher)
        user = UserRecord(
            user_id,
            full_name.strip(),
            role.value,
            pw_hash,
            now,
            now,
            created_by,
            must_change_password=True,
        )
        uow.users.add(user)
        uow.users.add_password_history(user_id, pw_hash, now)
        return user

    def list_users(self, session: UserSession) -> list[UserInfo]:
        """Return every account, active and deactivated (access review, SEC-15).

        Raises
        ------
        PermissionDenied
            The role may neither manage users nor view the audit trail.
        """
        s = self._auth.check(session)
        if not (
            is_allowed(s.role, Operation.MANAGE_USERS) or is_allowed(s.role, Operation.VIEW_AUDIT)
        ):
            self._auth.require(session, Operation.MANAGE_USERS)
        with self._auth.uow(write=False) as uow:
            return [_info(u) for u in uow.users.all()]

    def disable_user(self, session: UserSession, user_id: str, reason: str) -> None:
        """Deactivate an account (never deleted); its open sessions end.

        Raises
        ------
        PermissionDenied
            The session may not manage users, or this is the last active administrator.
        RecordError
            No such account.
        InputError
            Empty reason.
        """

        def change(uow: UnitOfWork, user: UserRecord) -> None:
            admins = [u for u in uow.users.all() if u.role == Role.ADMINISTRATOR and u.active]
            if user.role == Role.ADMINISTRATOR and len(admins) <= 1:
                raise PermissionDenied(f"{user_id!r} is the last active administrator")
            user.active = False

        self._admin_change(session, user_id, "disable", reason, change)
        self._auth.end_sessions_of(user_id)

    def verify_identity(self, session: UserSession, user_id: str, method: str) -> None:
        """Record that an administrator verified the identity of ``user_id`` (SEC-12).

        Signing is enabled only after this record exists. Nobody verifies their own
        identity, and the administrator who created the account (or reset its password)
        may not verify it: otherwise one administrator could make a signer and sign as
        it (issue 13). A second administrator checks the person.

        Raises
        ------
        PermissionDenied
            The session may not manage users, it is the user's own account, or the
            actor created the account or reset its password.
        InputError
            No method given (e.g. "passport checked in person").
        """
        actor = self._auth.require(session, Operation.MANAGE_USERS)
        if actor.user_id == user_id:
            raise PermissionDenied(f"{user_id} may not verify their own identity")

        def change(uow: UnitOfWork, user: UserRecord) -> None:
            if (user.identity_method or "") == f"{REVOKED_BY_RESET}{actor.user_id}":
                raise PermissionDenied(
                    f"{actor.user_id} reset the password of {user_id}: a second person must "
                    "re-verify their identity before they may sign again"
                )
            if user.created_by == actor.user_id:
                raise PermissionDenied(
                    f"{actor.user_id} created the account of {user_id}: a second administrator "
                    "verifies their identity before they may sign (separation of duties)"
                )
            user.identity_verified_by, user.identity_verified_at = actor.user_id, uow.now()
            user.identity_method = method.strip()

        self._admin_change(session, user_id, "verify-identity", method, change)

    def acknowledge_signature(self, session: UserSession, password: str) -> None:
        """Record the user's acknowledgement of :data:`SIGNATURE_STATEMENT` (SIG-09).

        Raises
        ------
        AuthenticationFailed, AccountLocked
            The re-entered password is wrong (counted toward lockout).
        """
        live = self._auth.reauthenticate(session, session.user_id, password, "acknowledge")
        with self._auth.uow() as uow:
            user = self._auth.record_success(uow, live.user_id)
            user.signature_ack_at = uow.now()
            uow.users.save(user)
            uow.audit.append(
                AuditEntry(
                    "user",
                    "signature-acknowledgement",
                    live.user_id,
                    live.user_id,
                    live.full_name,
                    new={"statement": SIGNATURE_STATEMENT},
                )
            )

    def change_password(self, session: UserSession, old_password: str, new_password: str) -> None:
        """Change the session user's own password (also clears a temporary password).

        Raises
        ------
        AuthenticationFailed
            ``old_password`` is wrong (counted toward lockout).
        PasswordPolicyError
            The new password breaks the policy or reuses a recent one.
        """
        live = self._auth.live(session)
        self._auth.verify_credentials(live.user_id, old_password, "password-change")
        with self._auth.uow(write=False) as uow:
            recent = uow.users.recent_password_hashes(
                live.user_id, self._auth.config.policy.history
            )
        self._auth.config.policy.check(live.user_id, new_password, recent, self._auth.config.hasher)
        new_hash = hash_password(new_password, self._auth.config.hasher)
        with self._auth.uow() as uow:
            user = self._auth.record_success(uow, live.user_id)
            user.password_hash, user.password_changed_at = new_hash, uow.now()
            user.must_change_password = False
            uow.users.save(user)
            uow.users.add_password_history(user.user_id, new_hash, uow.now())
            uow.audit.append(
                AuditEntry("user", "password-change", user.user_id, user.user_id, user.full_name)
            )
        live.must_change_password = False

    def unlock_account(self, session: UserSession, user_id: str, reason: str) -> None:
        """Unlock an account locked after failed attempts (administrators only, audited)."""

        def change(uow: UnitOfWork, user: UserRecord) -> None:
            user.locked, user.failed_attempts = False, 0

        self._admin_change(session, user_id, "unlock", reason, change)

    def change_role(
        self, session: UserSession, user_id: str, role: Role | str, reason: str
    ) -> None:
        """Give an account another role (audited with the reason, SEC-11).

        Raises
        ------
        PermissionDenied
            The session may not manage users, or the person has no in-date training
            record for the new role (TRN-01).
        """
        new_role = _role(role)
        actor = self._auth.require(session, Operation.MANAGE_USERS)
        self._role_training(actor, user_id, new_role)

        def change(uow: UnitOfWork, user: UserRecord) -> None:
            user.role = new_role.value

        self._admin_change(session, user_id, "modify", reason, change, field_name="role")

    def reset_password(self, session: UserSession, user_id: str, reason: str) -> str:
        """Issue a one-time password the user must change at next login (SEC-09).

        Returns
        -------
        str
            The temporary password, to hand to the user; never stored in clear.
        """
        temporary = generate_temporary_password()
        pw_hash = hash_password(temporary, self._auth.config.hasher)

        actor = self._auth.require(session, Operation.MANAGE_USERS)

        def change(uow: UnitOfWork, user: UserRecord) -> None:
            user.password_hash, user.password_changed_at = pw_hash, uow.now()
            user.must_change_password = True
            # whoever knew the temporary password could sign: enrolment is revoked until a
            # second person re-verifies the identity (and the user acknowledges again)
            user.identity_verified_by = user.identity_verified_at = None
            user.signature_ack_at = None
            user.identity_method = f"{REVOKED_BY_RESET}{actor.user_id}"

        self._admin_change(session, user_id, "reset-password", reason, change)
        self._auth.end_sessions_of(user_id)  # a compromised password ends its sessions (SEC-13)
        return temporary

    def _admin_change(
        self,
        session: UserSession,
        user_id: str,
        action: str,
        reason: str,
        change: Callable[[UnitOfWork, UserRecord], None],
        field_name: str | None = None,
    ) -> None:
        actor = self._auth.require(session, Operation.MANAGE_USERS)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to {action} user {shown(user_id)}")
        with self._auth.uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise InputError(f"user {shown(user_id)} does not exist")
            before = _public(user)
            change(uow, user)
            uow.users.save(user)
            uow.audit.append(
                AuditEntry(
                    "user",
                    action,
                    user_id,
                    actor.user_id,
                    actor.full_name,
                    field_name,
                    reason,
                    old=before,
                    new=_public(user),
                )
            )


def _check_identity(user_id: str, full_name: str) -> None:
    if not _USER_ID.match(user_id or ""):
        raise InputError(
            f"user ID {shown(user_id)} must be 2-64 lower-case letters, digits, '.', '_' or '-'"
        )
    if not full_name or not full_name.strip():
        raise InputError(f"full name of {user_id!r} is required (no shared or generic accounts)")
    if len(full_name) > MAX_FULL_NAME:
        raise InputError(f"full name {shown(full_name)} is longer than {MAX_FULL_NAME} characters")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"role {role!r} is not one of {[r.value for r in Role]}") from None
