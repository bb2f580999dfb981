"""The cyclic collector around a command: imports frozen while it runs, thawed after it.

What a command's imports built is frozen (``gc.freeze``) while the command runs, so the
collector does not rescan it; a caller in the same process gets it back afterwards.
The ``printpharm`` process itself (``launch.main()`` reading ``sys.argv``) leaves it
frozen, because the interpreter's collections on the way out would only scan it again.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from printpharm.cli import main

BSA = ["bsa", "--weight-kg", "20", "--height-cm", "110"]


def test_a_caller_in_the_same_process_gets_everything_back() -> None:
    assert gc.get_freeze_count() == 0
    seen: list[int] = []
    gc.callbacks.append(lambda phase, info: seen.append(gc.get_freeze_count()))
    try:
        assert main(BSA) == 0
        gc.collect()
    finally:
        gc.callbacks.pop()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing stays out of the collector's reach
    assert seen and seen[-1] == 0


def test_a_usage_error_freezes_nothing() -> None:
    assert main(["bsa", "--no-such-option"]) == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0


_PROBE = """
import gc, sys
from printpharm.launch import main
frozen = []
gc.callbacks.append(lambda phase, info: frozen.append(gc.get_freeze_count()))
mode, sys.argv = sys.argv[1], ["printpharm", *sys.argv[2:]]
code = main() if mode == "exiting" else main(sys.argv[1:])
print("RESULT", code, gc.isenabled(), gc.get_freeze_count(), max(frozen, default=0))
"""


def _probe(mode: str, tmp_path: Path) -> list[str]:
    argv = ["plan", "--recipe", "cpm-chewable-disc", "--dose-mg", "12.5", "--units", "1"]
    argv += ["--out", str(tmp_path / f"{mode}.gcode")]
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *argv],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    return lines[-1].split()[1:]


def test_the_printpharm_process_leaves_its_imports_frozen(tmp_path: Path) -> None:
    code, enabled, frozen, during = _probe("exiting", tmp_path)
    assert (code, enabled) == ("0", "True")
    assert int(frozen) > 10_000 and int(during) > 10_000  # the modules' objects
    code, enabled, frozen, during = _probe("in-process", tmp_path)
    assert (code, enabled, frozen) == ("0", "True", "0") and int(during) > 10_000
    assert (tmp_path / "exiting.gcode").read_bytes() == (tmp_path / "in-process.gcode").read_bytes()
