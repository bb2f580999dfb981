"""Break-glass recovery: a sealed one-time code that brings back a locked-out administrator.

``printpharm init`` prints one recovery code; the site seals it in an envelope in
the safe. Only its argon2id hash is stored, in a row sealed into the audit chain
(a hash swapped in SQL is not honoured). When no administrator can log in any
more (all locked or deactivated), the code unlocks one administrator account
and gives it a one-time password. Using it is loud: a ``break-glass`` audit
event, a critical ``security.break-glass`` alarm and an anchor of the head. The
code is spent; a new one is printed, to be sealed again. A wrong code is audited
and raises the same alarm.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from printpharm.core.text import shown
from printpharm.errors import AuthenticationFailed, InputError, PermissionDenied
from printpharm.services.access.auth import AuthService
from printpharm.services.access.passwords import (
    HasherConfig,
    generate_temporary_password,
    hash_password,
    verify_password,
)
from printpharm.services.access.permissions import Role
from printpharm.services.access.site_trust import anchor_after
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import UnitOfWork

__all__ = ["BreakGlass", "break_glass", "issue_recovery_code", "normalise_code"]

#: Letters and digits that cannot be misread on paper (no 0/O, 1/I/L): 5 bits each.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP = 6, 5  # 30 characters: about 148 bits
_WHO = "break-glass recovery code"


def normalise_code(text: str) -> str:
    """The code as compared: upper case, without spaces or dashes."""
    return "".join(text.split()).replace("-", "").upper()


def issue_recovery_code(uow: UnitOfWork, hasher_config: HasherConfig, by: str | None) -> str:
    """Store the hash of a new recovery code in ``uow`` (audited) and return the code."""
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS)]
    code = "-".join(groups)
    code_id = uow.recovery_codes.add(hash_password(normalise_code(code), hasher_config), uow.now())
    uow.audit.append(
        AuditEntry("recovery-code", "create", str(code_id), by, None,
                   new={"note": "printed once; sealed by the site; only its hash is stored"})
    )  # fmt: skip
    return code


@dataclass(frozen=True)
class BreakGlass:
    """What a break-glass recovery did: the administrator, its one-time password, a new code."""

    admin_id: str
    temporary_password: str
    new_code: str


def _locked_out(uow: UnitOfWork) -> bool:
    admins = [u for u in uow.users.all() if u.role == Role.ADMINISTRATOR]
    return bool(admins) and not [u for u in admins if u.active and not u.locked]


def _alarm(auth: AuthService, uow: UnitOfWork, action: str, message: str, new: dict[str, object],
           reason: str) -> None:  # fmt: skip
    uow.audit.append(AuditEntry("user", action, None, None, _WHO, reason=reason, new=new))
    alarm = uow.alarms.raise_alarm("security.break-glass", "critical", message, uow.now())
    auth.alert(alarm)


def break_glass(auth: AuthService, admin_id: str, code: str, reason: str) -> BreakGlass:
    """Unlock administrator ``admin_id`` with a recovery code when no administrator can log in.

    Raises
    ------
    InputError
        No reason, or ``admin_id`` is not an administrator account, or it is deactivated
        (a deactivated account is never brought back; a locked administrator is).
    PermissionDenied
        An administrator can still log in (they unlock the others).
    AuthenticationFailed
        The code is not a valid unused recovery code (audited, alarm raised).
    """
    if not reason or not reason.strip():
        raise InputError("a break-glass recovery needs a reason (it is in the audit trail)")
    entered = normalise_code(code)
    with auth.uow() as uow:
        target = uow.users.get(admin_id, for_update=True)
        if target is None or target.role != Role.ADMINISTRATOR:
            raise InputError(f"{shown(admin_id)} is not an administrator account")
        if not _locked_out(uow):
            raise PermissionDenied(
                "an administrator can still log in: they unlock the others; the recovery code "
                "is for when no administrator can"
            )
        if not target.active:  # SEC-03: deactivated for good (someone who left, a retired ID)
            locked = sorted(u.user_id for u in uow.users.all()
                            if u.role == Role.ADMINISTRATOR and u.active)  # fmt: skip
            raise InputError(
                f"{admin_id} is deactivated, and a deactivated account is never brought back; "
                f"unlock a locked administrator: {', '.join(locked)}"
            )
        match = next(
            (c for c in uow.recovery_codes.unused()
             if verify_password(c.code_hash, entered, auth.config.hasher)),
            None,
        )  # fmt: skip
    if match is None:
        wrong = f"a wrong break-glass recovery code was entered for administrator {admin_id}"
        with auth.uow() as uow:
            _alarm(auth, uow, "break-glass-failed", wrong, {"administrator": admin_id}, reason)
        raise AuthenticationFailed("break-glass: that is not a valid unused recovery code")
    temporary = generate_temporary_password()
    with auth.uow() as uow:
        user = uow.users.get(admin_id, for_update=True)
        assert user is not None
        user.locked, user.active, user.failed_attempts = False, True, 0
        user.password_hash = hash_password(temporary, auth.config.hasher)
        user.password_changed_at, user.must_change_password = uow.now(), True
        uow.users.save(user)
        uow.recovery_codes.mark_used(match.id, admin_id, uow.now())
        message = (
            f"BREAK-GLASS: the sealed recovery code was used to unlock administrator {admin_id} "
            f"({reason.strip()}). If this was not planned, treat it as a security incident."
        )
        _alarm(auth, uow, "break-glass", message,
               {"administrator": admin_id, "code_id": match.id}, reason.strip())  # fmt: skip
        new_code = issue_recovery_code(uow, auth.config.hasher, None)
    auth.end_sessions_of(admin_id)
    anchor_after(auth, f"break-glass recovery of administrator {admin_id}")
    return BreakGlass(admin_id, temporary, new_code)
