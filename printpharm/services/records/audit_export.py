"""Export of the audit trail (compliance AUD-11): CSV, JSON and PDF, filtered, and logged.

Every field of every selected event is exported as stored (sequence number,
UTC time and zone, user ID and printed name, record, action, field, reason,
old and new values as canonical JSON, batch, workstation, versions, mode, and
both hashes), so an inspector can recompute the chain from a JSON or CSV
export of the whole trail. Filters: batch, record type, record ID, user, and a
date range (UTC days, both inclusive). The export itself is written to the
audit trail with its filters, the number of events and the file's SHA-256.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from printpharm import __version__
from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.storage.audit import AuditEntry, AuditEvent

__all__ = ["AUDIT_FORMATS", "AuditExport", "AuditFilter", "export_audit", "select_events"]

AUDIT_FORMATS = ("csv", "json", "pdf")
FIELDS = tuple(f.name for f in dataclasses.fields(AuditEvent))


@dataclass(frozen=True)
class AuditFilter:
    """Which events to export; ``None`` means any. Dates are UTC days, both inclusive."""

    batch_id: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    user_id: str | None = None
    since: date | None = None
    until: date | None = None

    def describe(self) -> str:
        """The filters in words (for the file and the log)."""
        parts = [f"{k} = {v}" for k, v in dataclasses.asdict(self).items() if v is not None]
        return ", ".join(parts) or "the whole audit trail"


@dataclass(frozen=True)
class AuditExport:
    """A written export: where, what format, how many events, and the file's SHA-256."""

    path: Path
    format: str
    events: int
    sha256: str
    filters: str


def _at(event: AuditEvent) -> datetime:
    return datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))


def select_events(
    events: Sequence[AuditEvent], since: date | None, until: date | None
) -> list[AuditEvent]:
    """``events`` inside the UTC days ``since``..``until`` (both inclusive)."""
    low = None if since is None else datetime.combine(since, time.min, UTC)
    high = None if until is None else datetime.combine(until, time.max, UTC)
    return [
        e for e in events if (low is None or _at(e) >= low) and (high is None or _at(e) <= high)
    ]


def _csv(events: Sequence[AuditEvent]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for event in events:
        writer.writerow(["" if v is None else v for v in dataclasses.astuple(event)])
    return buffer.getvalue().encode("utf-8")


def _json(events: Sequence[AuditEvent], filters: AuditFilter, who: str, now: str) -> bytes:
    document: dict[str, Any] = {
        "format": "printpharm-audit-export",
        "version": 1,
        "exported_at": now,
        "exported_by": who,
        "app_version": __version__,
        "filters": {
            k: None if v is None else str(v) for k, v in dataclasses.asdict(filters).items()
        },
        "events": [dataclasses.asdict(e) for e in events],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def export_audit(
    auth: AuthService, session: UserSession, fmt: str, path: Path, filters: AuditFilter
) -> AuditExport:
    """Write the events ``filters`` select to ``path`` as ``fmt``; the export is audited.

    Raises
    ------
    InputError
        An unknown format, a date range that ends before it starts, or a path
        that cannot be written.
    PermissionDenied, SessionExpired
        The role may not view and export the audit trail.
    """
    if fmt not in AUDIT_FORMATS:
        raise InputError(f"audit export format {fmt!r}: use one of {', '.join(AUDIT_FORMATS)}")
    if filters.since and filters.until and filters.until < filters.since:
        raise InputError(f"date range {filters.since}..{filters.until} ends before it starts")
    auth.require(session, Operation.VIEW_AUDIT)
    live = auth.require(session, Operation.EXPORT_RECORDS)
    with auth.uow(write=False) as uow:
        events = uow.events(
            batch_id=filters.batch_id,
            record_type=filters.record_type,
            record_id=filters.record_id,
            user_id=filters.user_id,
            # the whole trail includes the row seals, so that it recomputes as a chain
            include_rows=not (
                filters.batch_id or filters.record_type or filters.record_id or filters.user_id
            ),
        )
        now = uow.now().isoformat()
    events = select_events(events, filters.since, filters.until)
    who = f"{live.full_name} ({live.user_id})"
    if fmt == "csv":
        data = _csv(events)
    elif fmt == "json":
        data = _json(events, filters, who, now)
    else:
        from printpharm.services.records._audit_pdf import render_audit_pdf

        data = render_audit_pdf(events, filters.describe(), who, now)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"audit export {path}: cannot write: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    with auth.uow() as uow:
        uow.audit.append(
            AuditEntry(
                "audit",
                "export",
                fmt,
                live.user_id,
                live.full_name,
                new={
                    "format": fmt,
                    "filters": filters.describe(),
                    "events": len(events),
                    "sha256": digest,
                    "file": path.name,
                },
                batch_id=filters.batch_id,
            )
        )
    return AuditExport(path, fmt, len(events), digest, filters.describe())
