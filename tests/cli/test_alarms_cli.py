"""``printpharm batches alarms|ack`` and a recorded run that pauses: the same rules as the GUI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, initialised, pw, verifier

PEOPLE = (("tech1", "Tess Tech", "technician"), ("sup1", "Sue Super", "supervisor"),
          ("sup2", "Sam Second", "supervisor"),
          ("insp1", "Ian Inspector", "inspector"))  # fmt: skip
REASON = "nozzle clogged: syringe changed and purged (SOP PR-07)"


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    ready = initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)
    ready.train_operator("tech1")
    ready.train_operator("tech1", "sildenafil-caplet")
    for user_id in ("sup1", "sup2"):
        checker = verifier(ready)
        assert ready.as_user(checker, "users", "verify-identity", user_id, "--method", "ID")[0] == 0
        assert ready.as_user(user_id, "users", "acknowledge", times=2)[0] == 0
    return ready


def _clogged_batch(cli: Cli) -> str:
    """A recorded run whose unit 2 clogs: the CPM recipe's stop policy ends it with an alarm."""
    code, out, err = cli.as_user("tech1", "run", "--recipe", "cpm-chewable-disc", "--dose-mg",
                                 "15", "--units", "3", "--sim-option", "clog_unit=2",
                                 "--sim-option", "pressure_sensor=0",
                                 "--line-clearance", "--json")  # fmt: skip
    result = json.loads(out)
    assert code == 1 and result["status"] == "stopped", err
    return str(result["batch_id"])


def test_alarms_are_listed_acknowledged_and_then_the_batch_may_be_reviewed(cli: Cli) -> None:
    batch_id = _clogged_batch(cli)
    code, out, err = cli.as_user("sup1", "batches", "alarms", batch_id, "--json")
    assert code == 0, err
    listing = json.loads(out)
    (alarm,) = listing["alarms"]
    assert listing["unacknowledged"] == 1 and alarm["kind"] == "run.unit_out_of_tolerance"
    assert alarm["acknowledged"] is False and alarm["action"] == "stop"
    number = str(alarm["alarm_id"])

    code, _, err = cli.as_user("sup2", "batches", "review", batch_id, "--comment", "ok", times=2)
    assert code == 2 and err.count("\n") == 1, err
    assert f"#{number} unit out of tolerance (stop): unit 2:" in err
    assert f"printpharm batches ack {batch_id} ALARM --reason TEXT" in err
    code, out, _ = cli.as_user("sup1", "batches", "show", batch_id)
    assert f"NOT ACKNOWLEDGED: #{number} unit out of tolerance" in out

    code, _, err = cli.as_user("insp1", "batches", "ack", batch_id, number, "--reason", REASON,
                               times=2)  # fmt: skip
    assert code == 2 and "may not alarms.acknowledge" in err
    code, _, err = cli("batches", "ack", batch_id, number, "--reason", REASON, "--user", "tech1",
                       "--password-stdin", stdin=f"{pw('tech1')}\nnot my password\n")  # fmt: skip
    assert code == 2 and "wrong user ID or password" in err
    code, out, err = cli.as_user("tech1", "batches", "ack", batch_id, number, "--reason", REASON,
                                 times=2)  # fmt: skip
    assert code == 0, err
    assert "Acknowledged by Tess Tech (tech1) on " in out and out.rstrip().endswith(REASON)
    code, _, err = cli.as_user("tech1", "batches", "ack", batch_id, number, "--reason", "again",
                               times=2)  # fmt: skip
    assert code == 2 and "acknowledged already" in err

    code, out, _ = cli.as_user("sup1", "batches", "alarms", batch_id)
    assert "0 not acknowledged" in out and "Acknowledged by Tess Tech (tech1)" in out
    code, _, err = cli.as_user("sup2", "batches", "review", batch_id, "--comment", "ok", times=2)
    assert code == 0, err
    code, _, err = cli.as_user("sup1", "batches", "reject", batch_id, "--comment", "clog",
                               times=2)  # fmt: skip
    assert code == 0, err
    code, out, _ = cli("audit", "show", "--json")
    acks = [e for e in json.loads(out)["events"] if e["action"] == "acknowledge"]
    assert [(e["record_type"], e["user_id"], e["reason"]) for e in acks] == [
        ("alarm", "tech1", REASON)
    ]


