"""Whole-process start-up: how long light ``printpharm`` commands take from the shell.

Run: ``python tests/benchmarks/bench_startup.py [--runs N] [--tree DIR] [--hyperfine]
[--importtime]`` (not collected by pytest; nothing is asserted).

Each command is run as a new process (the ``printpharm`` console script of this
interpreter), ``--runs`` times after two warm-up runs, and the median and best
wall-clock times and the median CPU time (user + system) are printed next to
the target of issue 15. Byte code is cached as an installed package has it
(``PYTHONPYCACHEPREFIX`` in the temporary folder, so the worktree stays clean)
even when ``PYTHONDONTWRITEBYTECODE`` is set in the calling shell: compiling
every module at each start is not what a user's machine does.

``--tree DIR`` measures another checkout of printpharm (e.g. an older commit
unpacked with ``git archive``) by putting it first on ``PYTHONPATH``;
``--before REV`` unpacks that revision itself and prints it beside this tree,
the two run in turn (A B A B ...) so that a busy machine slows both alike.
The row "plan's libraries" imports only the libraries a plan needs (NumPy, shapely,
pydantic): the part of the plan rows that printpharm's own code cannot remove.
The ring plate (``propranolol-ring``, 30 units of 7 mg) is the plan whose G-code read-back
is the largest (~58 000 lines).
``--hyperfine`` also prints hyperfine's table (``apt-get install -y hyperfine``)
and ``--importtime`` the packages that take longest to import per command
(``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MASSES = " ".join(["250.0"] * 20)
#: What a plan process cannot do without while it validates with pydantic and slices with
#: NumPy and shapely (launch.py's NumPy setting included): the floor under the plan rows.
LIBRARIES = (
    "python:import os; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); "
    "import numpy, shapely, pydantic.main, tomllib, hashlib, argparse, decimal"
)
# name, arguments, target whole-process time (s) from issue 15 (None: no target)
COMMANDS: list[tuple[str, str, float | None]] = [
    ("python -c pass", "", None),
    ("plan's libraries", LIBRARIES, None),
    ("--version", "--version", 0.15),
    ("--help", "--help", None),
    ("bsa", "bsa --weight-kg 20 --height-cm 110", 0.3),
    ("dose", "dose --rule per-m2 --amount 100 --weight-kg 20 --height-cm 110 --step-mg 0.5", 0.3),
    ("qc mass", f"qc mass --mass-mg {MASSES}", 0.3),
    ("plan 1 unit", "plan --recipe cpm-chewable-disc --dose-mg 12.5 --units 1 --out {out}", 0.3),
    (
        "plan 30 units",
        "plan --recipe cpm-chewable-disc --dose-mg 12.5 --units 30 --out {out}",
        None,
    ),
    ("ring 1 unit", "plan --recipe propranolol-ring --dose-mg 11 --units 1 --out {out}", 0.3),
    # 7 mg: 30 rings of 11 mg need 13.8 mL, more than the 10 mL syringe holds (refused)
    ("ring 30 units", "plan --recipe propranolol-ring --dose-mg 7 --units 30 --out {out}", None),
]


def _environment(tree: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "printpharm-bench-pycache")
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    return env


def _argv(args: str, out: Path) -> list[str]:
    if not args:
        return [sys.executable, "-c", "pass"]
    if args.startswith("python:"):
        return [sys.executable, "-c", args.removeprefix("python:")]
    script = Path(sys.executable).with_name("printpharm")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "printpharm"]
    return head + args.format(out=out).split()


def _run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run; raises if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _measure(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    for _ in range(2):
        _run_once(argv, env)
    samples = [_run_once(argv, env) for _ in range(runs)]
    walls = [w for w, _ in samples]
    return statistics.median(walls), min(walls), statistics.median(c for _, c in samples)


def _measure_pair(
    argv: list[str], envs: tuple[dict[str, str], dict[str, str]], runs: int
) -> list[tuple[float, float, float]]:
    """As :func:`_measure` for two environments, their runs interleaved."""
    for env in envs:
        for _ in range(2):
            _run_once(argv, env)
    samples: tuple[list[tuple[float, float]], ...] = ([], [])
    for _ in range(runs):
        for env, found in zip(envs, samples, strict=True):
            found.append(_run_once(argv, env))
    return [
        (
            statistics.median(w for w, _ in found),
            min(w for w, _ in found),
            statistics.median(c for _, c in found),
        )
        for found in samples
    ]


def _unpack(rev: str, folder: Path) -> Path:
    """``git archive`` of ``rev`` unpacked into ``folder`` (the package and its data)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _compare(rev: str, runs: int) -> None:
    print(f"{'command':16s} {'before: median':>15s} {'best':>6s} {'CPU':>6s}"
          f" {'after: median':>15s} {'best':>6s} {'CPU':>6s}  target")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        before = _environment(_unpack(rev, Path(tmp) / "before"))
        after = _environment(None)
        out = Path(tmp) / "plate.gcode"
        for name, command, target in COMMANDS:
            old, new = _measure_pair(_argv(command, out), (before, after), runs)
            goal = (
                f"<= {target:.2f} s: {'met' if new[0] <= target else 'NOT met'}" if target else ""
            )
            print(
                f"{name:16s} {old[0]:15.3f} {old[1]:6.3f} {old[2]:6.3f}"
                f" {new[0]:15.3f} {new[1]:6.3f} {new[2]:6.3f}  {goal}"
            )


