"""Streaming throughput: printpharm's PrinterLink vs Printrun's printcore, same pty, same sim.

Run: ``python tests/benchmarks/bench_stream.py [--units N] [--repeats R]``.

Serves the printer simulator as ``printpharm sim printer --fast`` does (ADVANCED_OK,
BUFSIZE 8, clock ×1000) in a subprocess, then streams the same realistic G-code over
its pseudo-terminal with
(1) printpharm checking every line (numbers, checksums, acknowledgements, resends),
(2) printpharm forced to ping-pong (window 1), and (3) Printrun's ``printcore``
(``pip install --no-deps printrun``: its GUI dependencies are not needed), if
installed. Prints lines per second for each; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from printpharm.devices.marlin import clean_gcode  # noqa: E402
from printpharm.devices.printer import LinkOptions, PrinterLink  # noqa: E402
from printpharm.devices.transport import open_transport  # noqa: E402
from tests.devices.conftest import tablet_gcode  # noqa: E402

# what `printpharm sim printer --fast` serves, without importing the whole CLI
SIM_SERVER = (
    "import sys\n"
    "from printpharm.devices.sim import FAST_PTY_SPEED, PtyServer, build_printer\n"
    "server = PtyServer(build_printer({}), FAST_PTY_SPEED).start()\n"
    "print('printer: ' + server.path, flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


def start_sim() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SIM_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    return proc, first.partition(": ")[2]


def bench_printpharm(path: str, gcode: list[str], max_window: int) -> tuple[float, int, int]:
    link = PrinterLink(open_transport(path), LinkOptions(max_window=max_window))
    link.connect()
    stats = link.stream(gcode)
    window = link._wire.capacity if link._wire.advanced else 1
    link.close()
    return stats.lines_acked / stats.elapsed_s, stats.lines_acked, min(window, max_window)


def bench_printcore(path: str, gcode: list[str]) -> tuple[float, int] | str:
    try:
        from printrun import gcoder
        from printrun.printcore import printcore
    except ImportError as exc:
        return f"not installed ({exc}); try: pip install --no-deps printrun"
    core = printcore(path, 115200)
    deadline = time.monotonic() + 20
    while not core.online and time.monotonic() < deadline:
        time.sleep(0.01)
    if not core.online:
        core.disconnect()
        return "did not come online"
    light = gcoder.LightGCode(gcode)
    sent_commands: list[str] = []
    core.sendcb = lambda command, gline: sent_commands.append(command)
    start = time.perf_counter()
    core.startprint(light)
    while core.printing:
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    sent = sum(1 for c in sent_commands if not c.startswith("M110"))
    core.disconnect()
    return sent / elapsed, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=4, help="tablets in the G-code (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per host (best is kept)")
    args = parser.parse_args()
    gcode = tablet_gcode(units=args.units)
    commands = len(clean_gcode(gcode))
    print(
        f"G-code: {len(gcode)} lines, {commands} commands; simulator: fast, ADVANCED_OK, BUFSIZE 8"
    )
    proc, path = start_sim()
    try:
        results: dict[str, list[float]] = {
            "printpharm": [],
            "printpharm ping-pong": [],
            "printcore": [],
        }
        notes: dict[str, str] = {}
        for _ in range(args.repeats):
            rate, acked, window = bench_printpharm(path, gcode, max_window=32)
            results["printpharm"].append(rate)
            notes["printpharm"] = f"{acked} lines acked, window {window} lines (from ok ... B)"
            rate, acked, _ = bench_printpharm(path, gcode, max_window=1)
            results["printpharm ping-pong"].append(rate)
            notes["printpharm ping-pong"] = f"{acked} lines acked, window 1"
            outcome = bench_printcore(path, gcode)
            if isinstance(outcome, str):
                notes["printcore"] = outcome
            else:
                results["printcore"].append(outcome[0])
                notes["printcore"] = f"{outcome[1]} lines sent (no per-line check of ok N)"
        for name, rates in results.items():
            best = f"{max(rates):8.0f} lines/s (best of {len(rates)})" if rates else "       - "
            print(f"{name:22s} {best}   {notes.get(name, '')}")
    finally:
        proc.communicate(timeout=30)  # closing stdin stops the server


if __name__ == "__main__":
    main()
