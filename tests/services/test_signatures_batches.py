"""Review, release and rejection of batch records by e-signature (SIG-07, AUD-12, SEC-05)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from printpharm.errors import PermissionDenied, RecordError, SignatureError
from printpharm.services.records.batches import BatchRecordsService, batch_signable
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

AT = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.fixture
def team(env: Env) -> dict[str, tuple[str, object]]:
    people = {
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
    }
    for user_id, (password, session) in people.items():
        env.enrol(user_id, password, session)  # type: ignore[arg-type]
    return people


def _printed(env: Env, batch_id: str = "B-7", status: str = "completed") -> None:
    with unit_of_work(env.db, make_context()) as uow:
        # 125 mg in a 250 mg unit (500 mg/g): mass variation may replace content uniformity
        details = {"recipe": {"id": "r1", "ink": {"drug_load_mg_per_g": "500"}}}
        uow.batches.create(batch_id, Decimal("125"), 2, "tech1", AT, False, details)
        uow.batches.set_status(batch_id, "printing")
        for i in (1, 2):
            uow.batches.add_unit(
                batch_id,
                UnitReading(
                    i,
                    Decimal("250.0"),
                    Decimal("250.4"),
                    "mg",
                    AT,
                    True,
                    "interface",
                    Decimal(100),
                    f"S S 0.250{i} g",
                ),
            )
        uow.batches.set_status(batch_id, status)
        if status == "completed":  # as the run records it: the batch passed its QC (2.9.5)
            uow.audit.append(AuditEntry("batch", "finish", batch_id, "tech1", "Tess Tech",
                                        new={"qc": {"verdict": "pass", "reason": "2.9.5"}},
                                        batch_id=batch_id))  # fmt: skip
        uow.audit.append(  # the library's authorisation: a batch for patient use
            AuditEntry(
                "batch", "authorise", batch_id, batch_id=batch_id,
                new={"patient_use": True, "recipe_version": "r1@v1", "ink_version": "i1@v1",
                     "dose_mg": "12.5", "mode": "locked", "problems": []},
            )
        )  # fmt: skip


def test_release_after_review_by_another_person(env: Env, team: dict) -> None:  # type: ignore[type-arg]
    service = BatchRecordsService(env.auth, env.records)
    _printed(env)
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    with pytest.raises(SignatureError, match="no valid review"):
        service.dispose(sup1, "B-7", "released", "sup1", pw1)  # type: ignore[arg-type]
    service.review(sup2, "B-7", "sup2", pw2, "record and audit trail reviewed")  # type: ignore[arg-type]
    sig = service.dispose(sup1, "B-7", "released", "sup1", pw1, "meets spec")  # type: ignore[arg-type]
    row = service.get(sup1, "B-7")  # type: ignore[arg-type]
    assert (row.status, row.status_reason) == ("released", "meets spec")
    assert sig.record_version == row.version and sig.signer_name == "Sue Super"
    checks = service.signatures(sup1, "B-7")  # type: ignore[arg-type]
    assert [(s.meaning, c.ok) for s, c in checks] == [("reviewed", True), ("released", True)]
    assert batch_signable(row).content_sha256() == sig.content_sha256


def test_own_review_does_not_count_and_printer_cannot_sign(env: Env, team: dict) -> None:  # type: ignore[type-arg]
    service = BatchRecordsService(env.auth, env.records)
    _printed(env)
    pw1, sup1 = team["sup1"]
    service.review(sup1, "B-7", "sup1", pw1, "looked at it")  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="another person"):
        service.dispose(sup1, "B-7", "released", "sup1", pw1)  # type: ignore[arg-type]
    pw_t, tech = team["tech1"]
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        service.review(tech, "B-7", "tech1", pw_t, "my own batch")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="sign.released"):
        service.dispose(tech, "B-7", "released", "tech1", pw_t)  # type: ignore[arg-type]


def test_a_change_after_review_invalidates_it(env: Env, team: dict) -> None:  # type: ignore[type-arg]
    service = BatchRecordsService(env.auth, env.records)
    _printed(env)
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    service.review(sup2, "B-7", "sup2", pw2, "ok")  # type: ignore[arg-type]
    with unit_of_work(env.db, make_context()) as uow:
        uow.batches.add_unit("B-7", UnitReading(3, Decimal("250.0")))
    with pytest.raises(SignatureError, match="no valid review"):
        service.dispose(sup1, "B-7", "released", "sup1", pw1)  # type: ignore[arg-type]
    (check,) = [c for _, c in service.signatures(sup1, "B-7")]  # type: ignore[arg-type]
    assert not check.ok and "modified after signing" in (check.problem or "")


def test_reject_and_refused_moves(env: Env, team: dict) -> None:  # type: ignore[type-arg]
    service = BatchRecordsService(env.auth, env.records)
    _printed(env, "B-8", status="stopped")
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    service.review(sup2, "B-8", "sup2", pw2, "stopped run reviewed")  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="cannot go from stopped to released"):
        service.dispose(sup1, "B-8", "released", "sup1", pw1)  # type: ignore[arg-type]
    assert [s.meaning for s, _ in service.signatures(sup1, "B-8")] == ["reviewed"]  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="released or rejected"):
        service.dispose(sup1, "B-8", "approved", "sup1", pw1)  # type: ignore[arg-type]
    service.dispose(sup1, "B-8", "rejected", "sup1", pw1, "run stopped by alarm")  # type: ignore[arg-type]
    assert service.get(sup1, "B-8").status == "rejected"  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="does not exist"):
        service.get(sup1, "B-404")  # type: ignore[arg-type]


def test_a_batch_not_for_patient_use_is_never_released(env: Env, team: dict) -> None:  # type: ignore[type-arg]
    """Issue 13: a simulator/research batch is closed as rejected, never released."""
    service = BatchRecordsService(env.auth, env.records)
    with unit_of_work(env.db, make_context()) as uow:
        simulated = {"preflight": [{"name": "balance_simulated", "passed": True}]}
        uow.batches.create("B-9", Decimal("12.5"), 1, "tech1", AT, False, simulated)
        uow.batches.set_status("B-9", "printing")
        uow.batches.add_unit("B-9", UnitReading(1, Decimal("250.0"), Decimal("250.1")))
        uow.batches.set_status("B-9", "completed")
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    service.review(sup2, "B-9", "sup2", pw2, "reviewed")  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="NOT FOR PATIENT USE"):
        service.dispose(sup1, "B-9", "released", "sup1", pw1)  # type: ignore[arg-type]
    service.dispose(sup1, "B-9", "rejected", "sup1", pw1, "training batch")  # type: ignore[arg-type]
    assert service.get(sup1, "B-9").status == "rejected"  # type: ignore[arg-type]


def test_a_unit_edited_in_sql_blocks_release_and_shows_in_the_view(
    env: Env,
    team: dict,  # type: ignore[type-arg]
) -> None:
    service = BatchRecordsService(env.auth, env.records)
    _printed(env)
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    service.review(sup2, "B-7", "sup2", pw2, "reviewed")  # type: ignore[arg-type]
    with env.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("UPDATE units SET raw_reading = '0.2' WHERE unit_index = 1"
                             if conn.dialect.name == "sqlite" else
                             "UPDATE units SET raw_reading = 0.2 WHERE unit_index = 1")  # fmt: skip
    with pytest.raises(SignatureError, match="differs from the audit trail"):
        service.dispose(sup1, "B-7", "released", "sup1", pw1)  # type: ignore[arg-type]
    from printpharm.services.records.export import build_view

    with unit_of_work(env.db, make_context(), write=False) as uow:
        view = build_view(uow, "B-7", "sup1")
    assert view.patient_use is False and "differs from its audit trail" in view.patient_use_reason