def _import_top(argv: list[str], env: dict[str, str], count: int = 8) -> str:
    """The top-level packages that take longest to import (cumulative ms)."""
    if argv[0] != sys.executable:
        argv = [sys.executable, "-m", "printpharm", *argv[1:]]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True
    )
    totals: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match:  # no indentation: imported at top level by printpharm or the interpreter
            name = match.group(2).split(".")[0]
            totals[name] = totals.get(name, 0) + int(match.group(1))
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {us / 1000:.0f}" for name, us in top)


def _hyperfine(env: dict[str, str], out: Path, runs: int) -> None:
    exe = shutil.which("hyperfine")
    if exe is None:
        print("\nhyperfine not installed (apt-get install -y hyperfine): table skipped")
        return
    command = [exe, "-N", "--warmup", "2", "--runs", str(runs), "--export-markdown", "-"]
    for name, args, _ in COMMANDS:
        command += ["-n", name, " ".join(_argv(args, out))]
    print("\nhyperfine (mean ± σ, wall clock):")
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    table = proc.stdout.split("| Command", 1)
    print("| Command" + table[1] if len(table) == 2 else proc.stdout + proc.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--tree", type=Path, help="measure this printpharm checkout instead")
    parser.add_argument("--hyperfine", action="store_true", help="also print hyperfine's table")
    parser.add_argument("--importtime", action="store_true", help="print the slowest imports")
    parser.add_argument("--before", metavar="REV", help="also measure this git revision")
    args = parser.parse_args()
    if args.before:
        load = os.getloadavg()[0]
        print(f"printpharm whole-process start-up: {args.before} (before) and {ROOT} (after)")
        print(f"{os.cpu_count()} CPUs, load average {load:.2f}; {args.runs} interleaved runs")
        _compare(args.before, args.runs)
        return 0
    env = _environment(args.tree)
    where = args.tree or ROOT
    load = os.getloadavg()[0]
    print(f"printpharm whole-process start-up ({where}); python {sys.version.split()[0]}")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f}; {args.runs} runs after 2 warm-ups")
    print(f"{'command':16s} {'median s':>9s} {'best s':>8s} {'CPU s':>7s}  target")
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        out = Path(tmp) / "plate.gcode"
        for name, command, target in COMMANDS:
            argv = _argv(command, out)
            median, best, cpu = _measure(argv, env, args.runs)
            verdict = ""
            if target is not None:
                verdict = f"<= {target:.2f} s: {'met' if median <= target else 'NOT met'}"
            print(f"{name:16s} {median:9.3f} {best:8.3f} {cpu:7.3f}  {verdict}")
            if args.importtime and command:
                print(f"{'':16s} imports (ms): {_import_top(argv, env)}")
        if args.hyperfine:
            _hyperfine(env, out, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
