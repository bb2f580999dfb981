"""Audit-trail speed on SQLite: appends per second and time to verify 100,000 events.

Targets (issue 5): ≥ 2,000 appends/s with batching, every event individually
chained; verification of 100,000 events ≤ 3 s. Run:

    python tests/benchmarks/bench_audit.py [--events 100000] [--db URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        "unit",
        "create",
        f"B-1/{i}",
        "tech1",
        "Tess Tech",
        new={"target_mg": Decimal("250.0"), "raw_g": Decimal("0.2513"), "unit": "g", "index": i},
        batch_id="B-1",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="events per transaction")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        db = Database(url)
        db.upgrade()
        context = AuditContext("bench", "0.1.0")

        single = 300
        start = time.perf_counter()
        for i in range(single):
            with unit_of_work(db, context) as uow:
                uow.audit.append(_entry(i))
        one_per_tx = single / (time.perf_counter() - start)

        remaining = args.events - single
        start = time.perf_counter()
        done = 0
        while done < remaining:
            n = min(args.batch, remaining - done)
            with unit_of_work(db, context) as uow:
                uow.audit.append_many(_entry(single + done + k) for k in range(n))
            done += n
        batched = remaining / (time.perf_counter() - start)

        start = time.perf_counter()
        with unit_of_work(db, context, write=False) as uow:
            report = uow.verify_chain()
        verify_s = time.perf_counter() - start
        db.dispose()

    print(f"database:                       {db!r}")
    note = " (SQLite synchronous=FULL: one fsync per commit)" if url.startswith("sqlite") else ""
    print(f"appends, one per transaction:   {one_per_tx:8.0f} events/s{note}")
    print(f"appends, {args.batch} per transaction: {batched:8.0f} events/s (target ≥ 2,000)")
    print(
        f"verify {report.events} events:          {verify_s:8.2f} s (target ≤ 3 s), ok={report.ok}"
    )


if __name__ == "__main__":
    main()
