"""Fixtures for the auth, signature and research-mode tests (both back-ends)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo

import pytest

from printpharm.services.access.accounts import AccountService
from printpharm.services.access.auth import AuthConfig, AuthService, UserSession
from printpharm.services.access.passwords import HasherConfig, PasswordPolicy
from printpharm.services.access.signatures import RecordsService, SiteSettingsService
from printpharm.services.access.training import record_training
from printpharm.services.control.research import ResearchModeService
from printpharm.storage.audit import AuditEvent
from printpharm.storage.db import Database
from printpharm.storage.repositories import AlarmRecord, unit_of_work
from printpharm.storage.sitekey import SiteKey
from tests.storage._dbs import FakeClock, clock, db, db_spec, make_context, sqlite_template

__all__ = [
    "ADMIN_PW",
    "CHEAP",
    "Env",
    "build_env",
    "clock",
    "db",
    "db_spec",
    "env",
    "pw",
    "sqlite_template",
]

#: Cheap argon2id parameters so the suite stays fast (production uses the defaults).
CHEAP = HasherConfig(time_cost=1, memory_cost_kib=8, parallelism=1)
ADMIN_PW = "correct-horse-42-battery"


def pw(user_id: str) -> str:
    """The password a test user chooses after the temporary one."""
    return f"{user_id[::-1]}-secret-pass-9"


@dataclass
class Env:
    db: Database
    clock: FakeClock
    auth: AuthService
    accounts: AccountService
    records: RecordsService
    research: ResearchModeService
    settings: SiteSettingsService
    alerts: list[AlarmRecord] = field(default_factory=list)
    admin: UserSession | None = None
    admin_b: UserSession | None = None

    def train_role(self, user_id: str, role: str) -> None:
        """The administrator records ``user_id``'s training for ``role`` (TRN-01)."""
        assert self.admin is not None
        record_training(self.auth, self.admin, user_id, "role", role, date(2026, 1, 5), "Tara T")

    def make_user(
        self, user_id: str, role: str, name: str | None = None
    ) -> tuple[str, UserSession]:
        """Train for the role, create the account, change its temporary password.

        Returns (password, session).
        """
        assert self.admin is not None
        self.train_role(user_id, role)
        temporary = self.accounts.add_user(self.admin, user_id, name or user_id.title(), role)
        session = self.auth.login(user_id, temporary)
        password = pw(user_id)
        self.accounts.change_password(session, temporary, password)
        return password, session

    def enrol(self, user_id: str, password: str, session: UserSession) -> None:
        """Identity check by a second administrator and the user's acknowledgement.

        The administrator who created an account may not verify it (issue 13); the
        second administrator ``admin.b`` is made on first use.
        """
        self.accounts.verify_identity(self.verifier(), user_id, "ID card checked in person")
        self.accounts.acknowledge_signature(session, password)

    def verifier(self) -> UserSession:
        """The second administrator, who verifies identities (created on first use)."""
        if self.admin_b is None:
            _, self.admin_b = self.make_user("admin.b", "administrator", "Bea Admin")
        return self.admin_b

    def events(self, **filters: object) -> list[AuditEvent]:
        with unit_of_work(self.db, make_context(), write=False) as uow:
            return uow.events(**filters)


def build_env(
    db: Database, clock: FakeClock, signer: SiteKey | None = None, zone: tzinfo | None = None
) -> Env:
    """Services over ``db`` with cheap hashing, the first administrator logged in.

    With ``signer``, the database is keyed first (as ``printpharm init`` does) and
    every append signs the chain head with it. ``zone``: the workstation's time zone
    (``None``: this machine's).
    """
    config = AuthConfig(policy=PasswordPolicy(), hasher=CHEAP)
    alerts: list[AlarmRecord] = []
    context = replace(make_context(clock), signer=signer, zone=zone)
    if signer is not None:
        with unit_of_work(db, context) as uow:
            uow.register_key(signer, None, None)
    auth = AuthService(db, context, config, alert=alerts.append)
    accounts = AccountService(auth)
    e = Env(
        db,
        clock,
        auth,
        accounts,
        RecordsService(auth),
        ResearchModeService(auth),
        SiteSettingsService(auth),
        alerts,
    )
    accounts.create_first_administrator("admin", "Ada Admin", ADMIN_PW)
    e.admin = auth.login("admin", ADMIN_PW)
    return e


@pytest.fixture
def env(db: Database, clock: FakeClock) -> Iterator[Env]:
    """Services on each back-end."""
    yield build_env(db, clock)
