"""AUD-11: ``printpharm audit export`` — CSV, JSON and PDF, filtered, complete, and logged."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from printpharm.storage.audit import AuditEvent
from printpharm.storage.canonical import event_hash
from tests.cli.conftest import Cli, initialised

PEOPLE = (("tech1", "Tess Tech", "technician"), ("insp1", "Ines Inspector", "inspector"))


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    return initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)


def _batch(cli: Cli) -> str:
    run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "2", "--json"]
    cli.train_operator("tech1")
    code, out, err = cli.as_user("tech1", *run, "--line-clearance")
    assert code == 0 and json.loads(out)["status"] == "completed", err  # 2 units: QC pending
    return str(json.loads(out)["batch_id"])


def test_a_batch_trail_exports_as_json_csv_and_pdf_with_every_field(
    cli: Cli, tmp_path: Path
) -> None:
    batch_id = _batch(cli)
    files = {fmt: tmp_path / f"trail.{fmt}" for fmt in ("json", "csv", "pdf")}
    for fmt, path in files.items():
        code, out, err = cli.as_user("insp1", "audit", "export", "--format", fmt, "--out",
                                     str(path), "--batch", batch_id, "--json")  # fmt: skip
        assert code == 0, err
        done = json.loads(out)
        assert done["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    document = json.loads(files["json"].read_text(encoding="utf-8"))
    events = document["events"]
    assert {e["batch_id"] for e in events} == {batch_id}
    assert [e["action"] for e in events][:3] == ["line-clearance", "authorise", "create"]
    assert events[-1]["action"] == "finish"
    assert document["filters"]["batch_id"] == batch_id
    for event in events:  # complete: each event's own hash recomputes from the export
        assert event_hash(event) == event["event_hash"]
        assert set(event) == {f for f in AuditEvent.__dataclass_fields__}
    rows = list(csv.DictReader(io.StringIO(files["csv"].read_text(encoding="utf-8"))))
    assert [int(r["seq"]) for r in rows][: len(events)] == [e["seq"] for e in events]
    assert rows[0]["new_value"] == events[0]["new_value"]
    # the JSON export itself became part of the batch's trail before the CSV was written
    assert [(r["record_type"], r["action"]) for r in rows[len(events) :]] == [("audit", "export")]
    assert files["pdf"].read_bytes().startswith(b"%PDF-")

    code, out, _ = cli("audit", "show", "--record-type", "audit", "--json")
    logged = json.loads(out)["events"]
    assert [(e["action"], e["user_id"], e["record_id"]) for e in logged] == [
        ("export", "insp1", "json"),
        ("export", "insp1", "csv"),
        ("export", "insp1", "pdf"),
    ]
    values = [json.loads(e["new_value"]) for e in logged]
    assert values[0]["events"] == len(events) and f"batch_id = {batch_id}" in values[0]["filters"]
    assert values[1]["sha256"] == hashlib.sha256(files["csv"].read_bytes()).hexdigest()


def test_the_whole_trail_recomputes_as_a_chain_and_dates_filter_it(
    cli: Cli, tmp_path: Path
) -> None:
    _batch(cli)
    path = tmp_path / "all.json"
    assert cli.as_user("insp1", "audit", "export", "--format", "json", "--out", str(path))[0] == 0
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for before, after in zip(events, events[1:], strict=False):
        assert after["prev_hash"] == before["event_hash"]
    today = datetime.now(UTC).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    none = tmp_path / "none.csv"
    code, out, _ = cli.as_user("insp1", "audit", "export", "--format", "csv", "--out",
                               str(none), "--since", tomorrow, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["events"] == 0
    day = today.isoformat()
    code, _, err = cli.as_user("insp1", "audit", "export", "--format", "json", "--out",
                               str(path), "--since", day, "--until", day)  # fmt: skip
    assert code == 2 and "exists already" in err  # issue 13: an export never overwrites
    dated = tmp_path / "today.json"
    code, out, _ = cli.as_user("insp1", "audit", "export", "--format", "json", "--out",
                               str(dated), "--since", day, "--until", day)  # fmt: skip
    again = json.loads(dated.read_text(encoding="utf-8"))["events"]
    assert again[: len(events)] == events  # today holds everything recorded so far


@pytest.mark.parametrize(
    ("who", "extra", "message"),
    [
        ("tech1", [], "may not audit.view"),
        ("insp1", ["--since", "2026-12-02", "--until", "2026-12-01"], "ends before it starts"),
        ("insp1", ["--since", "yesterday"], "is not a date"),
    ],
)
def test_refusals_exit_2_with_one_line(
    cli: Cli, tmp_path: Path, who: str, extra: list[str], message: str
) -> None:
    out_file = tmp_path / "x.csv"
    code, _, err = cli.as_user(who, "audit", "export", "--format", "csv", "--out",
                               str(out_file), *extra)  # fmt: skip
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out_file.exists()
