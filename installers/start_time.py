"""How long the bundled desktop application takes to show its first window (printed, not asserted).

Run: ``python installers/start_time.py build/installer/dist/printpharm/printpharm [--runs N]``
(``installers/build.sh`` runs it after the smoke test, in its clean user profile with a
database and an administrator, so the first window is the login dialog).

Each run starts the bundled executable as a new process with
``PRINTPHARM_SMOKE_START=1`` (read only by the frozen entry point,
``installers/printpharm_entry.py``): the real desktop start of ``printpharm`` with no
arguments, whose first dialog closes itself once it has painted and prints
``smoke-start: <dialog> painted``. The wall time from ``Popen`` to that line is the
start to the login window; the median and the best of ``--runs`` runs, after one
warm-up run (a cold page cache measures the disk, not the bundle), are printed, with
the median CPU time (user + system) of the whole process, which other jobs on a
shared machine disturb less.
Use the same machine and load to compare two bundles (``--compare OTHER_EXE`` runs
them in turn, A B A B ..., so that a busy machine slows both alike).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

MARK = "smoke-start: "


def time_to_window(executable: Path) -> tuple[float, float, str]:
    """Seconds from starting ``executable`` to its first painted dialog, the process's CPU
    seconds (user + system, start to exit: less disturbed by other jobs than the wall
    time), and that dialog's class."""
    env = {**os.environ, "PRINTPHARM_SMOKE_START": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(executable)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    found: tuple[float, str] | None = None
    for line in process.stdout:
        if line.startswith(MARK) and found is None:
            found = (time.perf_counter() - start, line[len(MARK) :].strip())
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if found is None:
        raise RuntimeError(f"{executable} showed no window (exit {process.returncode})")
    return found[0], usage.ru_utime + usage.ru_stime, found[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executable", type=Path, help="the bundled printpharm executable")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--compare", type=Path, help="another bundle's executable, run in turn")
    args = parser.parse_args(argv)
    executables = [args.executable] + ([args.compare] if args.compare else [])
    times: dict[Path, list[float]] = {exe: [] for exe in executables}
    cpu: dict[Path, list[float]] = {exe: [] for exe in executables}
    shown = ""
    try:
        for exe in executables:
            time_to_window(exe)  # warm-up: the page cache, fontconfig's cache
        for _ in range(args.runs):
            for exe in executables:
                seconds, cpu_seconds, shown = time_to_window(exe)
                times[exe].append(seconds)
                cpu[exe].append(cpu_seconds)
    except RuntimeError as exc:
        print(f"start time: {exc}", file=sys.stderr)
        return 1
    for exe, runs in times.items():
        print(
            f"start to {shown or 'first window'}: median {statistics.median(runs):.2f} s, "
            f"best {min(runs):.2f} s over {len(runs)} runs; CPU median "
            f"{statistics.median(cpu[exe]):.2f} s ({exe})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
