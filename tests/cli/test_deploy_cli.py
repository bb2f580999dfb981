"""The deployment commands: ``doctor`` and ``federation export/import/verify``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

CliFactory = Callable[[Path], Cli]


def _init(cli: Cli) -> Cli:
    code, _, err = cli.init()
    assert code == 0, err
    return cli


def _supervisor(cli: Cli) -> str:
    return cli.add_user("sup1", "supervisor", "Sue Pharmacist", "sue-own-passphrase-77")


def test_doctor_on_a_ready_workstation_passes_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_cli: CliFactory
) -> None:
    cli = _init(make_cli(tmp_path / "ws.sqlite3"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code, out, err = cli(
        "doctor",
        "--printer-port",
        "sim://printer",
        "--balance-port",
        "sim://balance",
        "--json",
    )
    payload = json.loads(out)
    statuses = {c["name"]: c["status"] for c in payload["checks"]}
    assert code == 0 and payload["ok"], err
    assert statuses["database"] == statuses["audit chain"] == statuses["printer"] == "ok"
    assert statuses["site key"] == "ok"  # init created it and this workstation holds it
    assert statuses["serial ports"] == "warn"


def test_doctor_fails_with_fixes_when_the_database_is_missing(
    tmp_path: Path, make_cli: CliFactory
) -> None:
    code, out, _ = make_cli(tmp_path / "none.sqlite3")("doctor")
    assert code == 1
    assert "[FAIL] database" in out and "fix: run `printpharm init`" in out
    assert out.rstrip().endswith("some checks FAILED: see the fixes above")


def test_export_import_verify_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_cli: CliFactory
) -> None:
    export = tmp_path / "x.json"
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "ward-3")
    standalone = _init(make_cli(tmp_path / "ws.sqlite3"))
    code, _, err = standalone("federation", "export", "--out", str(export))
    assert code == 2 and "--user" in err and not export.exists()  # issue 13: a login first
    code, out, err = standalone.as_user("admin", "federation", "export", "--out", str(export))
    assert code == 0 and "of workstation ward-3" in out, err
    code, out, _ = standalone("audit", "show", "--record-type", "federation", "--json")
    (logged,) = json.loads(out)["events"]
    assert (logged["action"], logged["user_id"]) == ("export", "admin")
    code, _, err = standalone.as_user("admin", "federation", "export", "--out", str(export))
    assert code == 2 and "exists already" in err  # never overwritten
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "server")
    central = _init(make_cli(tmp_path / "c.sqlite3"))
    _supervisor(central)

    code, out, err = central.as_user("sup1", "federation", "import", str(export), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["source_workstation"] == "ward-3" and not result["already_imported"]
    code, out, _ = central.as_user("sup1", "federation", "import", str(export))
    assert code == 0 and out.startswith("nothing new")

    # the site key's registration, the administrator's creation and the recovery code, each
    # with its row seal, then the login (and its row seal) of the administrator who exported
    assert central("federation", "verify")[:2] == (0, "ward-3: 9 events, intact\n")
    for cli in (standalone, central):
        assert cli("audit", "verify")[0] == 0


def test_importing_an_edited_export_exits_2_naming_the_event(
    tmp_path: Path, make_cli: CliFactory
) -> None:
    export = tmp_path / "x.json"
    standalone = _init(make_cli(tmp_path / "ws.sqlite3"))
    central = _init(make_cli(tmp_path / "c.sqlite3"))
    _supervisor(central)
    standalone.as_user("admin", "federation", "export", "--out", str(export))
    document = json.loads(export.read_text(encoding="utf-8"))
    document["events"][0]["user_name"] = "Mallory"
    export.write_text(json.dumps(document), encoding="utf-8")

    code, _, err = central.as_user("sup1", "federation", "import", str(export))
    assert code == 2 and "event 1 was altered" in err
    assert central("federation", "verify")[1] == "no imported chains\n"


def test_a_batch_printed_on_a_standalone_workstation_is_listed_centrally_after_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_cli: CliFactory
) -> None:
    export = tmp_path / "ward3.json"
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "ward-3")
    standalone = _init(make_cli(tmp_path / "ws.sqlite3"))
    standalone.add_user("tech1", "technician", "Tess Tech", "tess-own-passphrase-12")
    run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "2", "--json"]
    standalone.train_operator("tech1")
    code, out, err = standalone.as_user("tech1", *run, "--line-clearance")
    assert code == 0 and json.loads(out)["status"] == "completed", err  # 2 units: QC pending
    batch_id = json.loads(out)["batch_id"]
    assert standalone.as_user("admin", "federation", "export", "--out", str(export))[0] == 0
    monkeypatch.setenv("PRINTPHARM_WORKSTATION", "server")
    central = _init(make_cli(tmp_path / "c.sqlite3"))
    _supervisor(central)
    assert central.as_user("sup1", "federation", "list")[1] == "no imported batch records\n"
    assert central.as_user("sup1", "federation", "import", str(export))[0] == 0

    code, out, err = central.as_user("sup1", "federation", "list", "--json")
    assert code == 0, err
    (batch,) = json.loads(out)["batches"]
    assert (batch["batch_id"], batch["status"], batch["source_workstation"]) == (
        batch_id,
        "completed",
        "ward-3",
    )
    assert (batch["units_recorded"], batch["units_count"], batch["created_by"]) == (2, 2, "tech1")
    code, out, _ = central.as_user("sup1", "federation", "list")
    assert out.startswith(f"{batch_id}  completed") and "from ward-3" in out
    assert central("federation", "verify")[0] == 0
    for cli in (standalone, central):
        assert cli("audit", "verify")[0] == 0
