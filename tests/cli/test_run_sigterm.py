"""``kill <pid>`` (SIGTERM: a logout, a service manager, a supervisor) or a closed terminal
(SIGHUP, and output nobody reads) during a run.

Python's default for SIGTERM ends the process at once: the printer is left with
its heaters on and half a unit on the plate, the result and the serial logs are
never written, and a recorded batch stays "printing" until a later start-up
recovers it. A run treats SIGTERM like Ctrl-C: it stops at once, makes the
printer safe and records why.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_run_cli import interruptible_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_sigterm_stops_the_run_makes_the_printer_safe_and_records_why(tmp_path: Path) -> None:
    proc = interruptible_run("cli-sigterm", "--out-dir", str(tmp_path))
    assert proc.stdout is not None
    for line in proc.stdout:  # unit 1 weighed: unit 2 is being printed
        if line.startswith("unit   1"):
            proc.send_signal(signal.SIGTERM)
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "ALARM cancelled: terminated (SIGTERM)" in out and "STOPPED" in out
    (record,) = tmp_path.glob("*.json")
    result = json.loads(record.read_text(encoding="utf-8"))
    assert result["status"] == "stopped" and "SIGTERM" in result["reason"]
    assert [u["n"] for u in result["units"]] == [1]
    (printer_log,) = tmp_path.glob("*.printer.log")
    sent = [ln for ln in printer_log.read_text(encoding="utf-8").splitlines() if " > " in ln]
    assert any("M104 S0" in ln for ln in sent[-8:]) and "M84" in sent[-1]  # heaters, motors off


def _printed_unit_1_then_closed(proc: subprocess.Popen[str]) -> None:
    """Read the run's output until unit 1 is weighed, then go away (the terminal closed)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("unit   1"):
            break
    proc.stdout.close()


def _record(out_dir: Path) -> dict[str, Any]:
    (record,) = out_dir.glob("*.json")
    result: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return result


def test_a_hang_up_stops_the_run_makes_the_printer_safe_and_records_why(tmp_path: Path) -> None:
    """The terminal window closed: SIGHUP, and nobody reads the output any more.

    Python's default for SIGHUP killed the run at once (-1: no record, the heaters on).
    """
    proc = interruptible_run("cli-sighup", "--out-dir", str(tmp_path))
    _printed_unit_1_then_closed(proc)
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "internal error" not in err
    result = _record(tmp_path)
    assert result["status"] == "stopped" and "SIGHUP" in result["reason"]
    assert [u["n"] for u in result["units"]] == [1]
    (printer_log,) = tmp_path.glob("*.printer.log")
    sent = [ln for ln in printer_log.read_text(encoding="utf-8").splitlines() if " > " in ln]
    assert any("M104 S0" in ln for ln in sent[-8:]) and "M84" in sent[-1]  # heaters, motors off


def test_output_nobody_reads_any_more_does_not_end_the_batch(tmp_path: Path) -> None:
    """A pipe's reader exits mid-batch: the progress lines fail with EPIPE.

    That ended the run with 'internal error (BrokenPipeError)' (exit 3) after unit 1,
    the batch half-printed and no result written; the batch goes on and is recorded.
    """
    proc = interruptible_run("cli-epipe", "--out-dir", str(tmp_path))
    _printed_unit_1_then_closed(proc)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == ""  # not even the interpreter's last flush complains
    result = _record(tmp_path)
    assert result["status"] == "completed"
    assert [u["n"] for u in result["units"]] == [1, 2, 3]
