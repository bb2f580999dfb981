"""Run ``printpharm`` in-process against a records database, as the CLI tests need it."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from printpharm.cli import main
from tests.services.conftest import HARDWARE_IDENTITY

ADMIN_PW = "correct-horse-42-battery"
#: The day the CLI tests' training took place (a month before the real today).
TRAINED_ON = (date.today() - timedelta(days=30)).isoformat()


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

    def train(self, user_id: str, *subject: str) -> None:
        """The administrator records ``user_id``'s training, e.g. ``("--role", "technician")``."""
        code, _, err = self.as_user(
            "admin",
            "training",
            "add",
            user_id,
            *subject,
            "--trained-on",
            TRAINED_ON,
            "--trainer",
            "Tara Trainer",
        )
        assert code == 0, err

    def train_operator(self, user_id: str, recipe: str = "cpm-chewable-disc") -> None:
        """Train ``user_id`` on a recipe and the SSE printer type (a recorded run needs both)."""
        self.train(user_id, "--recipe", recipe)
        self.train(user_id, "--printer-type", "marlin-sse")

    def add_user(self, user_id: str, role: str, full_name: str, password: str) -> str:
        """Train ``user_id`` for ``role``, create the account as admin, set its ``password``."""
        self.train(user_id, "--role", role)
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


#: What the printer and balance simulators report (M115 UUID, MACHINE_TYPE, firmware; I4, I2).
#: The printer answers M115 as a bench printer (HARDWARE_IDENTITY): one that says
#: "simulator" never makes a batch for patient use (issue 13).
PRINTER_UUID = "00000000-0000-4000-8000-000000000000"
PRINTER_MODEL = HARDWARE_IDENTITY["machine_type"]
PRINTER_FIRMWARE = HARDWARE_IDENTITY["firmware_name"]
BALANCE_SERIAL = "1126493049"
BALANCE_MODEL = "XS205 DualRange"


def register_printer(cli: Cli, pharmacist: str, tag: str = "PR-01") -> None:
    """Register the bench printer, record its calibration, a pharmacist signs IQ/OQ/PQ."""
    code, _, err = cli.as_user("admin", "equipment", "add", "printer", tag, "--serial",
                               PRINTER_UUID, "--model", PRINTER_MODEL, "--firmware",
                               PRINTER_FIRMWARE, "--printer-type", "marlin-sse", "--location",
                               "Cleanroom 2")  # fmt: skip
    assert code == 0, err
    _calibrate_and_qualify(cli, pharmacist, tag, ("IQ", "OQ", "PQ"))


def qualify_balance(cli: Cli, pharmacist: str, tag: str) -> None:
    """Record the balance's calibration; a pharmacist signs IQ and OQ."""
    _calibrate_and_qualify(cli, pharmacist, tag, ("IQ", "OQ"))


def _calibrate_and_qualify(cli: Cli, pharmacist: str, tag: str, stages: tuple[str, ...]) -> None:
    done = (date.today() - timedelta(days=20)).isoformat()
    code, _, err = cli.as_user("admin", "equipment", "maintain", tag, "--kind", "calibration",
                               "--date", done, "--document", "CAL-CERT-7")  # fmt: skip
    assert code == 0, err
    for stage in stages:
        code, out, err = cli.as_user(
            pharmacist,
            "equipment",
            "qualify",
            tag,
            "--stage",
            stage,
            "--date",
            done,
            "--document",
            f"QP-{stage}-01",
            times=2,
        )
        assert code == 0 and "qualification signed" in out, err


def check_balance(cli: Cli, operator: str, tag: str, port: str) -> str:
    """Register the 100 g check weight (if new) and run the guided check; its output."""
    code, _, err = cli.as_user(
        "admin",
        "equipment",
        "add-weight",
        "W-100",
        "--nominal-g",
        "100",
        "--conventional-g",
        "100.00003",
        "--uncertainty-mg",
        "0.05",
        "--class",
        "E2",
        "--certificate",
        "CAL-2026-0142",
        "--certificate-expiry",
        (date.today() + timedelta(days=300)).isoformat(),
    )
    assert code == 0, err
    code, out, err = cli.as_user(operator, "equipment", "check-balance", tag, "--weight", "W-100",
                                 "--balance-port", port, "--wait-s", "20")  # fmt: skip
    assert code == 0 and "PASSED" in out, out + err
    return out
