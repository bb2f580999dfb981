"""OPS-05: ``printpharm settings`` — declared limits, a reason and a re-entered password."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import ADMIN_PW, Cli, initialised, pw

PEOPLE = (("tech1", "Tess Tech", "technician"), ("sup1", "Sue Super", "supervisor"))


@pytest.fixture
def cli(tmp_path: Path, make_cli: Callable[[Path], Cli]) -> Cli:
    return initialised(make_cli(tmp_path / "records.sqlite3"), PEOPLE)


def _settings(cli: Cli) -> dict[str, Any]:
    code, out, err = cli.as_user("tech1", "settings", "list", "--json")
    assert code == 0, err
    return {row["key"]: row for row in json.loads(out)["settings"]}


def _set(cli: Cli, key: str, value: str, signature: str = ADMIN_PW, who: str = "admin") -> Any:
    password = ADMIN_PW if who == "admin" else pw(who)
    return cli("settings", "set", key, value, "--reason", "SOP QA-7 rev 2", "--user", who,
               "--password-stdin", stdin=f"{password}\n{signature}\n")  # fmt: skip


def test_a_signed_change_is_versioned_and_audited(cli: Cli) -> None:
    before = _settings(cli)
    assert before["session.idle_timeout_s"]["value"] == 900
    assert before["session.idle_timeout_s"]["version"] is None  # the default
    assert before["qc.mass_uniformity_policy"]["allowed"] == "one of strict, gn_rounding"
    code, out, err = _set(cli, "session.idle_timeout_s", "600")
    assert code == 0 and "version 1, by admin" in out, err
    code, _, err = _set(cli, "session.idle_timeout_s", "600")
    assert code == 2 and "is already 600; nothing to change" in err
    after = _settings(cli)["session.idle_timeout_s"]
    assert (after["value"], after["version"], after["updated_by"]) == (600, 1, "admin")
    code, out, _ = cli("audit", "show", "--record-type", "setting", "--json")
    (event,) = json.loads(out)["events"]
    assert (event["action"], event["record_id"], event["reason"]) == (
        "create",  # the first stored value (the default was not stored)
        "session.idle_timeout_s",
        "SOP QA-7 rev 2",
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("session.idle_timeout_s", "30", "must be a whole number from 60 to 3600"),
        ("auth.lockout_threshold", "three", "must be a whole number from 3 to 10"),
        ("qc.mass_uniformity_policy", "lenient", "must be one of strict, gn_rounding"),
        ("audit.enabled", "0", "setting 'audit.enabled': the audit trail cannot be reconfigured"),
        ("qc.lenient", "1", "unknown site setting 'qc.lenient'"),
    ],
)
def test_values_outside_the_declared_limits_are_refused(
    cli: Cli, key: str, value: str, message: str
) -> None:
    code, _, err = _set(cli, key, value)
    assert code == 2 and message in err and err.count("\n") == 1
    assert all(row["version"] is None for row in _settings(cli).values())


def test_a_wrong_signature_or_a_pharmacist_cannot_change_settings(cli: Cli) -> None:
    code, _, err = _set(cli, "session.idle_timeout_s", "600", signature="not-my-password")
    assert code == 2 and "wrong" in err
    code, _, err = _set(cli, "session.idle_timeout_s", "600", signature=pw("sup1"), who="sup1")
    assert code == 2 and "settings.configure" in err
    assert _settings(cli)["session.idle_timeout_s"]["version"] is None


def test_the_2_9_5_reading_in_force_judges_the_recorded_run(cli: Cli) -> None:
    assert _set(cli, "qc.mass_uniformity_policy", "gn_rounding")[0] == 0
    run = ["run", "--recipe", "cpm-chewable-disc", "--dose-mg", "15", "--units", "20", "--json"]
    cli.train_operator("tech1")
    code, out, err = cli.as_user("tech1", *run, "--line-clearance")
    assert code == 0, err  # 15 mg at 5 % w/w: the verdict waits for content uniformity
    (test_295,) = [t for t in json.loads(out)["qc"]["tests"] if t["test"] == "2.9.5"]
    assert test_295["result"] == "PASS" and test_295["detail"]["policy"] == "gn_rounding"
