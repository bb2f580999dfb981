"""``printpharm sim`` and ``printpharm stream`` end to end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from printpharm.cli import main
from printpharm.devices.balance import Balance
from printpharm.devices.transport import open_transport

GCODE = "; test\nG28\nM83\n" + "".join(f"G1 X{i % 40} Y{i % 7} E0.05 F1200\n" for i in range(300))


def write_gcode(tmp_path: Path) -> Path:
    path = tmp_path / "job.gcode"
    path.write_text(GCODE, encoding="ascii")
    return path


def test_stream_to_the_in_process_simulator_prints_a_json_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "serial.log"
    code = main(
        [
            "stream",
            "--port",
            "sim://printer?fast=1",
            str(write_gcode(tmp_path)),
            "--json",
            "--serial-log",
            str(log),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["lines"] == out["lines_acked"] == 302
    assert out["resends"] == 0 and out["firmware"].startswith("Marlin")
    assert "N303 G1 X19 Y5 E0.05 F1200*" in log.read_text(encoding="utf-8")


def test_stream_reports_a_missing_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["stream", "--port", "sim://printer?fast=1", str(tmp_path / "nope.gcode")])
    assert code == 2
    assert "nope.gcode" in capsys.readouterr().err


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


def test_sim_printer_serves_a_pty_until_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc, paths = start_sim("printer", "--fast", "--fault", "corrupt_rx=0.01", "--seed", "5")
    try:
        assert paths["printer"].startswith("/dev/")
        assert main(["stream", "--port", paths["printer"], str(write_gcode(tmp_path))]) == 0
        assert "streamed 302 of 302 lines" in capsys.readouterr().out
    finally:
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
