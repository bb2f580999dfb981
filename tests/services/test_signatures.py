"""Electronic signatures: two components, genuine owner, manifestation, binding (SIG-01..08)."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest
from sqlalchemy.exc import DBAPIError

from printpharm.errors import (
    AccountLocked,
    AuthenticationFailed,
    PermissionDenied,
    SessionExpired,
    SignatureError,
)
from printpharm.services.access.signatures import (
    Meaning,
    SignableRecord,
    manifestation,
    signature_hash,
)
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _batch(
    batch_id: str = "B-001", version: int = 1, dose: str = "12.50", author: str = "tech1"
) -> SignableRecord:
    return SignableRecord(
        "batch",
        batch_id,
        version,
        {"dose_mg": Decimal(dose), "units": 10, "masses_mg": [Decimal("251.2"), Decimal("249.8")]},
        author_user_id=author,
        batch_id=batch_id,
    )


@pytest.fixture
def people(env: Env) -> dict[str, tuple[str, object]]:
    made = {
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
    }
    for user_id, (password, session) in made.items():
        env.enrol(user_id, password, session)  # type: ignore[arg-type]
    return made


def test_signing_needs_identity_check_and_acknowledgement(env: Env) -> None:
    """SEC-12 and SIG-09: no signature before enrolment; both steps audited."""
    password, session = env.make_user("sup9", "supervisor", "Sid Nine")
    with pytest.raises(SignatureError, match="not enrolled"):
        env.records.sign(session, _batch(), "approved", "sup9", password)
    with pytest.raises(PermissionDenied, match="created the account of sup9"):  # issue 13
        env.accounts.verify_identity(env.admin, "sup9", "passport checked in person")  # type: ignore[arg-type]
    env.accounts.verify_identity(env.verifier(), "sup9", "passport checked in person")
    with pytest.raises(SignatureError, match="not enrolled"):
        env.records.sign(session, _batch(), "approved", "sup9", password)
    with pytest.raises(AuthenticationFailed):
        env.accounts.acknowledge_signature(session, "wrong password!")
    env.accounts.acknowledge_signature(session, password)
    env.records.sign(session, _batch(), "approved", "sup9", password)
    actions = [e.action for e in env.events(record_type="user") if e.record_id == "sup9"]
    assert actions[-2:] == ["verify-identity", "signature-acknowledgement"]
    (ack,) = env.events(action="signature-acknowledgement")
    assert "legally binding" in ack.new()["statement"]
    info = {u.user_id: u for u in env.accounts.list_users(env.admin)}["sup9"]  # type: ignore[arg-type]
    assert info.may_sign and info.identity_verified_by == "admin.b"


def test_nobody_verifies_their_own_identity(env: Env) -> None:
    with pytest.raises(PermissionDenied, match="own identity"):
        env.accounts.verify_identity(env.admin, "admin", "mirror")  # type: ignore[arg-type]
    _, supervisor = env.make_user("sup9", "supervisor")
    with pytest.raises(PermissionDenied):
        env.accounts.verify_identity(supervisor, "sup9", "trust me")  # type: ignore[arg-type]


def test_sign_and_verify(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SIG-01/03/05: ID + password, manifestation, binding to id + version + content hash."""
    password, session = people["sup1"]
    record = _batch()
    sig = env.records.sign(session, record, "released", "sup1", password, "all units pass 2.9.5")
    assert (sig.meaning, sig.signer_user_id, sig.signer_name) == ("released", "sup1", "Sue Super")
    assert (sig.record_type, sig.record_id, sig.record_version) == ("batch", "B-001", 1)
    assert sig.content_sha256 == record.content_sha256()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sig.signed_at)
    text = manifestation(sig)
    assert text.startswith("Released by Sue Super (sup1) on 2026-03-29 ")
    # the local time with its offset, the zone named once ("UTC+00:00", not "UTC UTC+00:00")
    assert text.endswith(" 00:30:00 UTC" + sig.local_tz.rpartition("UTC")[2]), text
    assert env.records.verify_signature(sig, record).ok
    (stored,) = env.records.signatures(session, "batch", "B-001")
    assert stored == sig and sig.comment == "all units pass 2.9.5"
    (event,) = env.events(action="sign")
    assert event.batch_id == "B-001" and event.new()["signature_sha256"] == sig.signature_sha256


