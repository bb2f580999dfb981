"""Move a standalone workstation's records into the central database, both chains intact.

A workstation that worked offline on its own SQLite file has its own audit
chain. :func:`export_chain_file` writes that whole chain (every event verbatim,
with its sequence number and hashes) and the workstation's batch records to one
JSON file, after verifying the chain. :func:`import_chain_file` verifies the
file again, then appends **one** event to the central chain
(``record_type="imported-chain"``, ``action="import"``, ``record_id`` = the
source chain's id, the hash of its first event) whose value carries the
source's new events verbatim, its batch records, and the source head (sequence
number and hash). Neither chain is rewritten:

- the central chain stays valid (one ordinary, hash-chained event per import);
- the imported chain stays verifiable on its own: the segments of all imports
  of one source, in order, form the source chain from its first event
  (:func:`verify_imported`).

Importing the same export twice adds nothing; a later export of the same
workstation adds only the events after the last imported head; an export whose
history differs from what was imported (a restored or forked workstation) is
refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printpharm import __version__
from printpharm.errors import AuditError, InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.context import audit_context
from printpharm.services.access.permissions import Operation
from printpharm.services.records.files import refuse_existing, write_new_file
from printpharm.storage.audit import GENESIS_HASH, AuditContext, AuditEntry, AuditEvent
from printpharm.storage.canonical import HASHED_FIELDS, canonical_json, event_hash
from printpharm.storage.db import Database, resolve_database_url
from printpharm.storage.repositories import UnitOfWork, unit_of_work

__all__ = [
    "EXPORT_FORMAT",
    "IMPORT_RECORD_TYPE",
    "ExportSummary",
    "ImportResult",
    "ImportedChainReport",
    "export_chain_as",
    "export_chain_file",
    "IMPORT_OPERATION",
    "import_chain_as",
    "import_chain_file",
    "verify_events",
    "verify_imported",
    "verify_imported_chains",
]

#: ``format`` of an export file (its ``version`` is 1).
EXPORT_FORMAT = "printpharm-chain-export"
#: The permission needed to import (supervisors and pharmacists hold it).
IMPORT_OPERATION = Operation.REVIEW_AUDIT
#: ``record_type`` of the central audit event that records one import.
IMPORT_RECORD_TYPE = "imported-chain"


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_chain_file` wrote."""

    path: Path
    workstation_id: str
    chain_id: str
    events: int
    batches: int
    head_seq: int
    head_hash: str
    file_sha256: str


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_chain_file` did; ``already_imported``: nothing new in the file."""

    source_workstation: str
    chain_id: str
    first_seq: int
    source_head_seq: int
    source_head_hash: str
    batches: int
    central_seq: int | None
    already_imported: bool


@dataclass(frozen=True)
class ImportedChainReport:
    """One imported source chain, verified on its own from its first event."""

    source_workstation: str
    chain_id: str
    imports: int
    events: int
    head_hash: str
    ok: bool
    problem: str = ""


def _event_dict(event: AuditEvent) -> dict[str, Any]:
    return dataclasses.asdict(event)


def verify_events(
    events: Sequence[Mapping[str, Any]], *, start_seq: int = 1, prev_hash: str = GENESIS_HASH
) -> str:
    """Check that ``events`` form an unbroken chain; return ``""`` or the first problem.

    Each event's hash is recomputed from its hashed fields; sequence numbers must
    follow from ``start_seq`` and each ``prev_hash`` must be the previous hash.
    """
    expected = start_seq
    for event in events:
        seq = event.get("seq")
        if seq != expected:
            return f"event {expected} missing: found event {seq} instead"
        if event.get("prev_hash") != prev_hash:
            return f"event {seq} does not follow event {expected - 1} (prev_hash differs)"
        try:
            content = {name: event[name] for name in HASHED_FIELDS}
        except KeyError as exc:
            return f"event {seq} lacks field {exc.args[0]!r}"
        if event_hash(content) != event.get("event_hash"):
            return f"event {seq} was altered after it was written (hash differs)"
        prev_hash, expected = str(event["event_hash"]), expected + 1
    return ""


def _open(db_url: str | None, *, read_only: bool) -> Database:
    url = resolve_database_url(db_url)
    if read_only and url.startswith("sqlite"):
        return Database(url, read_only=True)
    return Database(url)


def _context(workstation: str | None) -> AuditContext:
    return audit_context(workstation)


def _batches(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = [uow.batches.get(batch_id) for batch_id in sorted(uow.batches.ids())]
    # canonical JSON keeps Decimals exact (as strings) and datetimes as ISO text
    return [json.loads(canonical_json(dataclasses.asdict(row))) for row in rows if row]


def _export_document(
    source: str, events: list[dict[str, Any]], batches: list[dict[str, Any]]
) -> str:
    return canonical_json(
        {
            "format": EXPORT_FORMAT,
            "version": 1,
            "source": {"workstation": source, "chain_id": events[0]["event_hash"]},
            "head": {"seq": events[-1]["seq"], "hash": events[-1]["event_hash"]},
            "events": events,
            "batches": batches,
            "exported_by": f"printpharm {__version__}",
        }
    )


def export_chain_file(db: Database, out: Path, workstation_id: str | None = None) -> ExportSummary:
    """Write the audit chain and batch records of ``db`` to ``out`` (JSON).

    Parameters
    ----------
    db
        The standalone workstation's database (schema current).
    out
        The file to write: a new file (never overwritten, never through a link), 0600.
    workstation_id
        The source's name; default: the workstation named in its events (one only).

    Raises
    ------
    AuditError
        The chain is broken (an export must verify), or it is empty.
    InputError
        The events name several workstations and ``workstation_id`` was not given.
    RecordError
        Something exists at ``out``, or it cannot be written.
    MigrationError, DatabaseUnavailable
        The database is not usable.
    """
    db.require_current()
    with unit_of_work(db, _context(workstation_id), write=False) as uow:
        return _write_export(uow, out, workstation_id)


def export_chain_as(
    auth: AuthService, session: UserSession, out: Path, workstation_id: str | None = None
) -> ExportSummary:
    """:func:`export_chain_file` of ``auth``'s database by a logged-in user, audited.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not export records, or nobody is logged in.
    AuditError, InputError, RecordError
        As :func:`export_chain_file` raises them.
    """
    live = auth.require(session, Operation.EXPORT_RECORDS)
    refuse_existing(out, "federation export")
    with auth.uow(write=False) as uow:
        summary = _write_export(uow, out, workstation_id)
    with auth.uow() as uow:
        uow.audit.append(
            AuditEntry("federation", "export", summary.chain_id, live.user_id, live.full_name,
                       new={"file": out.name, "sha256": summary.file_sha256,
                            "workstation": summary.workstation_id, "events": summary.events,
                            "head_seq": summary.head_seq, "head_hash": summary.head_hash})
        )  # fmt: skip
    return summary


def _write_export(uow: UnitOfWork, out: Path, workstation_id: str | None) -> ExportSummary:
    report = uow.verify_chain()
    events = [_event_dict(e) for e in uow.events(include_rows=True)]
    batches = _batches(uow)
    if not report.ok or not events:
        problem = report.first_broken.detail if report.first_broken else "it has no events"
        raise AuditError(f"audit chain cannot be exported: {problem}")
    names = sorted({str(e["workstation"]) for e in events})
    if workstation_id is None and len(names) > 1:
        raise InputError(
            f"events name several workstations ({', '.join(names)}); pass --workstation"
        )
    source = workstation_id or names[0]
    data = _export_document(source, events, batches).encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RecordError(f"federation export {out}: cannot create its folder ({reason})") from exc
    write_new_file(out, data, "federation export")
    return ExportSummary(
        out,
        source,
        str(events[0]["event_hash"]),
        len(events),
        len(batches),
        int(events[-1]["seq"]),
        str(events[-1]["event_hash"]),
        hashlib.sha256(data).hexdigest(),
    )


def _read_export(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"export file {path} cannot be read: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # a 5,000-digit integer, or deep nesting
        raise InputError(
            f"export file {path} cannot be read: a number too long or values nested too deep"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise InputError(f"{path} is not a printpharm chain export (format {EXPORT_FORMAT!r})")
    if document.get("version") != 1:
        raise InputError(f"{path}: export version {document.get('version')!r}; this reads 1")
    events = document.get("events")
    if not isinstance(events, list) or not events:
        raise InputError(f"{path}: the export holds no events")
    problem = verify_events(events)
    if problem:
        raise AuditError(f"{path}: the exported chain is broken: {problem}; it was not imported")
    head = document.get("head", {})
    if head != {"seq": events[-1]["seq"], "hash": events[-1]["event_hash"]}:
        raise AuditError(f"{path}: the recorded head differs from the last event (truncated?)")
    if document.get("source", {}).get("chain_id") != events[0]["event_hash"]:
        raise AuditError(f"{path}: the chain id differs from the hash of its first event")
    return document


def _segments(uow: UnitOfWork, chain_id: str) -> list[dict[str, Any]]:
    return [e.new() for e in uow.events(record_type=IMPORT_RECORD_TYPE, record_id=chain_id)]


def _imported_head(segments: list[dict[str, Any]]) -> tuple[int, str]:
    if not segments:
        return 0, GENESIS_HASH
    return int(segments[-1]["head_seq"]), str(segments[-1]["head_hash"])


def _check_segments(segments: list[dict[str, Any]]) -> str:
    events = [event for segment in segments for event in segment["events"]]
    problem = verify_events(events)
    if not problem and events and events[-1]["event_hash"] != segments[-1]["head_hash"]:
        problem = "the recorded head differs from the last imported event"
    return problem


def import_chain_file(
    db: Database, path: Path, context: AuditContext, user: tuple[str, str] | None = None
) -> ImportResult:
    """Import an export file into ``db`` as one central audit event (see the module doc).

    Parameters
    ----------
    db
        The central database (schema current).
    path
        A file written by :func:`export_chain_file`.
    context
        The importing workstation's audit context.
    user
        ``(user_id, full_name)`` recorded on the import event (see :func:`import_chain_as`).

    Raises
    ------
    InputError
        The file is not a readable export.
    AuditError
        The exported chain is broken, or its history differs from the events of
        that workstation imported before (nothing is imported).
    MigrationError, DatabaseUnavailable
        The central database is not usable.
    """
    document = _read_export(path)
    db.require_current()
    with unit_of_work(db, context) as uow:
        return _import_into(uow, path, document, user)


def import_chain_as(auth: AuthService, session: UserSession, path: Path) -> ImportResult:
    """Import ``path`` into the database of ``auth`` as the logged-in user of ``session``.

    Importing needs :data:`IMPORT_OPERATION` (a supervisor or pharmacist reviews the
    offline workstation's audit trail as it enters the central database).

    Raises
    ------
    PermissionDenied, SessionExpired
        The user may not import, or is not logged in.
    InputError, AuditError
        See :func:`import_chain_file`.
    """
    document = _read_export(path)
    live = auth.require(session, IMPORT_OPERATION)
    with auth.uow() as uow:
        return _import_into(uow, path, document, (live.user_id, live.full_name))


def _import_into(
    uow: UnitOfWork, path: Path, document: dict[str, Any], user: tuple[str, str] | None
) -> ImportResult:
    events: list[dict[str, Any]] = document["events"]
    chain_id, source = str(events[0]["event_hash"]), str(document["source"]["workstation"])
    head_seq, head_hash = _imported_head(_segments(uow, chain_id))
    if head_seq > len(events):  # an older export of a workstation imported since
        if _hash_at(uow, chain_id, len(events)) == events[-1]["event_hash"]:
            return _nothing_new(source, chain_id, events, document)
        raise _forked(path, source, len(events))
    if head_seq and events[head_seq - 1]["event_hash"] != head_hash:
        raise _forked(path, source, head_seq)
    if head_seq == len(events):
        return _nothing_new(source, chain_id, events, document)
    value = {
        "source_workstation": source,
        "chain_id": chain_id,
        "first_seq": head_seq + 1,
        "head_seq": events[-1]["seq"],
        "head_hash": events[-1]["event_hash"],
        "events": events[head_seq:],
        "batches": document.get("batches", []),
        "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    user_id, user_name = user or (None, None)
    stored = uow.audit.append(
        AuditEntry(
            IMPORT_RECORD_TYPE,
            "import",
            chain_id,
            user_id,
            user_name,
            new=value,
        )
    )
    # the append holds the chain-head lock: a concurrent import of the same source
    # now shows up here and rolls this one back instead of duplicating events
    problem = _check_segments(_segments(uow, chain_id))
    if problem:
        raise AuditError(f"import of {path} refused: {problem}")
    return ImportResult(
        source,
        chain_id,
        head_seq + 1,
        int(events[-1]["seq"]),
        str(events[-1]["event_hash"]),
        len(value["batches"]),
        stored.seq,
        False,
    )


def _forked(path: Path, source: str, seq: int) -> AuditError:
    return AuditError(
        f"{path}: workstation {source}'s history differs from what was imported before "
        f"(at event {seq}); the export was not imported (a restored or copied workstation "
        "database?) — ask QA"
    )


def _hash_at(uow: UnitOfWork, chain_id: str, seq: int) -> str:
    for segment in _segments(uow, chain_id):
        for event in segment["events"]:
            if event["seq"] == seq:
                return str(event["event_hash"])
    return ""


def _nothing_new(
    source: str, chain_id: str, events: list[dict[str, Any]], document: dict[str, Any]
) -> ImportResult:
    return ImportResult(
        source,
        chain_id,
        int(events[-1]["seq"]) + 1,
        int(events[-1]["seq"]),
        str(events[-1]["event_hash"]),
        len(document.get("batches", [])),
        None,
        True,
    )


def verify_imported(db: Database) -> list[ImportedChainReport]:
    """Verify every imported source chain of ``db`` on its own, from its first event."""
    with unit_of_work(db, _context(None), write=False) as uow:
        by_chain: dict[str, list[dict[str, Any]]] = {}
        for event in uow.events(record_type=IMPORT_RECORD_TYPE):
            by_chain.setdefault(str(event.record_id), []).append(event.new())
    reports = []
    for chain_id, segments in by_chain.items():
        problem = _check_segments(segments)
        if not problem and segments[0]["events"][0]["event_hash"] != chain_id:
            problem = "the chain id differs from the hash of its first event"
        reports.append(
            ImportedChainReport(
                str(segments[-1]["source_workstation"]),
                chain_id,
                len(segments),
                sum(len(s["events"]) for s in segments),
                str(segments[-1]["head_hash"]),
                not problem,
                problem,
            )
        )
    return reports


def verify_imported_chains(db_url: str | None = None) -> list[ImportedChainReport]:
    """Open ``db_url`` (read-only for SQLite) and :func:`verify_imported` it."""
    db = _open(db_url, read_only=True)
    try:
        return verify_imported(db)
    finally:
        db.dispose()
