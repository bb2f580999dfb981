"""An account changed since login acts no more through its open sessions (SEC-13, SEC-04).

:meth:`AuthService.check <printpharm.services.access.auth.AuthService.check>` reads the
account at every check, so that an administrator's deactivation, a lockout, a password
reset or a role change — made on this workstation or on another one sharing the
database — takes effect on the session's next action instead of at its next login.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from printpharm.errors import DatabaseUnavailable, SessionExpired
from printpharm.services.access.permissions import Role
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import UnitOfWork

__all__ = ["end_if_account_changed"]


class _Auth(Protocol):
    """What this module uses of :class:`~printpharm.services.access.auth.AuthService`."""

    @property
    def production_blocked(self) -> str | None: ...

    def uow(self, write: bool = True) -> AbstractContextManager[UnitOfWork]: ...

    def end_sessions_of(self, user_id: str) -> None: ...


class _Session(Protocol):
    """What this module uses of a live session."""

    user_id: str
    full_name: str
    role: Role
    must_change_password: bool


def end_if_account_changed(auth: _Auth, live: _Session) -> None:
    """End ``live`` (audited) if its account was deactivated, locked or reset since login.

    A changed role becomes the session's role from now on.

    Raises
    ------
    SessionExpired
        The account was deactivated, locked or given a one-time password since login;
        every session of the account in this process has ended.
    """
    try:
        with auth.uow(write=False) as uow:
            user = uow.users.get(live.user_id)
    except DatabaseUnavailable:
        return  # nothing can be recorded either: the action itself reports it
    if user is None or not user.active:
        ended = "deactivated"
    elif user.locked:
        ended = "locked"
    elif user.must_change_password and not live.must_change_password:
        ended = "given a one-time password"
    else:
        live.role = Role(user.role)
        return
    auth.end_sessions_of(live.user_id)
    if auth.production_blocked is None:  # read-only: the chain cannot be extended
        with auth.uow() as uow:
            uow.audit.append(
                AuditEntry("session", "revoked", live.user_id, live.user_id, live.full_name,
                           reason=f"account {ended} since login")
            )  # fmt: skip
    raise SessionExpired(
        f"the account {live.user_id} was {ended} since login: its session has ended"
    )
