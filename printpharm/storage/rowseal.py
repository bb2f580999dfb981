"""Row seals: every write of a protected row carries its content hash into the chain.

Whenever a session with an attached :class:`~printpharm.storage.audit.AuditLog`
flushes an insert or update of a protected table (users, batches, units,
signatures, research periods, library versions, devices, site settings, site
keys, recovery codes; ink lots, content-uniformity samples and results; equipment
events, check weights, balance checks, the cleaning log, training records and the
printers' uses), one ``row``/``write`` event is appended in the same transaction, with
``record_id = "<table>/<primary key>"`` and ``new = {"sha256": ...}`` — the
SHA-256 of the row exactly as the database then holds it. Verification
recomputes every protected row and compares (:func:`cross_check`): a row with
no event, a row that differs from its latest event, and an event whose row is
gone are each reported with their table and key. On PostgreSQL a deferred
constraint trigger refuses, at commit, a protected change whose row event is
not in the same transaction (migration ``0008_keyed_audit``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Table, event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from printpharm.storage.canonical import canonical_json
from printpharm.storage.tables import Base

__all__ = [
    "AUDIT_LOG_KEY",
    "PROTECTED",
    "RowMismatch",
    "batch_row_mismatches",
    "cross_check",
    "row_digest",
    "row_event_entries",
    "row_matches",
]

#: ``session.info`` key under which a unit of work attaches its audit log.
AUDIT_LOG_KEY = "printpharm_audit_log"

#: Protected tables and their primary-key column.
PROTECTED: dict[str, str] = {
    "users": "user_id",
    "batches": "batch_id",
    "units": "id",
    "signatures": "id",
    "research_sessions": "id",
    "recipe_versions": "id",
    "ink_versions": "id",
    "devices": "id",
    "site_settings": "key",
    "audit_keys": "key_id",
    "recovery_codes": "id",
    # GMP records a forger could otherwise edit in SQL (issues 12 and 14)
    "ink_lots": "id",
    "cu_samples": "id",
    "cu_results": "id",
    "equipment_events": "id",
    "check_weights": "weight_id",
    "balance_checks": "id",
    "cleaning_log": "id",
    "training_records": "id",
    # calibration series printed on a registered printer (the cleaning rule reads them)
    "printer_uses": "id",
}
#: Protected tables whose rows belong to one batch (their events carry its ID).
_OF_A_BATCH = ("batches", "units", "cu_samples", "cu_results")


class _RowSealer(Protocol):
    """What a session's attached log does with the protected rows a flush wrote.

    :class:`~printpharm.storage.audit.AuditLog` is one; this module stays below it.
    """

    def seal_rows(self, keys: list[tuple[str, Any]]) -> None:
        """Append one ``row`` event per ``(table, key)``."""


def _table(name: str) -> Table:
    if name not in Base.metadata.tables:
        import printpharm.storage.audit_tables  # noqa: F401  (maps signatures, audit_keys)
        import printpharm.storage.content_uniformity  # noqa: F401  (maps cu_samples/results)
        import printpharm.storage.printer_uses  # noqa: F401  (maps printer_uses)
    return Base.metadata.tables[name]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_digest(row: Mapping[str, Any]) -> str:
    """The SHA-256 of a row's canonical JSON (Decimals normalised, times in UTC)."""
    # NULL columns are left out, so that adding a nullable column changes no digest.
    plain = {k: _plain(v) for k, v in row.items() if v is not None}
    return hashlib.sha256(canonical_json(plain).encode("utf-8")).hexdigest()


def _load(
    conn: Connection, table_name: str, key: Any, present: set[str] | None = None
) -> dict[str, Any] | None:
    table = _table(table_name)
    pk = table.c[PROTECTED[table_name]]
    columns = [c for c in table.c if present is None or c.name in present]
    found = conn.execute(select(*columns).where(pk == key)).mappings().one_or_none()
    return None if found is None else dict(found)


def row_event_entries(
    conn: Connection,
    keys: Iterable[tuple[str, Any]],
    present: Mapping[str, set[str]] | None = None,
) -> list[dict[str, Any]]:
    """The ``row`` events' fields for rows ``(table, key)`` as the database holds them now.

    ``present`` limits each table to the columns that exist (inside a migration).
    """
    entries: list[dict[str, Any]] = []
    for table_name, key in keys:
        row = _load(conn, table_name, key, None if present is None else present[table_name])
        if row is None:
            continue
        batch_id = row.get("batch_id") if table_name in _OF_A_BATCH else None
        entries.append(
            {
                "record_id": f"{table_name}/{key}",
                "new": {"sha256": row_digest(row)},
                "batch_id": batch_id,
            }
        )
    return entries


