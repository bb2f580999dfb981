"""Composition of the records services for one database (used by the CLI and the GUI).

:func:`open_records` builds the database, audit context and every records
service with the site's security settings; :func:`initialise`,
:func:`upgrade_database` and :func:`verify_database` are the operations that
run before anyone can log in (first run, schema upgrade, offline verification).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from printpharm.errors import (
    AuditChainBroken,
    AuditError,
    DatabaseUnavailable,
    InputError,
    MigrationError,
)
from printpharm.services.access.accounts import AccountService, UserInfo
from printpharm.services.access.auth import AuthConfig, AuthService, UserSession
from printpharm.services.access.break_glass import issue_recovery_code
from printpharm.services.access.context import WORKSTATION_ENV, audit_context
from printpharm.services.access.passwords import HasherConfig, PasswordPolicy, at_least_floor
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import (
    RecordsService,
    SiteSettingsService,
    read_audit_events,
)
from printpharm.services.access.site_trust import (
    anchor_due,
    anchor_head,
    anchor_log_path,
    check_integrity,
    enrol_site_key,
    rotate_site_key,
    signer_for,
)
from printpharm.services.control.research import ResearchModeService
from printpharm.services.records.batches import recover_open_batches
from printpharm.storage.audit import (
    AuditContext,
    AuditEntry,
    AuditEvent,
    BrokenLink,
    canonical_json,
    sha256_hex,
)
from printpharm.storage.db import Database, resolve_database_url
from printpharm.storage.export import MANIFEST_KEY as PACKAGE_MANIFEST_KEY
from printpharm.storage.integrity import Anchor, IntegrityReport
from printpharm.storage.repositories import AlarmRecord, unit_of_work
from printpharm.storage.sitekey import SiteKey, SiteKeyError

__all__ = [
    "HASHER_ENV",
    "FirstRun",
    "SETTING_KEYS",
    "WORKSTATION_ENV",
    "RecordsServices",
    "auth_config_from_settings",
    "initialise",
    "open_records",
    "read_events",
    "upgrade_database",
    "verify_database",
]

#: ``time_cost,memory_kib,parallelism`` for argon2id (tests and low-power machines only).
HASHER_ENV = "PRINTPHARM_ARGON2"
#: Overrides the workstation name written into audit events (default: the host name).

#: Site-setting keys that configure security, and the AuthConfig field each sets.
SETTING_KEYS: Mapping[str, str] = {
    "auth.lockout_threshold": "lockout_threshold",
    "session.idle_timeout_s": "idle_timeout_s",
    "research.max_duration_s": "max_research_s",
    "password.min_length": "min_length",
    "password.history": "history",
    "password.max_age_days": "max_age_days",
    "password.min_strength": "min_strength",
}


@dataclass
class RecordsServices:
    """The records services of one database, wired together."""

    db: Database
    auth: AuthService
    accounts: AccountService
    records: RecordsService
    research: ResearchModeService
    settings: SiteSettingsService
    anchor_log: Path
    #: Batches of this workstation that :meth:`start_up` closed as interrupted.
    recovered: list[str] = field(default_factory=list)
    #: (seq, hash) of the last event the integrity checks verified.
    _verified: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        self.auth.use_gate(self.quick_check)

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    def integrity_check(self) -> IntegrityReport:
        """Verify chain, site key, anchors and row cross-checks (start-up and on demand, REC-05).

        A failure is recorded as an incident (OPS-06): an ``integrity.audit-chain``
        alarm saying what to do, and every recorded production action is refused
        from then on in this process (the database is read-only for production).
        """
        with self.auth.uow(write=False) as uow:
            report = check_integrity(uow, self.anchor_log)
        if report.ok:
            self._verified = (report.chain.events, report.chain.last_hash)
        else:
            self._fail(report.problems(), report.chain.first_broken)
        return report

    def quick_check(self) -> None:
        """The gate before every recorded action (CLI and GUI): cheap, so always run.

        The events appended since the last check must chain to it and the head must
        still be signed by the site key; the full check runs at start-up.

        Raises
        ------
        AuditChainBroken
            The check failed: production is read-only from now on (see :meth:`_fail`).
        """
        with self.auth.uow(write=False) as uow:
            chain, key_problems = uow.quick_verify(self._verified)
        problems = [
            *([f"audit trail BROKEN at event {b.seq} ({b.problem}): {b.detail}"]
              if (b := chain.first_broken) else []),
            *(f"site key: {p}" for p in key_problems),
            *(f"clock set back: event {seq}" for seq in chain.clock_setbacks),
        ]  # fmt: skip
        if problems:
            raise AuditChainBroken(self._fail(problems, chain.first_broken))
        self._verified = (chain.events, chain.last_hash)

    def _fail(self, problems: list[str], broken: BrokenLink | None) -> str:
        """Block production, raise the alarm, record the incident; return the message."""
        message = (
            f"records integrity check FAILED ({len(problems)} problem(s); first: "
            f"{problems[0]}). Production is read-only. Administrator: run `printpharm "
            "audit verify`, compare with the last verified backup and the anchor log, "
            "and follow docs/SECURITY.md ('Integrity failure')."
        )
        self.auth.block_production(message)
        with self.auth.uow() as uow:
            uow.alarms.raise_alarm("integrity.audit-chain", "critical", message, uow.now())
        try:  # the incident goes into the trail too, unless the head itself is forged
            with self.auth.uow() as uow:
                uow.audit.append(
                    AuditEntry(
                        "audit_trail",
                        "integrity-check-failed",
                        str(broken.seq) if broken else None,
                        new={
                            "problem": broken.problem if broken else "integrity",
                            "detail": broken.detail if broken else problems[0],
                            "problems": problems[:20],
                        },
                    )
                )
        except (AuditError, DatabaseUnavailable):
            pass  # the alarm row stands; the chain cannot be extended
        return message

    def start_up(self) -> IntegrityReport:
        """The start-up check (CLI and GUI alike): integrity, the daily anchor, crash recovery.

        When the records are intact, the daily anchor is written if due, and this
        workstation's batches left open by a crash (no live lease) are closed as
        interrupted (:attr:`recovered`). After a failed check nothing is written.
        """
        report = self.integrity_check()
        if not report.ok:
            return report
        if report.key_id is not None:
            with self.auth.uow(write=False) as uow:
                settings = {k: s.value for k, s in uow.settings.all().items()}
                if anchor_due(self.anchor_log, settings, uow.now(), uow.database_id()):
                    anchor_head(uow, self.anchor_log, "daily")
        self.recovered = recover_open_batches(self.auth)
        return report

    def rotate_key(self, session: UserSession, reason: str) -> SiteKey:
        """Replace the site key (administrator, with a reason); the old public key stays.

        Raises
        ------
        PermissionDenied
            Not an administrator.
        SiteKeyError
            This workstation does not hold the key in force.
        """
        live = self.auth.require(session, Operation.CONFIGURE_SITE)
        if not reason.strip():
            raise InputError("a key rotation needs a reason")
        old = self.auth.signer
        if old is None:
            raise SiteKeyError("this workstation holds no site key of this database")
        with self.auth.uow() as uow:
            key = rotate_site_key(uow, old, live.user_id)
        self.auth.use_signer(key)
        self.anchor("key rotation")
        return key

    def anchor(self, occasion: str = "on demand") -> Anchor:
        """Append the signed head to the anchor log now."""
        with self.auth.uow(write=False) as uow:
            return anchor_head(uow, self.anchor_log, occasion)


def _hasher_from_env() -> HasherConfig:
    value = os.environ.get(HASHER_ENV)
    if not value:
        return HasherConfig()
    try:
        t, m, p = (int(x) for x in value.split(","))
    except ValueError:
        raise InputError(
            f"{HASHER_ENV}={value!r} must be 'time_cost,memory_kib,parallelism'"
        ) from None
    if t < 1 or p < 1 or m < 8 * p:
        raise InputError(
            f"{HASHER_ENV}={value!r}: need time_cost ≥ 1, memory_kib ≥ 8 × parallelism"
        )
    return at_least_floor(HasherConfig(t, m, p))  # the environment never weakens the floor


def auth_config_from_settings(settings: Mapping[str, Any], hasher: HasherConfig) -> AuthConfig:
    """Build the security configuration from site settings (see :data:`SETTING_KEYS`).

    Raises
    ------
    InputError
        A setting has a value that is not a whole number or breaks a floor.
    """
    values: dict[str, int] = {}
    for key, name in SETTING_KEYS.items():
        if key in settings:
            value = settings[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise InputError(f"site setting {key} = {value!r} must be a whole number")
            values[name] = value
    default = PasswordPolicy()
    policy = PasswordPolicy(
        min_length=values.get("min_length", default.min_length),
        history=values.get("history", default.history),
        max_age_days=values.get("max_age_days", default.max_age_days),
        blocklist=default.blocklist,
        min_strength=values.get("min_strength", default.min_strength),
    )
    base = AuthConfig()
    return AuthConfig(
        lockout_threshold=values.get("lockout_threshold", base.lockout_threshold),
        idle_timeout_s=values.get("idle_timeout_s", base.idle_timeout_s),
        max_research_s=values.get("max_research_s", base.max_research_s),
        policy=policy,
        hasher=hasher,
    )


def _context(clock: Callable[[], datetime] | None) -> AuditContext:
    return audit_context(clock=clock)


def open_records(
    db_url: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    alert: Callable[[AlarmRecord], None] | None = None,
) -> RecordsServices:
    """Open the database named by ``db_url`` (or the environment/default) and wire the services.

    Audit events written through these services carry the configuration
    version: ``cfg-`` and 12 hex digits of the SHA-256 of the site settings
    (keys, versions and values) read when the services were opened.

    Raises
    ------
    MigrationError
        The schema is not at this printpharm's revision (run ``printpharm db upgrade``).
    DatabaseUnavailable
        The database cannot be reached.
    """
    db = Database(resolve_database_url(db_url))
    context = _context(clock)
    try:
        db.require_current()
        with unit_of_work(db, context, write=False) as uow:
            stored = uow.settings.all()
        settings = {k: s.value for k, s in stored.items()}
        config = auth_config_from_settings(settings, _hasher_from_env())
    except BaseException:
        db.dispose()
        raise
    problem = None
    try:
        signer = signer_for(db, context)
    except SiteKeyError as exc:
        signer, problem = None, str(exc)  # readable; every write refuses with the reason
    versions = {k: [s.version, s.value] for k, s in sorted(stored.items())}
    context = replace(
        context,
        config_version="cfg-" + sha256_hex(canonical_json(versions))[:12],
        signer=signer,
        signer_problem=problem,
    )
    auth = AuthService(db, context, config, alert)
    auth.anchor_log = log = anchor_log_path(settings)
    return RecordsServices(
        db,
        auth,
        AccountService(auth),
        RecordsService(auth),
        ResearchModeService(auth),
        SiteSettingsService(auth),
        log,
    )


def upgrade_database(db_url: str | None = None) -> tuple[str | None, str | None]:
    """Apply the migrations; return the revisions before and after."""
    db = Database(resolve_database_url(db_url))
    try:
        before = db.current_revision()
        db.upgrade()
        return before, db.current_revision()
    finally:
        db.dispose()


@dataclass(frozen=True)
class FirstRun:
    """What ``init`` made: the administrator, and the recovery code to print and seal.

    ``recovery_code`` is ``None`` when the database had its code already (an upgrade).
    """

    admin: UserInfo
    recovery_code: str | None


def initialise(
    db_url: str | None,
    admin_id: str,
    full_name: str,
    password: str,
    clock: Callable[[], datetime] | None = None,
) -> FirstRun:
    """Create (or upgrade) the database, its site key, first administrator and recovery code.

    The recovery code (break-glass, :mod:`printpharm.services.access.break_glass`) is
    returned once, to be printed and sealed; only its hash is stored.

    Raises
    ------
    PermissionDenied
        An account exists already.
    PasswordPolicyError, InputError
        The user ID or password is not acceptable.
    """
    upgrade_database(db_url)
    services = open_records(db_url, clock=clock)
    try:
        with services.auth.uow() as uow:
            if uow.current_key() is None:
                key = enrol_site_key(uow, admin_id)
                services.auth.use_signer(key)
        admin = services.accounts.create_first_administrator(admin_id, full_name, password)
        with services.auth.uow() as uow:
            code = None
            if not uow.recovery_codes.unused():
                code = issue_recovery_code(uow, services.auth.config.hasher, admin_id)
        return FirstRun(admin, code)
    finally:
        services.close()


def _open_for_reading(db_url: str | None) -> Database:
    url = resolve_database_url(db_url)
    db = Database(url, read_only=url.startswith("sqlite"))
    if db.current_revision() is None:
        db.dispose()
        raise MigrationError(f"{url} holds no printpharm records (no schema revision)")
    return db


def verify_database(db_url: str | None = None) -> IntegrityReport:
    """Verify chain, site keys, seals, row cross-checks and anchors of the database.

    Needs only the database (read-only for a SQLite file) and, for anchors, the
    anchor log (``PRINTPHARM_ANCHOR_LOG`` or the site setting). An inspection
    package is verified as partial (one batch's rows, users redacted).

    Raises
    ------
    DatabaseUnavailable
        The file or server cannot be opened.
    MigrationError
        It is not a printpharm database.
    """
    db = _open_for_reading(db_url)
    try:
        with unit_of_work(db, AuditContext("verifier", "-"), write=False) as uow:
            settings = {k: s.value for k, s in uow.settings.all().items()}
            partial = PACKAGE_MANIFEST_KEY in settings
            log = anchor_log_path({} if partial else settings)
            return check_integrity(uow, log, partial=partial)
    finally:
        db.dispose()


def read_events(db_url: str | None = None, **filters: Any) -> list[AuditEvent]:
    """Read audit events (filters: ``batch_id``, ``record_type``, ``user_id``, ``limit`` ...)."""
    db = _open_for_reading(db_url)
    try:
        return read_audit_events(db, **filters)
    finally:
        db.dispose()
