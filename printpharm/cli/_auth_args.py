"""Database and login arguments shared by the CLI groups that open the records database.

``--db URL``, ``--user U`` and ``--password-stdin`` (passwords one per line, for
scripts; otherwise asked interactively and never echoed), and :func:`logged_in`,
which opens the records, logs the user in and always logs out and closes.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from printpharm.cli._common import add_json_flag
from printpharm.errors import InputError

if TYPE_CHECKING:  # the records services load SQLAlchemy: imported when a command logs in
    from printpharm.services.access.auth import UserSession
    from printpharm.services.station.records_app import RecordsServices

__all__ = ["Secrets", "add_db_flag", "add_records_args", "add_secret_flags", "logged_in"]

_DB_HELP = (
    "database URL or SQLite file (default: $PRINTPHARM_DATABASE_URL, "
    "else printpharm.sqlite3 in the user data folder)"
)


def add_db_flag(parser: argparse._ActionsContainer, help_text: str | None = None) -> None:
    """Add ``--db URL`` (default: the configured database) to ``parser``."""
    parser.add_argument("--db", metavar="URL", help=help_text or _DB_HELP)


def add_secret_flags(
    parser: argparse._ActionsContainer,
    user: bool = True,
    user_help: str = "your user ID",
    password_help: str = "read password(s) from standard input, one per line",
) -> None:
    """Add ``--user U`` (required, unless ``user`` is False) and ``--password-stdin``."""
    if user:
        parser.add_argument("--user", required=True, help=user_help)
    parser.add_argument("--password-stdin", action="store_true", help=password_help)


def add_records_args(parser: argparse.ArgumentParser, login: bool = True) -> None:
    """Add ``--db``, (if ``login``) ``--user`` and ``--password-stdin``, and ``--json``."""
    add_db_flag(parser)
    if login:
        add_secret_flags(parser)
    add_json_flag(parser)


class Secrets:
    """Passwords from stdin (one per line) or asked interactively, never echoed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._stdin = bool(getattr(args, "password_stdin", False))

    def ask(self, prompt: str) -> str:
        """Return the next password, asking with ``prompt`` unless ``--password-stdin``.

        Raises
        ------
        InputError
            ``--password-stdin`` was given and standard input has no line left.
        """
        if self._stdin:
            line = sys.stdin.readline()
            if not line:
                raise InputError(f"--password-stdin: no line left for {prompt.rstrip(': ')}")
            return line.rstrip("\r\n")
        return getpass.getpass(prompt)


@contextmanager
def logged_in(args: argparse.Namespace) -> Iterator[tuple[RecordsServices, UserSession, Secrets]]:
    """Open ``args.db``, log ``args.user`` in; log out and close on leaving.

    Raises
    ------
    AuthenticationFailed, AccountLocked, InputError
        As :meth:`AuthService.login` and :meth:`Secrets.ask` raise them.
    """
    from printpharm.services.station.records_app import open_records

    services = open_records(args.db)
    secrets = Secrets(args)
    try:
        if not services.start_up().ok:  # reading goes on; every recorded action is refused
            sys.stderr.write(f"printpharm: warning: {services.auth.production_blocked}\n")
        session = services.auth.login(args.user, secrets.ask(f"password for {args.user}: "))
        try:
            yield services, session, secrets
        finally:
            services.auth.logout(session)
    finally:
        services.close()
