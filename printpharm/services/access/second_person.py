"""The second-person check: another person, with their own password and the right role.

Written once for every place a second person confirms what the first did (a
prescription entry, a dose override, a line clearance, a cytotoxic cleaning):
the second person is not the first, logs in with their own credentials (a wrong
password counts toward *their* lockout), must hold the operation, and is logged
out again when the check is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from printpharm.core.text import shown
from printpharm.errors import AuthenticationFailed, PermissionDenied
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation

__all__ = ["second_person"]


@contextmanager
def second_person(
    auth: AuthService,
    user_id: str,
    password: str,
    operation: Operation,
    *,
    first: str,
    same: str,
    check: str,
    refused: tuple[str, str] | None = None,
) -> Iterator[UserSession]:
    """Log in the second person ``user_id`` for the ``with`` block; log them out after.

    ``first`` is the user ID of the person being checked; ``same`` the refusal
    when the second person is that person; ``check`` names the check in the
    message for wrong credentials. With ``refused`` = (what, who does it), a
    role without ``operation`` is told "<user> may not <what> (…); <who does it>".

    Raises
    ------
    PermissionDenied
        The second person is the first, or their role may not perform ``operation``.
    AuthenticationFailed, AccountLocked
        Their credentials are wrong, or their account is locked.
    """
    who = user_id.strip()
    if who == first:
        raise PermissionDenied(same)
    try:
        session = auth.login(who, password)
    except AuthenticationFailed as exc:
        raise AuthenticationFailed(f"{check}: wrong user ID or password for {shown(who)}") from exc
    try:
        try:
            live = auth.require(session, operation)
        except PermissionDenied as exc:
            if refused is None:
                raise
            what, by_whom = refused
            raise PermissionDenied(f"{session.user_id} {what} ({exc}); {by_whom}") from exc
        yield live
    finally:
        auth.logout(session)
