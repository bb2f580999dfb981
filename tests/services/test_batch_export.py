"""Batch record exports: JSON round trip, CSV, PDF, the inspection package, Annex 11 §8.2."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import PermissionDenied, RecordError
from printpharm.services.access.auth import UserSession
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.records.content_uniformity import CuEntry, CuService
from printpharm.services.records.export import (
    BatchExportService,
    record_from_json,
    record_to_csv,
    record_to_json,
)
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from printpharm.storage.batches import UnitReading
from printpharm.storage.canonical import HASHED_FIELDS, event_hash
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import HARDWARE_IDENTITY, make_request, options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "record_run", "sqlite_template"]

DOSE_RECORD = {
    "patient_id": "P-0042",
    "prescriber": "Dr. Ines Ortega",
    "rule": "mg_per_m2",
    "amount": "20",
    "amount_unit": "mg/m2",
    "height_cm": "110",
    "weight_kg": "19",
    "formula": "mosteller",
    "bsa_m2": "0.76",
    "dose_step_mg": "0.5",
    "final_dose_mg": "15",
    "steps": ["BSA (Mosteller) 0.7600 m²", "20 mg/m² × 0.76 m² = 15.2 mg", "rounded to 15 mg"],
    "warnings": [],
}


def record_run(env: Env, catalog: Catalog, sim_devices: Any, units: int = 4, **sim: Any) -> str:
    """Print ``units`` units on the simulators, recorded by tech1; return the batch ID.

    The printer simulator answers M115 as a bench printer would (HARDWARE_IDENTITY),
    so the batch may be for patient use.
    """
    sim = {**HARDWARE_IDENTITY, **sim}
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    request = dataclasses.replace(
        make_request(catalog, dose_mg=Decimal(15), units=units), dose_record=DOSE_RECORD
    )
    result = run_batch(
        request,
        sim_devices(request, seed=3, **sim),
        recorder=DatabaseRecorder(env.auth, tech),
        options=options(),
    )
    return result.batch_id


@pytest.fixture
def team(env: Env) -> dict[str, tuple[str, UserSession]]:
    people = {
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
        "insp": env.make_user("insp", "inspector", "Ivo Inspector"),
    }
    for user_id in ("sup1", "sup2"):
        password, session = people[user_id]
        env.enrol(user_id, password, session)
    return people


def _release(env: Env, team: dict[str, tuple[str, UserSession]], batch_id: str) -> None:
    """Content uniformity (15 mg at 5 % w/w needs it), review by sup2, release by sup1."""
    batches = BatchRecordsService(env.auth, env.records)
    pw2, sup2 = team["sup2"]
    pw1, sup1 = team["sup1"]
    cu = CuService(env.auth)
    sample = cu.select(sup1, batch_id)
    results = [CuEntry(n, Decimal(99) + Decimal(i) / 5, "pct") for i, n in enumerate(sample.units)]
    assert cu.enter(sup1, batch_id, results, "HPLC-UV, SOP QC-12", "Ann Analyst").passed
    batches.review(sup2, batch_id, "sup2", pw2, "record and audit trail reviewed")
    batches.dispose(sup1, batch_id, "released", "sup1", pw1, "meets specification")


def test_json_round_trips_to_what_is_stored(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    batch_id = record_run(env, catalog, sim_devices, units=10)
    _release(env, team, batch_id)
    service = BatchExportService(env.auth, env.db)
    _, insp = team["insp"]
    view = service.view(insp, batch_id)
    data = json.loads(json.dumps(record_to_json(view)))
    row, signatures, events = record_from_json(data)
    with unit_of_work(env.db, make_context(), write=False) as uow:
        assert row == uow.batches.get(batch_id)
        assert signatures == uow.signatures.for_record("batch", batch_id)
        assert events == uow.events(batch_id=batch_id)
    for event in events:  # each exported event still proves itself
        content = {k: getattr(event, k) for k in HASHED_FIELDS}
        assert event_hash(content) == event.event_hash
    derived = data["derived"]
    assert derived["patient_use"] and not derived["changed_after_signing"]
    assert derived["audit_chain"]["ok"] and len(derived["unit_verdicts"]) == 10
    # the run left the verdict pending (10 mg at 5 % w/w); the assays entered decided it
    assert derived["result"]["qc"]["verdict"] == "pending_content_uniformity"
    assert derived["qc"]["verdict"] == "pass" and derived["qc"]["tests"][-1]["test"] == "2.9.40-cu"
    assert derived["units_without_audit_event"] == []
    assert [s["meaning"] for s in data["signatures"]] == ["reviewed", "released"]
    assert all(s["valid"] for s in data["signatures"])
    assert "Released by Sue Super (sup1) on" in data["signatures"][1]["manifestation"]


def test_a_change_after_signing_is_stated_and_listed(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    batch_id = record_run(env, catalog, sim_devices, units=2)
    batches = BatchRecordsService(env.auth, env.records)
    pw2, sup2 = team["sup2"]
    batches.review(sup2, batch_id, "sup2", pw2, "reviewed")
    service = BatchExportService(env.auth, env.db)
    assert "No data changed after signing" in service.view(sup2, batch_id).signing_statement
    with unit_of_work(env.db, make_context()) as uow:  # a unit slipped in after the review
        uow.batches.add_unit(batch_id, UnitReading(9, Decimal("300.0"), Decimal("301.0"), "mg"))
    view = service.view(sup2, batch_id)
    assert view.changed_after_signing
    assert view.signing_statement.startswith("CHANGED AFTER SIGNING: the reviewed")
    assert "modified after signing" in (view.signatures[0].problem or "")
    assert view.unaudited_units == (9,)  # written around the services: no audit event
    text = record_to_csv(view)
    assert "CHANGED AFTER SIGNING" in text
    assert re.search(r"\nunit,9,300\.0+,301\.0+,mg,", text)  # NUMERIC(18,6) on PostgreSQL


def test_exports_are_audited_never_overwrite_and_need_the_role(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    batch_id = record_run(env, catalog, sim_devices, units=3)
    service = BatchExportService(env.auth, env.db)
    _, insp = team["insp"]
    pdf = service.export(insp, batch_id, "pdf", tmp_path / "b.pdf")
    data = pdf.path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert int(re.findall(rb"/Count (\d+)", data)[0]) >= 2
    assert f"Batch record {batch_id}".encode() in data  # document title
    csv_out = service.export(insp, batch_id, "csv", tmp_path / "b.csv")
    assert csv_out.path.read_text().count("\nunit,") == 4  # header + 3 units
    exports = env.events(batch_id=batch_id, action="export")
    assert [(e.user_id, e.new()["format"], e.new()["sha256"]) for e in exports] == [
        ("insp", "pdf", pdf.sha256),
        ("insp", "csv", csv_out.sha256),
    ]
    with pytest.raises(RecordError, match="never overwrite"):
        service.export(insp, batch_id, "json", tmp_path / "b.pdf")
    _, tech2 = env.make_user("tech2", "technician")
    with pytest.raises(PermissionDenied, match="records.export"):
        service.export(tech2, batch_id, "json", tmp_path / "t.json")


def test_inspection_package_verifies_on_a_clean_machine(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    batch_id = record_run(env, catalog, sim_devices, units=10)
    _release(env, team, batch_id)
    service = BatchExportService(env.auth, env.db)
    _, insp = team["insp"]
    package = tmp_path / "inspect" / "package.sqlite"
    package.parent.mkdir()
    result = service.export(insp, batch_id, "package", package)
    # nothing but PATH and an empty home: no PRINTPHARM_* variables, no repository on the path
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    command = [sys.executable, "-m", "printpharm", "audit", "verify", "--db", str(package)]
    done = subprocess.run(
        [*command, "--json"], env=clean, cwd=package.parent,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    with unit_of_work(env.db, make_context(), write=False) as uow:
        live_events = uow.verify_chain().events
    assert report["ok"] and report["events"] == live_events - 1  # all but the export's own event
    con = sqlite3.connect(package)
    try:
        assert con.execute("SELECT status FROM batches").fetchall() == [("released",)]
        assert con.execute("SELECT count(*) FROM units").fetchone() == (10,)
        assert con.execute("SELECT count(*) FROM cu_results").fetchone() == (10,)
        assert con.execute("SELECT count(*) FROM signatures").fetchone() == (2,)
        hashes = {h for (h,) in con.execute("SELECT password_hash FROM users")}
        assert hashes == {"!exported: no password"}
        manifest = json.loads(con.execute("SELECT value_json FROM site_settings").fetchone()[0])
        assert manifest["batch_id"] == batch_id and manifest["exported_by"] == "insp"
        # a tamperer who removes the trigger and edits one event is caught
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute("UPDATE audit_events SET reason = 'edited' WHERE seq = 3")
        con.commit()
    finally:
        con.close()
    done = subprocess.run(
        command, env=clean, cwd=package.parent,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and "BROKEN at event 3" in done.stdout
    assert result.sha256 == env.events(action="export")[-1].new()["sha256"]


def test_a_research_batch_without_authorisation_is_not_for_patient_use(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw1, sup1 = team["sup1"]
    env.research.unlock(sup1, "sup1", pw1, "formulation study", 3600)
    batch_id = record_run(env, catalog, sim_devices, units=2)
    view = BatchExportService(env.auth, env.db).view(sup1, batch_id)
    assert view.batch.research_mode and not view.patient_use
    assert "research mode" in view.patient_use_reason
    assert record_to_json(view)["derived"]["patient_use_label"] == "NOT FOR PATIENT USE"