SILDENAFIL = ["run", "--recipe", "sildenafil-caplet", "--rule", "fixed", "--amount", "10",
              "--units", "3", "--sim-option", "clog_unit=3", "--line-clearance",
              "--json"]  # fmt: skip


def test_a_recorded_run_goes_on_after_a_pause_only_with_an_acknowledgement(cli: Cli) -> None:
    code, _, err = cli.as_user("tech1", *SILDENAFIL, "--on-pause", "continue")
    assert code == 2 and "give --ack-reason TEXT" in err
    code, _, err = cli(*SILDENAFIL, "--ack-reason", REASON)
    assert code == 2 and "give --user as well" in err
    # the login password, then the password again for each pause on unit 3: the pressure
    # rising while it prints, then its mass once weighed
    code, out, err = cli(*SILDENAFIL, "--on-pause", "continue", "--ack-reason", REASON,
                         "--user", "tech1", "--password-stdin",
                         stdin=f"{pw('tech1')}\n" * 3)  # fmt: skip
    result = json.loads(out)
    assert result["status"] == "completed", err
    paused = [(a["kind"], a["unit"], a["decision"]) for a in result["alarms"]
              if a["action"] == "pause"]  # fmt: skip
    assert paused == [("over_pressure", 3, "continue"), ("unit_out_of_tolerance", 3, "continue")]
    code, out, _ = cli.as_user("tech1", "batches", "alarms", result["batch_id"], "--json")
    stored = [a for a in json.loads(out)["alarms"] if a["action"] == "pause"]
    assert [(a["kind"], a["acknowledged"], a["reason"]) for a in stored] == [
        ("run.over_pressure", True, REASON), ("run.unit_out_of_tolerance", True, REASON),
    ]  # fmt: skip

    # a wrong password: nothing is acknowledged, so the batch may not go on
    code, out, err = cli(*SILDENAFIL, "--on-pause", "continue", "--ack-reason", REASON,
                         "--user", "tech1", "--password-stdin",
                         stdin=f"{pw('tech1')}\nwrong password\n")  # fmt: skip
    result = json.loads(out)
    assert code == 1 and result["status"] == "stopped"
    assert "alarm not acknowledged" in err and "continue refused: alarm" in result["reason"]


def test_a_lockout_is_a_station_alarm_listed_and_acknowledged_from_the_cli(cli: Cli) -> None:
    """Alarms of no batch (here a lockout) have their own list and acknowledgement."""
    for _ in range(5):  # the default lockout threshold
        code, _, _ = cli.as_user("tech1", "alarms", "list", password="not the password")
        assert code != 0
    code, out, err = cli.as_user("sup1", "alarms", "list", "--open", "--json")
    assert code == 0, err
    listing = json.loads(out)
    (alarm,) = listing["alarms"]
    assert listing["unacknowledged"] == 1 and alarm["kind"] == "security.lockout"
    number = str(alarm["alarm_id"])
    code, _, err = cli.as_user("tech1", "alarms", "ack", number, "--reason", "x", times=2)
    assert code == 2 and "locked" in err  # still locked out: nothing to do for them
    code, _, err = cli.as_user("insp1", "alarms", "ack", number, "--reason", "x", times=2)
    assert code == 2 and "alarms.acknowledge_station" in err, err
    code, out, err = cli.as_user("sup1", "alarms", "ack", number, "--reason",
                                 "tech1 forgot the new password; identity confirmed",
                                 times=2)  # fmt: skip
    assert code == 0, err
    assert f"#{number} security.lockout" in out and "Acknowledged by Sue Super (sup1)" in out
    code, out, _ = cli.as_user("sup2", "alarms", "list")
    assert code == 0 and "0 not acknowledged" in out and "identity confirmed" in out
    code, out, _ = cli.as_user("sup2", "alarms", "list", "--open", "--json")
    assert json.loads(out)["alarms"] == []
