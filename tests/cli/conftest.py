"""Run ``printpharm`` in-process against a records database, as the CLI tests need it."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from printpharm.cli import main

ADMIN_PW = "correct-horse-42-battery"


class Cli:
    """``printpharm`` on one database file (``--db`` is appended): (exit code, stdout, stderr).

    ``passwords`` holds the password of every user created through it, for :meth:`as_user`.
    """

    def __init__(
        self, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.db, self.mp, self.capsys = db, monkeypatch, capsys
        self.passwords = {"admin": ADMIN_PW}

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.mp.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([*argv, "--db", str(self.db)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def on(self, db: Path) -> Cli:
        """The same runner on another database file."""
        return Cli(db, self.mp, self.capsys)

    def as_user(
        self, user: str, *argv: str, times: int = 1, password: str | None = None
    ) -> tuple[int, str, str]:
        """Run as ``user``, giving the password ``times`` times on stdin."""
        secret = self.passwords[user] if password is None else password
        return self(*argv, "--user", user, "--password-stdin", stdin=f"{secret}\n" * times)

    def init(
        self, *extra: str, admin: str = "admin", password: str = ADMIN_PW
    ) -> tuple[int, str, str]:
        """``printpharm init`` with ``admin`` as the first administrator."""
        return self("init", "--admin", admin, *extra, "--password-stdin", stdin=password + "\n")

    def add_user(self, user_id: str, role: str, full_name: str, password: str) -> str:
        """Create ``user_id`` as admin and set its own ``password`` (asserts both succeed)."""
        code, out, err = self.as_user(
            "admin", "users", "add", user_id, "--full-name", full_name, "--role", role, "--json"
        )
        assert code == 0, err
        temporary = json.loads(out)["temporary_password"]
        code, _, err = self(
            "users", "passwd", "--user", user_id, "--password-stdin",
            stdin=f"{temporary}\n{password}\n",
        )  # fmt: skip
        assert code == 0, err
        self.passwords[user_id] = password
        return password


@pytest.fixture
def make_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[Path], Cli]:
    """A :class:`Cli` factory, with fast password hashing and no database from the environment."""
    monkeypatch.setenv("PRINTPHARM_ARGON2", "1,8,1")
    monkeypatch.delenv("PRINTPHARM_DATABASE_URL", raising=False)
    return lambda db: Cli(db, monkeypatch, capsys)


def verifier(cli: Cli) -> str:
    """A second administrator, ``admin.b``, who verifies identities (made on first use).

    The administrator who created an account may not verify it (issue 13).
    """
    if "admin.b" not in cli.passwords:
        cli.add_user("admin.b", "administrator", "Bea Admin", pw("admin.b"))
    return "admin.b"


def pw(user_id: str) -> str:
    """The password the CLI tests give ``user_id``."""
    return f"{user_id[::-1]}-long-enough-pass-7"


def initialised(cli: Cli, people: tuple[tuple[str, str, str], ...]) -> Cli:
    """``cli`` after ``printpharm init`` with ``people`` (user ID, full name, role) added."""
    code, _, err = cli.init()
    assert code == 0, err
    for user_id, name, role in people:
        cli.add_user(user_id, role, name, pw(user_id))
    return cli
