"""Time to export a 30-unit batch record as PDF (target ≤ 1 s), plus CSV, JSON and package.

Run: ``python tests/benchmarks/bench_records.py [--keep DIR]``. A 30-unit batch
is printed on the simulators (with a small bias on the deposit, so the record
has flow corrections), recorded in a fresh SQLite database through the
DatabaseRecorder, reviewed and released; then each export is timed (the
service call: gathering the record, verifying the chain and signatures, and
rendering). ``--keep DIR`` leaves the exports there (to look at the PDF).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("PRINTPHARM_ARGON2", "1,8,1")

from printpharm.catalog import load_catalog  # noqa: E402
from printpharm.services.records.export import BatchExportService  # noqa: E402
from printpharm.services.run.devices import connected_devices, simulator_urls  # noqa: E402
from printpharm.storage.db import Database  # noqa: E402
from tests.services._records_fixtures import build_env  # noqa: E402
from tests.services.conftest import FAST_LINK  # noqa: E402
from tests.services.test_batch_export import _release, record_run  # noqa: E402
from tests.storage._dbs import FakeClock  # noqa: E402


def _sim_devices(request: Any, **sim: Any) -> Any:
    opts = {"e_units": "mm3", **{k: str(v) for k, v in sim.items()}}
    printer_url, balance_url = simulator_urls(request.printer_definition, request.ink, opts)
    manager = connected_devices(
        printer_url, balance_url, link_options=FAST_LINK, balance_timeout_s=5.0
    )
    _sim_devices.managers.append(manager)  # type: ignore[attr-defined]
    return manager.__enter__()


_sim_devices.managers = []  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the exports into this folder")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_records_"))
    out = args.keep or work
    out.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{work / 'records.sqlite3'}")
    db.upgrade()
    env = build_env(db, FakeClock(datetime.now(UTC)))  # a frozen clock, at the real date
    team = {u: env.make_user(u, "supervisor", n) for u, n in (("sup1", "Sue Super"),
                                                              ("sup2", "Sam Second"))}  # fmt: skip
    for user_id, (password, session) in team.items():
        env.enrol(user_id, password, session)
    start = time.perf_counter()
    batch_id = record_run(env, load_catalog(), _sim_devices, units=30, bias="0.02")
    printed_s = time.perf_counter() - start
    for manager in _sim_devices.managers:  # type: ignore[attr-defined]
        manager.__exit__(None, None, None)
    _release(env, team, batch_id)
    service = BatchExportService(env.auth, db)
    _, sup1 = team["sup1"]
    print(f"30-unit batch {batch_id} printed on simulators and recorded in {printed_s:.1f} s")
    for fmt, suffix in (("pdf", "pdf"), ("csv", "csv"), ("json", "json"), ("package", "sqlite")):
        times = []
        for i in range(args.repeat if fmt != "package" else 3):
            path = (out if i == 0 else work) / f"{batch_id}.{i}.{suffix}"
            t0 = time.perf_counter()
            service.export(sup1, batch_id, fmt, path)
            times.append(time.perf_counter() - t0)
        size_kib = (out / f"{batch_id}.0.{suffix}").stat().st_size / 1024
        target = "  (target ≤ 1 s)" if fmt == "pdf" else ""
        print(
            f"export {fmt:<8} median {statistics.median(times) * 1000:7.1f} ms, "
            f"max {max(times) * 1000:7.1f} ms, {size_kib:7.1f} KiB{target}"
        )
    db.dispose()
    if args.keep:
        print(f"exports kept in {out}")


if __name__ == "__main__":
    main()
