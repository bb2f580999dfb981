"""Batch records for people and machines: PDF, CSV, JSON, and the inspection package.

:meth:`BatchExportService.view` gathers one batch's complete record: the stored
batch and units (raw balance lines), the run's header (prescription and dose
calculation, recipe version and hash, ink lot and expiry, printer and balance
identity, preflight, a pharmacist's dose override), each unit's verdict, alarms,
flow corrections, QC results with the pharmacopoeia tests applied, the
signatures with their manifestation
and whether each still matches the record, the batch's audit events, the state
of the whole audit chain, and whether anything changed after signing (Annex 11
§8.2). JSON keeps the stored values exactly (Decimals as strings) and reads back
into the stored objects (:func:`record_from_json`, REC-01). Every export is
itself written to the audit trail (AUD-11).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService, manifestation
from printpharm.services.access.site_trust import HeadStamp, head_stamp
from printpharm.services.records._batch_csv import record_to_csv
from printpharm.services.records.batches import batch_signable
from printpharm.services.records.content_uniformity import cu_status
from printpharm.services.records.files import refuse_existing, write_new_file
from printpharm.services.records.patient_use import patient_use
from printpharm.services.records.record_json import record_from_json, record_to_json
from printpharm.services.records.record_view import BatchRecordView, SignatureLine, UnitLine
from printpharm.services.records.render import render_record
from printpharm.services.run.alarm_acks import batch_alarms
from printpharm.services.run.override_record import APPLIED as OVERRIDE_APPLIED
from printpharm.services.run.override_record import DoseOverride
from printpharm.storage.audit import AuditEntry, AuditEvent, format_utc_ms
from printpharm.storage.batches import BatchRow
from printpharm.storage.db import Database
from printpharm.storage.export import PackageReport, export_inspection_package
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "EXPORT_FORMATS",
    "BatchExportService",
    "BatchRecordView",
    "ExportResult",
    "SignatureLine",
    "UnitLine",
    "patient_use",
    "record_from_json",
    "record_to_csv",
    "record_to_json",
]

#: Export formats (``package`` is the standalone SQLite inspection package).
EXPORT_FORMATS = ("pdf", "csv", "json", "package")
#: Actions that change recorded data after its original entry (listed on the record).
CHANGE_ACTIONS = frozenset({"modify", "delete", "recover"})
#: The run's own alarm events (raised, and the operator's decision on a pause).
_RUN_ALARM = frozenset({"raise", "decision"})


@dataclass(frozen=True)
class ExportResult:
    """A written export: its file, format and SHA-256 (also in the audit trail)."""

    path: Path
    format: str
    sha256: str
    head: HeadStamp | None = None


def _unit_lines(row: BatchRow, events: list[AuditEvent]) -> tuple[UnitLine, ...]:
    judged = {}
    for e in events:
        if e.record_type == "unit" and e.action == "create":
            payload = e.new()
            judged[int(payload["n"])] = payload
    lines = []
    for u in row.units:
        j = judged.get(u.unit_index, {})
        verdict = j.get("verdict", "not judged" if u.raw_reading is not None else "not weighed")
        lines.append(
            UnitLine(u, verdict, j.get("deviation_pct"), j.get("tolerance_pct"),
                     j.get("content_mg"), j.get("content_uncertainty_mg"))
        )  # fmt: skip
    return tuple(lines)


def _unaudited(row: BatchRow, events: list[AuditEvent]) -> tuple[int, ...]:
    """Units stored without their ``unit create`` audit event (written outside printpharm)."""
    audited = {e.record_id for e in events if e.record_type == "unit" and e.action == "create"}
    return tuple(u.unit_index for u in row.units if f"{row.batch_id}/{u.unit_index}" not in audited)


def build_view(uow: UnitOfWork, batch_id: str, exported_by: str) -> BatchRecordView:
    """Gather the record of ``batch_id`` inside ``uow`` (one consistent read).

    Raises
    ------
    RecordError
        No such batch.
    """
    row = uow.batches.require(batch_id)
    events = uow.events(batch_id=batch_id)
    signable = batch_signable(row)
    signatures = []
    for sig in uow.signatures.for_record("batch", batch_id):
        check = RecordsService.verify_signature(sig, signable)
        problem = check.problem or uow.signatures.seal_problem(sig)
        signatures.append(SignatureLine(sig, manifestation(sig), problem is None, problem))
    finishes = [e.new() for e in events if e.record_type == "batch" and e.action == "finish"]
    overrides = [DoseOverride(**e.new()) for e in events if e.action == OVERRIDE_APPLIED]
    use, why = patient_use(row, events)
    forged = uow.batch_row_problems(batch_id)
    if forged:
        use, why = False, "record differs from its audit trail: " + "; ".join(forged[:3])
    return BatchRecordView(
        batch=row,
        units=_unit_lines(row, events),
        alarms=tuple(
            e.new() for e in events if e.record_type == "alarm" and e.action in _RUN_ALARM
        ),
        corrections=tuple(e.new() for e in events if e.record_type == "flow"),
        result=finishes[-1] if finishes else None,
        signatures=tuple(signatures),
        events=tuple(events),
        changes=tuple(e for e in events if e.action in CHANGE_ACTIONS),
        chain=uow.verify_chain(),
        patient_use=use,
        patient_use_reason=why,
        exported_by=exported_by,
        exported_at=format_utc_ms(uow.now()),
        unaudited_units=_unaudited(row, events),
        cu=cu_status(row),
        dose_override=overrides[-1] if overrides else None,
        head=head_stamp(uow),
        alarm_register=tuple(batch_alarms(uow, batch_id)),
    )


# -- the service -----------------------------------------------------------------------------


class BatchExportService:
    """Lists, shows and exports batch records (permissions via ``auth``; exports audited)."""

    def __init__(self, auth: AuthService, db: Database) -> None:
        self._auth = auth
        self._db = db

    def list(self, session: UserSession, status: str | None = None) -> list[BatchRow]:
        """Batch records, newest first (optionally in one status).

        Raises
        ------
        PermissionDenied
            The role may not view records.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            rows = [uow.batches.get(i) for i in uow.batches.ids(status)]
        return [r for r in rows if r is not None]

    def view(self, session: UserSession, batch_id: str) -> BatchRecordView:
        """The complete record of one batch.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such batch.
        """
        live = self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            return build_view(uow, batch_id, f"{live.full_name} ({live.user_id})")

    def export(self, session: UserSession, batch_id: str, fmt: str, path: Path) -> ExportResult:
        """Write the record as ``pdf``, ``csv`` or ``json`` (or the ``package``) to ``path``.

        Raises
        ------
        PermissionDenied
            The role may not export records.
        InputError
            Unknown format.
        RecordError
            No such batch, or something exists at ``path`` (exports never overwrite a
            file nor follow a link).
        """
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"export format {fmt!r} is not one of {list(EXPORT_FORMATS)}")
        live = self._auth.require(session, Operation.EXPORT_RECORDS)
        path = Path(path)
        refuse_existing(path, "batch record export")
        head: HeadStamp | None
        if fmt == "package":
            with self._auth.uow(write=False) as uow:
                at = uow.now()
            report: PackageReport = export_inspection_package(
                self._db, batch_id, path, live.user_id, at
            )
            extra: dict[str, Any] = {
                "events": report.events,
                "chain_head": report.chain_head_sha256,
                "site_key_fingerprint": report.key_fingerprint,
            }
            head = HeadStamp(report.events, report.chain_head_sha256, report.key_fingerprint)
        else:
            view = self.view(session, batch_id)
            write_new_file(path, render_record(view, fmt), "batch record export")
            extra, head = {}, view.head
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("batch", "export", batch_id, live.user_id, live.full_name,
                           new={"format": fmt, "file": path.name, "sha256": digest, **extra},
                           batch_id=batch_id)
            )  # fmt: skip
        return ExportResult(path, fmt, digest, head)
