"""Issue 13: every release is anchored; every record and export names its chain head and key.

Runs on SQLite and PostgreSQL with a keyed database (the site key signs the head).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import RecordError
from printpharm.services.access.auth import UserSession
from printpharm.services.records.audit_export import AuditFilter, export_audit
from printpharm.services.records.export import BatchExportService
from printpharm.storage.db import Database
from printpharm.storage.integrity import read_anchors
from printpharm.storage.sitekey import create_site_key
from tests.services._records_fixtures import Env, build_env, clock, db, db_spec, sqlite_template
from tests.services.test_batch_export import _release, record_run
from tests.storage._dbs import FakeClock

__all__ = ["clock", "db", "db_spec", "sqlite_template"]

pypdf = pytest.importorskip("pypdf")

Team = dict[str, tuple[str, UserSession]]


@pytest.fixture
def keyed(db: Database, clock: FakeClock, tmp_path: Path) -> Iterator[Env]:
    """Services over a keyed database whose releases are anchored to a log in ``tmp_path``."""
    env = build_env(db, clock, signer=create_site_key(tmp_path / "keys"))
    env.auth.anchor_log = tmp_path / "anchors" / "audit-anchors.jsonl"
    yield env


@pytest.fixture
def team(keyed: Env) -> Team:
    people = {
        "sup1": keyed.make_user("sup1", "supervisor", "Sue Super"),
        "sup2": keyed.make_user("sup2", "supervisor", "Sam Second"),
        "insp": keyed.make_user("insp", "inspector", "Ivo Inspector"),
    }
    for user_id in ("sup1", "sup2"):
        password, session = people[user_id]
        keyed.enrol(user_id, password, session)
    return people


def _released(keyed: Env, team: Team, catalog: Catalog, sim_devices: Any) -> str:
    """10 units recorded; content uniformity passed; reviewed by sup2, released by sup1."""
    batch_id = record_run(keyed, catalog, sim_devices, units=10)
    _release(keyed, team, batch_id)
    return batch_id


def _head(keyed: Env) -> tuple[int, str, str]:
    with keyed.auth.uow(write=False) as uow:
        head, key = uow.signed_head(), uow.current_key()
    assert key is not None
    return int(head["seq"]), str(head["event_hash"]), key.key_id


def test_every_release_appends_the_signed_head_to_the_anchor_log(
    keyed: Env, team: Team, catalog: Catalog, sim_devices: Any
) -> None:
    assert keyed.auth.anchor_log is not None
    batch_id = _released(keyed, team, catalog, sim_devices)
    seq, digest, key_id = _head(keyed)
    (anchor,) = read_anchors(keyed.auth.anchor_log)
    assert (anchor.seq, anchor.event_hash, anchor.key_id) == (seq, digest, key_id)
    line = json.loads(keyed.auth.anchor_log.read_text(encoding="utf-8"))
    assert line["occasion"] == f"release of batch {batch_id}"
    assert stat.S_IMODE(keyed.auth.anchor_log.stat().st_mode) == 0o600
    with keyed.auth.uow(write=False) as uow:  # the anchor verifies against the chain
        assert uow.verify_integrity(read_anchors(keyed.auth.anchor_log)).ok


def test_a_release_whose_anchor_log_cannot_be_written_stands_and_raises_an_alarm(
    keyed: Env, team: Team, catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the anchor folder should be", encoding="utf-8")
    keyed.auth.anchor_log = blocker / "anchors.jsonl"
    batch_id = _released(keyed, team, catalog, sim_devices)
    with keyed.auth.uow(write=False) as uow:
        assert uow.batches.get(batch_id).status == "released"  # type: ignore[union-attr]
        (alarm,) = [a for a in uow.alarms.unacknowledged() if a.kind == "integrity.anchor"]
    assert f"release of batch {batch_id}" in alarm.message
    assert "printpharm audit anchor" in alarm.message


def _pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_batch_records_name_the_chain_head_they_were_made_at_and_the_site_key(
    keyed: Env, team: Team, catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    batch_id = _released(keyed, team, catalog, sim_devices)
    service = BatchExportService(keyed.auth, keyed.db)
    _, insp = team["insp"]
    made: dict[str, tuple[int, str, str]] = {}
    results = {}
    for fmt in ("json", "csv", "pdf", "package"):
        made[fmt] = _head(keyed)  # the export event comes after: the record shows this head
        results[fmt] = service.export(insp, batch_id, fmt, tmp_path / f"record.{fmt}")
    for fmt, result in results.items():
        seq, digest, key_id = made[fmt]
        assert result.head is not None and result.head.key_fingerprint == key_id
        assert (result.head.seq, result.head.event_hash) == (seq, digest), fmt
        assert stat.S_IMODE(result.path.stat().st_mode) == 0o600, fmt
    seq, digest, key_id = made["json"]
    head = json.loads(results["json"].path.read_text())["derived"]["audit_chain"]["head"]
    assert head == {"seq": seq, "event_hash": digest, "site_key_fingerprint": key_id}
    rows = {r[1]: r[2] for r in csv.reader(io.StringIO(results["csv"].path.read_text()))}
    seq, digest, key_id = made["csv"]
    assert (rows["chain_head_seq"], rows["chain_head_sha256"]) == (str(seq), digest)
    assert rows["site_key_fingerprint"] == key_id
    seq, digest, key_id = made["pdf"]
    text = _pdf_text(results["pdf"].path)
    assert f"made at chain head event {seq}" in text and key_id in text.replace(" ", "")
    assert digest in text.replace(" ", "")
    seq, digest, key_id = made["package"]
    con = sqlite3.connect(results["package"].path)
    try:
        (value,) = con.execute("SELECT value_json FROM site_settings").fetchone()
    finally:
        con.close()
    manifest = json.loads(value)
    assert (manifest["chain_events"], manifest["chain_head_sha256"]) == (seq, digest)
    assert manifest["site_key_fingerprint"] == key_id


def test_audit_exports_carry_the_site_key_fingerprint(
    keyed: Env, team: Team, tmp_path: Path
) -> None:
    _, insp = team["insp"]
    seq, digest, key_id = _head(keyed)
    paths = {fmt: tmp_path / f"trail.{fmt}" for fmt in ("json", "csv", "pdf")}
    for fmt, path in paths.items():
        export_audit(keyed.auth, insp, fmt, path, AuditFilter())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(paths["json"].read_text())
    assert document["site_keys"][0]["fingerprint"] == key_id
    assert document["chain_head"] == {"seq": seq, "event_hash": digest,
                                      "site_key_fingerprint": key_id}  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert rows and {r["site_key"] for r in rows} == {key_id}
    assert key_id in _pdf_text(paths["pdf"]).replace(" ", "")


@pytest.mark.parametrize("target", ["file", "link", "dangling link"])
def test_exports_refuse_an_existing_file_and_a_symbolic_link(
    keyed: Env, team: Team, tmp_path: Path, target: str
) -> None:
    _, insp = team["insp"]
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    path = tmp_path / "out.csv"
    if target == "file":
        path.write_text("already here", encoding="utf-8")
    else:
        path.symlink_to(victim if target == "link" else tmp_path / "nowhere.txt")
    with pytest.raises(RecordError, match="exists already|symbolic link"):
        export_audit(keyed.auth, insp, "csv", path, AuditFilter())
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (tmp_path / "nowhere.txt").exists()
    assert os.path.lexists(path) and (target != "file" or path.read_text() == "already here")
    assert not [e for e in keyed.events(record_type="audit") if e.action == "export"]
