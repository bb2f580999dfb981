"""Export of the audit trail (compliance AUD-11): CSV, JSON and PDF, filtered, and logged.

Every field of every selected event is exported as stored (sequence number,
UTC time and zone, user ID and printed name, record, action, field, reason,
old and new values as canonical JSON, batch, workstation, versions, mode, and
both hashes), so an inspector can recompute the chain from a JSON or CSV
export of the whole trail. A CSV is opened in spreadsheets, so a text cell
that one would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
``|`` or ``%`` and is not a number: a reason typed as ``=HYPERLINK(...)``)
is written with an apostrophe in front, which spreadsheets do not show, and
its ``|`` as ``\\|`` (defusedcsv); to recompute a hash from such a cell, take
that back off. The JSON export holds every value exactly as stored.

Filters: batch, record type, record ID, user, and a date range (UTC days, both
inclusive). The export itself is written to the audit trail with its filters,
the number of events and the file's SHA-256.

Every export names the site key: the JSON document and the PDF carry the
fingerprint (and public key) of the site key in force and the chain head the
export was made at; each CSV row carries the fingerprint of the site key in
force when its event was appended (``site_key``). The file is new, never a
link, and readable only by its owner (:mod:`.files`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from defusedcsv import csv

from printpharm import __version__
from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.site_trust import HeadStamp, head_stamp
from printpharm.services.records.files import refuse_existing, write_new_file
from printpharm.storage.audit import AuditEntry, AuditEvent
from printpharm.storage.integrity import KeyInfo

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


def key_in_force(keys: Sequence[KeyInfo], seq: int) -> str:
    """Fingerprint of the site key that signed the head when event ``seq`` was appended.

    Empty for events appended before the database had a site key.
    """
    fingerprint = ""
    for key in keys:  # oldest first; each is in force from its from_seq
        if key.from_seq <= seq:
            fingerprint = key.key_id
    return fingerprint


def _csv(events: Sequence[AuditEvent], keys: Sequence[KeyInfo]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow((*FIELDS, "site_key"))
    for event in events:
        values = ["" if v is None else v for v in dataclasses.astuple(event)]
        writer.writerow([*values, key_in_force(keys, event.seq)])
    return buffer.getvalue().encode("utf-8")


def _json(
    events: Sequence[AuditEvent],
    filters: AuditFilter,
    who: str,
    now: str,
    trust: tuple[HeadStamp, Sequence[KeyInfo]],
) -> bytes:
    head, keys = trust
    document: dict[str, Any] = {
        "format": "printpharm-audit-export",
        "version": 1,
        "exported_at": now,
        "exported_by": who,
        "app_version": __version__,
        "filters": {
            k: None if v is None else str(v) for k, v in dataclasses.asdict(filters).items()
        },
        "chain_head": head.as_dict(),
        "site_keys": [
            {"fingerprint": k.key_id, "public_key": k.public_key, "from_seq": k.from_seq}
            for k in keys
        ],
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
        An unknown format, or a date range that ends before it starts.
    RecordError
        Something exists at ``path`` (exports never overwrite nor follow links),
        or it cannot be written.
    PermissionDenied, SessionExpired
        The role may not view and export the audit trail.
    """
    if fmt not in AUDIT_FORMATS:
        raise InputError(f"audit export format {fmt!r}: use one of {', '.join(AUDIT_FORMATS)}")
    if filters.since and filters.until and filters.until < filters.since:
        raise InputError(f"date range {filters.since}..{filters.until} ends before it starts")
    auth.require(session, Operation.VIEW_AUDIT)
    live = auth.require(session, Operation.EXPORT_RECORDS)
    refuse_existing(path, "audit export")
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
        head, keys = head_stamp(uow), uow.site_keys()
    events = select_events(events, filters.since, filters.until)
    who = f"{live.full_name} ({live.user_id})"
    if fmt == "csv":
        data = _csv(events, keys)
    elif fmt == "json":
        data = _json(events, filters, who, now, (head, keys))
    else:
        from printpharm.services.records._audit_pdf import render_audit_pdf

        data = render_audit_pdf(events, filters.describe(), who, now, head)
    write_new_file(path, data, "audit export")
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
                    "chain_head": head.as_dict(),
                },
                batch_id=filters.batch_id,
            )
        )
    return AuditExport(path, fmt, len(events), digest, filters.describe())
