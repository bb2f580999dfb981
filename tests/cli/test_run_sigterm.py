"""``kill <pid>`` (SIGTERM: a logout, a service manager, a supervisor) during a run.

Python's default for SIGTERM ends the process at once: the printer is left with
its heaters on and half a unit on the plate, the result and the serial logs are
never written, and a recorded batch stays "printing" until a later start-up
recovers it. A run treats SIGTERM like Ctrl-C: it stops at once, makes the
printer safe and records why.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

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
