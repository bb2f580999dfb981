"""Audit-trail speed on SQLite: appends per second and time to verify 100,000 events.

Targets (issue 5): ≥ 2,000 appends/s with batching, every event individually
chained; verification of 100,000 events ≤ 3 s. Since issue 13 the chain is keyed:
every append checks the head's Ed25519 signature and signs the new head, and the
verification includes the key, the signature seals and the row cross-checks (the
database also holds batches with units, each row sealed by its own event), and the
quick check run before every recorded action (the tail since the last check and the
head's signature) is timed. Run:

    python tests/benchmarks/bench_audit.py [--events 100000] [--db URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from printpharm.storage.audit import AuditContext, AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.db import Database
from printpharm.storage.repositories import UserRecord, unit_of_work
from printpharm.storage.sitekey import create_site_key

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _batches(db: Database, context: AuditContext, batches: int, units: int) -> None:
    with unit_of_work(db, context) as uow:
        uow.users.add(UserRecord("tech1", "Tess Tech", "technician", "$argon2id$bench", AT, AT))
    for b in range(batches):
        with unit_of_work(db, context) as uow:
            uow.batches.create(f"B{b}", Decimal("10"), units, "tech1", AT)
            for i in range(units):
                uow.batches.add_unit(f"B{b}", UnitReading(i, Decimal("250.0"), Decimal("250.3")))
                uow.audit.append(_entry(i))


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
    parser.add_argument("--batches", type=int, default=40, help="batches with sealed units")
    parser.add_argument("--units", type=int, default=50, help="units per batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        db = Database(url)
        db.upgrade()
        key = create_site_key(Path(tmp) / "keys")
        context = AuditContext("bench", "0.1.0", signer=key)
        with unit_of_work(db, AuditContext("bench", "0.1.0")) as uow:
            uow.register_key(key, None, "bench")
        _batches(db, context, args.batches, args.units)

        single = 300
        start = time.perf_counter()
        for i in range(single):
            with unit_of_work(db, context) as uow:
                uow.audit.append(_entry(i))
        one_per_tx = single / (time.perf_counter() - start)

        with unit_of_work(db, context, write=False) as uow:
            already = uow.signed_head()["seq"]
        remaining = args.events - already
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
        start = time.perf_counter()
        with unit_of_work(db, context, write=False) as uow:
            full = uow.verify_integrity()
        integrity_s = time.perf_counter() - start
        rounds = 50
        start = time.perf_counter()
        for _ in range(rounds):  # the gate before each recorded action (nothing new appended)
            with unit_of_work(db, context, write=False) as uow:
                tail, _ = uow.quick_verify((report.events, report.last_hash))
        quick_ms = (time.perf_counter() - start) / rounds * 1000
        db.dispose()

    print(f"database:                       {db!r}")
    note = " (SQLite synchronous=FULL: one fsync per commit)" if url.startswith("sqlite") else ""
    print(f"keyed head: signed at every append, checked before it (key {key.key_id[:12]}…)")
    print(f"appends, one per transaction:   {one_per_tx:8.0f} events/s{note}")
    print(f"appends, {args.batch} per transaction: {batched:8.0f} events/s (target ≥ 2,000)")
    print(f"verify chain only, {report.events} events: {verify_s:8.2f} s, ok={report.ok}")
    rows = args.batches * (args.units + 1) + 2
    print(
        f"verify chain + key + seals + {rows} row cross-checks: {integrity_s:8.2f} s "
        f"(target ≤ 3 s), ok={full.ok}"
    )
    print(
        f"quick check before a recorded action (tail + signed head): {quick_ms:8.2f} ms, "
        f"ok={tail.ok}"
    )


if __name__ == "__main__":
    main()
