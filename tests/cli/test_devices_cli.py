"""``printpharm sim`` and ``printpharm stream`` end to end."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from printpharm.cli import main
from printpharm.devices.balance import Balance
from printpharm.devices.transport import open_transport
from tests.cli.conftest import Cli, initialised

GCODE = "; test\nG28\nM83\n" + "".join(f"G1 X{i % 40} Y{i % 7} E0.05 F1200\n" for i in range(300))


def write_gcode(tmp_path: Path) -> Path:
    path = tmp_path / "job.gcode"
    path.write_text(GCODE, encoding="ascii")
    return path


@pytest.fixture
def cli(make_cli: Callable[[Path], Cli], tmp_path: Path) -> Cli:
    """A records database with a supervisor (who may stream) and a technician (who may not)."""
    return initialised(
        make_cli(tmp_path / "records.db"),
        (("sup1", "Sam Super", "supervisor"), ("tech1", "Tess Tech", "technician")),
    )


def _stream(cli: Cli, user: str, port: str, path: Path, *extra: str) -> tuple[int, str, str]:
    return cli.as_user(user, "stream", "--port", port, str(path), "--reason", "purge test", *extra)


def test_a_supervisor_streams_to_the_in_process_simulator_and_it_is_audited(
    cli: Cli, tmp_path: Path
) -> None:
    log, path = tmp_path / "serial.log", write_gcode(tmp_path)
    code, out, err = _stream(cli, "sup1", "sim://printer?fast=1", path, "--json",
                             "--serial-log", str(log))  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["lines"] == summary["lines_acked"] == 302
    assert summary["resends"] == 0 and summary["firmware"].startswith("Marlin")
    assert "N303 G1 X19 Y5 E0.05 F1200*" in log.read_text(encoding="utf-8")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["sha256"] == sha
    code, out, err = cli("audit", "show", "--json")
    assert code == 0, err
    stream = [e for e in json.loads(out)["events"] if e["record_type"] == "device"]
    assert [e["action"] for e in stream] == ["stream-start", "stream-done"]
    assert all(e["user_id"] == "sup1" and e["reason"] == "purge test" for e in stream)
    start, done = (json.loads(e["new_value"]) for e in stream)
    assert start["sha256"] == sha and start["port"] == "sim://printer?fast=1"
    assert done["lines_acked"] == 302


def test_a_technician_may_not_stream_raw_gcode_and_nothing_is_sent(
    cli: Cli, tmp_path: Path
) -> None:
    log = tmp_path / "serial.log"
    code, _, err = _stream(cli, "tech1", "sim://printer?fast=1", write_gcode(tmp_path),
                           "--serial-log", str(log))  # fmt: skip
    assert code != 0 and "stream" in err and err.count("\n") == 1
    assert not log.exists()


def test_a_stream_that_fails_is_audited_as_failed(cli: Cli, tmp_path: Path) -> None:
    code, _, err = _stream(cli, "sup1", str(tmp_path / "no-such-port"), write_gcode(tmp_path))
    assert code != 0 and "no-such-port" in err
    code, out, _ = cli("audit", "show", "--json")
    stream = [e for e in json.loads(out)["events"] if e["record_type"] == "device"]
    assert [e["action"] for e in stream] == ["stream-start", "stream-failed"]
    assert "no-such-port" in json.loads(stream[1]["new_value"])["error"]


def test_stream_needs_a_user_and_a_reason(cli: Cli, tmp_path: Path) -> None:
    path = write_gcode(tmp_path)
    code, _, err = cli("stream", "--port", "sim://printer?fast=1", str(path))
    assert code == 2 and "--user" in err
    code, _, err = cli.as_user("sup1", "stream", "--port", "sim://printer?fast=1", str(path),
                               "--reason", " ")  # fmt: skip
    assert code == 2 and "needs a reason" in err


def test_stream_reports_a_missing_file_in_one_line(cli: Cli, tmp_path: Path) -> None:
    code, _, err = _stream(cli, "sup1", "sim://printer?fast=1", tmp_path / "nope.gcode")
    assert code == 2
    assert "nope.gcode" in err


def start_sim(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "printpharm", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    paths: dict[str, str] = {}
    while (line := proc.stdout.readline()) and not line.startswith("serving"):
        name, _, path = line.strip().partition(": ")
        paths[name] = path
    return proc, paths


def stop_sim(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)  # also closes the pipes
    return proc.returncode


def test_sim_printer_serves_a_pty_until_sigterm(cli: Cli, tmp_path: Path) -> None:
    proc, paths = start_sim("printer", "--fast", "--fault", "corrupt_rx=0.01", "--seed", "5")
    try:
        assert paths["printer"].startswith("/dev/")
        code, out, err = _stream(cli, "sup1", paths["printer"], write_gcode(tmp_path))
        assert code == 0, err
        assert "streamed 302 of 302 lines" in out and "recorded in the audit trail" in out
    finally:
        assert stop_sim(proc) == 0


@pytest.mark.parametrize("kind", ["printer", "balance"])
def test_a_sigterm_as_soon_as_serving_is_announced_stops_the_simulator_cleanly(kind: str) -> None:
    # The SIGTERM handler is in place before "serving" is printed (it was installed after:
    # a supervisor that stopped the simulator at once, or under load, killed it with -15).
    proc, paths = start_sim(kind, "--fast")
    assert paths[kind].startswith("/dev/")
    assert stop_sim(proc) == 0


def test_sim_printer_link_serves_the_plate_balance_too() -> None:
    proc, paths = start_sim(
        "printer", "--link", "--fast", "--option", "balance_sd_mg=0.05", "--option", "bias=0.03"
    )
    try:
        balance = Balance(open_transport(paths["balance"], baudrate=9600))
        assert balance.identify().serial_number
        balance.transport.close()
    finally:
        assert stop_sim(proc) == 0


def test_sim_refuses_an_unknown_fault() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "sim", "balance", "--fault", "explode"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "'explode'" in proc.stderr and "never_settles" in proc.stderr


def test_sim_help_documents_the_process_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["sim", "--help"], ["sim", "printer", "--help"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        for option in ("process_rsd=", "drift_pct_per_unit=", "bias=", "clog_unit=",
                       "clog_factor=", "bubble_rate=", "balance_sd_mg=", "seed="):  # fmt: skip
            assert option in out, (argv, option)
        assert "deposited mass (0.02 = 2 %" in out
    main(["sim", "--help"])
    assert "published SSE unit RSD is 1-4 %, FDM ~1 %" in capsys.readouterr().out.replace("\n", " ")


@pytest.mark.parametrize(
    ("option", "message"),
    [("process_rsd=0.9", "must be in 0.0..0.5"), ("nope=1", "accepted options: ")],
)
def test_sim_refuses_a_bad_process_option(option: str, message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "printpharm", "sim", "printer", "--option", option],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("M104 S240", "nozzle temperature 240 °C is above the printer's maximum 70 °C"),
        ("M190 S95", "bed temperature 95 °C is above the printer's maximum 60 °C"),
        ("G1 X250 Y10 E0.05", "X250 mm is outside the bed (0..200 mm)"),
        ("G1X10Y-5", "Y-5 mm is outside the bed"),
        ("G1 Z150", "Z150 mm is outside the bed (0..100 mm)"),
        ("G1 X10 E40", "E move of 40 (plunger_mm) is beyond the sane bound of 10"),
    ],
)
def test_stream_refuses_a_file_beyond_the_printer_before_sending_anything(
    cli: Cli, tmp_path: Path, line: str, problem: str
) -> None:
    """Issue 13: checked against the printer definition (marlin-sse by default)."""
    path = tmp_path / "hostile.gcode"
    path.write_text(GCODE + line + "\n", encoding="ascii")
    log = tmp_path / "serial.log"
    argv = ["--serial-log", str(log)]
    code, _, err = _stream(cli, "sup1", "sim://printer?fast=1", path, *argv)
    assert code == 2 and problem in err and "nothing sent" in err
    assert len(err.splitlines()) == 1
    assert not log.exists()  # the port was never opened
    fdm = ["--printer", "marlin-fdm"]  # the same file for a hotter, larger machine
    if line.startswith("M104"):
        code, _, err = _stream(cli, "sup1", "sim://printer?fast=1", path, *fdm)
        assert code == 0, err