def test_change_after_signing_invalidates(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    password, session = people["sup1"]
    sig = env.records.sign(session, _batch(), Meaning.APPROVED, "sup1", password)
    changed = env.records.verify_signature(sig, _batch(dose="12.51"))
    assert not changed.ok and "content changed" in (changed.problem or "")
    new_version = env.records.verify_signature(sig, _batch(version=2))
    assert not new_version.ok and "modified after signing" in (new_version.problem or "")


def test_signature_cannot_be_moved_or_copied(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SIG-05: a signature row copied or moved to another record fails verification."""
    password, session = people["sup1"]
    sig = env.records.sign(session, _batch("B-001"), "approved", "sup1", password)
    other = _batch("B-002")
    assert not env.records.verify_signature(sig, other).ok
    moved = dataclasses.replace(sig, record_id="B-002")
    check = env.records.verify_signature(moved, other)
    assert not check.ok and "altered" in (check.problem or "")
    rehashed = dataclasses.replace(moved, signature_sha256=signature_hash(moved))
    check = env.records.verify_signature(rehashed, other)
    assert not check.ok and "content changed" in (check.problem or "")
    edited = dataclasses.replace(sig, signer_name="Someone Else")
    assert not env.records.verify_signature(edited, _batch("B-001")).ok


def test_stored_signatures_cannot_be_edited(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SIG-04: the database refuses UPDATE and DELETE on signatures."""
    password, session = people["sup1"]
    env.records.sign(session, _batch(), "approved", "sup1", password)
    for sql in ("UPDATE signatures SET record_id = 'B-002'", "DELETE FROM signatures"):
        with pytest.raises(DBAPIError, match="append-only"):
            with env.db.engine.begin() as conn:
                conn.exec_driver_sql(sql)


def test_password_is_reentered_for_every_signature(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SIG-01/SIG-08: a wrong password refuses, is logged and counts toward lockout."""
    password, session = people["sup1"]
    n = env.auth.config.lockout_threshold
    for _ in range(n - 1):
        with pytest.raises(AuthenticationFailed):
            env.records.sign(session, _batch(), "approved", "sup1", "not my password")
    assert len(env.events(action="signature-failed")) == n - 1
    with pytest.raises(AccountLocked):
        env.records.sign(session, _batch(), "approved", "sup1", "not my password")
    with pytest.raises(SessionExpired, match="sup1 was locked since login"):  # session ended
        env.records.sign(session, _batch(), "approved", "sup1", password)
    with pytest.raises(AccountLocked):  # and a new login is refused until an admin unlocks
        env.auth.login("sup1", password)
    assert [e.record_id for e in env.events(action="lockout")] == ["sup1"]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        assert uow.signatures.for_record("batch", "B-001") == []


def test_signing_with_someone_elses_credentials_is_refused(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SIG-02: the signer must be the session user; refused and logged."""
    _, session = people["sup1"]
    password2, _ = people["sup2"]
    with pytest.raises(AuthenticationFailed, match="own credentials"):
        env.records.sign(session, _batch(), "released", "sup2", password2)
    (event,) = env.events(action="signature-failed")
    assert event.user_id == "sup1" and event.new()["entered_user_id"] == "sup2"
    assert env.events(action="sign") == []


@pytest.mark.parametrize("meaning", list(Meaning))
def test_administrators_cannot_sign(env: Env, meaning: Meaning) -> None:
    """SEC-05: administrators hold no signature meaning."""
    from tests.services._records_fixtures import ADMIN_PW

    with pytest.raises(PermissionDenied, match=f"sign.{meaning.value}"):
        env.records.sign(env.admin, _batch(), meaning, "admin", ADMIN_PW)  # type: ignore[arg-type]


def test_inspectors_and_technicians_cannot_release(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    password, session = env.make_user("insp1", "inspector")
    env.enrol("insp1", password, session)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        env.records.sign(session, _batch(), "reviewed", "insp1", password)
    password, session = people["tech1"]
    with pytest.raises(PermissionDenied, match="sign.released"):
        env.records.sign(session, _batch(author="sup1"), "released", "tech1", password)


def test_nobody_signs_their_own_record(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    """SEC-05: the author of a record cannot approve it."""
    password, session = people["sup1"]
    own = dataclasses.replace(_batch(), author_user_id="sup1")
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        env.records.sign(session, own, "approved", "sup1", password)
    assert [e.action for e in env.events(record_type="batch")] == ["signature-refused"]


@pytest.mark.parametrize("meaning", ["", "verified", "APPROVED ", "ok"])
def test_meaning_comes_from_the_controlled_list(env: Env, people: dict, meaning: str) -> None:  # type: ignore[type-arg]
    """SIG-06."""
    password, session = people["sup1"]
    with pytest.raises(SignatureError, match="not one of"):
        env.records.sign(session, _batch(), meaning, "sup1", password)


def test_expired_session_cannot_sign(env: Env, people: dict) -> None:  # type: ignore[type-arg]
    password, session = people["sup1"]
    env.clock.advance(env.auth.config.idle_timeout_s + 1)
    with pytest.raises(SessionExpired):
        env.records.sign(session, _batch(), "approved", "sup1", password)


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("CET UTC+01:00", "2026-12-03 11:00:00 CET UTC+01:00"),
        ("UTC UTC+00:00", "2026-12-03 10:00:00 UTC+00:00"),  # not "UTC UTC+00:00"
        ("+04 UTC+04:00", "2026-12-03 14:00:00 UTC+04:00"),  # a zone named by its offset
        ("EST UTC-05:00", "2026-12-03 05:00:00 EST UTC-05:00"),
    ],
)
def test_a_local_time_names_its_zone_once(label: str, shown: str) -> None:
    from datetime import UTC, datetime

    from printpharm.services.access.signatures import local_time_text

    assert local_time_text(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), label) == shown