def _after_flush(session: Session, _context: Any) -> None:
    log: _RowSealer | None = session.info.get(AUDIT_LOG_KEY)
    if log is None:
        return
    keys: list[tuple[str, Any]] = []
    for obj in list(session.new) + list(session.dirty):
        if getattr(obj, "__tablename__", None) not in PROTECTED:
            continue
        if obj not in session.new and not session.is_modified(obj, include_collections=False):
            continue
        table_name = obj.__tablename__
        keys.append((table_name, getattr(obj, PROTECTED[table_name])))
    if keys:
        log.seal_rows(keys)


event.listen(Session, "after_flush", _after_flush)


@dataclass(frozen=True)
class RowMismatch:
    """A protected row that does not match the chain: table, key and what is wrong."""

    table: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.problem}"


def cross_check(
    conn: Connection,
    sealed: Mapping[str, tuple[int, str | None]],
    *,
    exempt: Collection[str] = (),
    required: Collection[str] | None = None,
) -> list[RowMismatch]:
    """Compare every protected row with its latest ``row`` event.

    Parameters
    ----------
    conn
        A connection on the database.
    sealed
        ``record_id`` (``"<table>/<key>"``) → (seq, sha256 or ``None`` for a
        deletion) of the latest ``row`` event, collected while walking the chain.
    exempt
        Record IDs not compared (an inspection package's manifest and redacted
        accounts, see :mod:`.package_check`).
    required
        ``None``: every row an event records must be present. Otherwise only these
        record IDs (an inspection package holds one batch's rows).
    """
    problems: list[RowMismatch] = []
    seen: set[str] = set()
    for table_name, pk in PROTECTED.items():
        table = _table(table_name)
        for row in conn.execute(select(table)).mappings():
            key = str(row[pk])
            record_id = f"{table_name}/{key}"
            seen.add(record_id)
            if record_id in exempt:
                continue
            event_of = sealed.get(record_id)
            if event_of is None:
                problems.append(RowMismatch(table_name, key, "no audit event records this row"))
            elif event_of[1] != row_digest(dict(row)):
                problems.append(
                    RowMismatch(
                        table_name,
                        key,
                        f"differs from its audit event {event_of[0]} (changed outside printpharm)",
                    )
                )
    for record_id, (seq, digest) in sealed.items():
        wanted = required is None or record_id in required
        if wanted and record_id not in seen and digest is not None:
            table_name, _, key = record_id.partition("/")
            problems.append(
                RowMismatch(table_name, key, f"recorded by audit event {seq} but missing")
            )
    return problems


def row_matches(conn: Connection, table_name: str, key: Any) -> bool:
    """Whether one protected row matches its latest ``row`` event (a quick check for views)."""
    row = _load(conn, table_name, key)
    latest = conn.execute(
        text(
            "SELECT new_value FROM audit_events WHERE record_type = 'row' AND record_id = :rid "
            "ORDER BY seq DESC LIMIT 1"
        ),
        {"rid": f"{table_name}/{key}"},
    ).scalar()
    if row is None or latest is None:
        return False
    digest = json.loads(latest).get("sha256")
    return bool(digest == row_digest(row))


def batch_row_mismatches(conn: Connection, batch_id: str) -> list[str]:
    """The rows a release of ``batch_id`` rests on that differ from their latest ``row`` event.

    The batch, its units, its content-uniformity samples and results, and the ink lot
    it was made from (its assay gives each unit's content). Signatures are checked
    by their seals (:meth:`~.signatures.SignatureRepository.seal_problem`).
    """
    if not row_matches(conn, "batches", batch_id):
        return [f"batch {batch_id}"]  # its own row first: nothing else is trusted then
    problems: list[str] = []
    for table, what in (("units", "unit row"), ("cu_samples", "cu_samples row"),
                        ("cu_results", "cu_results row")):  # fmt: skip
        column = _table(table).c
        for (key,) in conn.execute(select(column.id).where(column.batch_id == batch_id)):
            if not row_matches(conn, table, key):
                problems.append(f"{what} {key}")
    batches = _table("batches").c
    lot = conn.execute(select(batches.ink_lot_id).where(batches.batch_id == batch_id)).scalar()
    if lot is not None and not row_matches(conn, "ink_lots", lot):
        lots = _table("ink_lots").c
        number = conn.execute(select(lots.lot_number).where(lots.id == lot)).scalar()
        problems.append(f"ink lot {number} (row {lot})")
    return problems
