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
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from printpharm import __version__
from printpharm.core.text import shown
from printpharm.errors import InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService, manifestation
from printpharm.services.access.site_trust import HeadStamp, head_stamp
from printpharm.services.records._batch_csv import CALIBRATION_NOT_RECORDED, record_to_csv
from printpharm.services.records.batches import batch_signable
from printpharm.services.records.content_uniformity import CuStatus, batch_qc, cu_status
from printpharm.services.records.files import refuse_existing, write_new_file
from printpharm.services.run.alarm_acks import BatchAlarm, batch_alarms
from printpharm.services.run.override_record import APPLIED as OVERRIDE_APPLIED
from printpharm.services.run.override_record import DoseOverride
from printpharm.services.run.preflight import simulated_weighing
from printpharm.services.run.result import NOT_FOR_PATIENT_USE
from printpharm.storage.audit import AuditEntry, AuditEvent, ChainReport, format_utc_ms
from printpharm.storage.batches import BatchRow, UnitReading
from printpharm.storage.content_uniformity import CuResult, CuSample
from printpharm.storage.db import Database
from printpharm.storage.export import PackageReport, export_inspection_package
from printpharm.storage.repositories import SignatureRecord, UnitOfWork

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
class UnitLine:
    """One unit as printed on the record: the stored reading and the run's verdict."""

    reading: UnitReading
    verdict: str
    deviation_pct: str | None
    tolerance_pct: str | None
    content_mg: str | None = None
    content_uncertainty_mg: str | None = None


@dataclass(frozen=True)
class SignatureLine:
    """A stored signature, its manifestation and whether it still matches the record."""

    signature: SignatureRecord
    text: str
    valid: bool
    problem: str | None


@dataclass(frozen=True)
class BatchRecordView:
    """Everything one batch record shows (see the module docstring)."""

    batch: BatchRow
    units: tuple[UnitLine, ...]
    alarms: tuple[dict[str, Any], ...]
    corrections: tuple[dict[str, Any], ...]
    result: dict[str, Any] | None
    signatures: tuple[SignatureLine, ...]
    events: tuple[AuditEvent, ...]
    changes: tuple[AuditEvent, ...]
    chain: ChainReport
    patient_use: bool
    patient_use_reason: str
    exported_by: str
    exported_at: str
    unaudited_units: tuple[int, ...] = ()
    cu: CuStatus | None = None
    dose_override: DoseOverride | None = None
    head: HeadStamp | None = None
    #: every alarm stored for the batch (warnings too) with its acknowledgement
    alarm_register: tuple[BatchAlarm, ...] = ()

    @property
    def unacknowledged_alarms(self) -> tuple[BatchAlarm, ...]:
        """The alarms nobody has acknowledged (review and release refuse the batch)."""
        return tuple(a for a in self.alarm_register if not a.acknowledged)

    @property
    def lot(self) -> dict[str, Any]:
        """The ink lot as recorded when the batch was printed (empty for older records)."""
        ink = (self.batch.details.get("recipe") or {}).get("ink") or {}
        return dict(ink.get("lot_record") or {})

    @property
    def calibration(self) -> dict[str, Any]:
        """The calibration the batch was planned with (empty for older records)."""
        return dict((self.batch.details.get("recipe") or {}).get("calibration") or {})

    @property
    def calibration_check(self) -> dict[str, Any] | None:
        """The weighed masses against the calibration (drift), as the run ended."""
        check = (self.result or {}).get("calibration_check")
        return dict(check) if check else None

    @property
    def qc(self) -> dict[str, Any]:
        """The batch's QC: the run's, completed by its content uniformity where needed.

        The verdict release judges (:func:`.content_uniformity.batch_qc`).
        """
        return batch_qc((self.result or {}).get("qc") or {}, self.cu)

    @property
    def changed_after_signing(self) -> bool:
        """Whether any signature no longer matches the record as it is now."""
        return any(not s.valid for s in self.signatures)

    @property
    def signing_statement(self) -> str:
        """The Annex 11 §8.2 sentence printed on the record."""
        if not self.signatures:
            return "Not signed yet."
        if self.changed_after_signing:
            bad = ", ".join(s.signature.meaning for s in self.signatures if not s.valid)
            return f"CHANGED AFTER SIGNING: the {bad} signature(s) no longer match the record."
        return "No data changed after signing: every signature matches the record."


@dataclass(frozen=True)
class ExportResult:
    """A written export: its file, format and SHA-256 (also in the audit trail)."""

    path: Path
    format: str
    sha256: str
    head: HeadStamp | None = None


def patient_use(row: BatchRow, events: Iterable[AuditEvent]) -> tuple[bool, str]:
    """Whether the batch may be given to a patient, and why (research-mode rule of §3).

    A batch weighed on the simulated balance, or sized with a calibration fitted on
    simulators (training only), never is. Otherwise a recorded
    library authorisation (``authorise`` event) decides; otherwise the
    run's preflight must show a locked recipe and a dose inside its range, and a
    research-mode batch needs a locked *library* recipe version.
    """
    simulated = simulated_weighing(row.details.get("preflight", []))
    if simulated:
        return False, simulated
    calibration = (row.details.get("recipe") or {}).get("calibration") or {}
    if calibration.get("simulated"):
        return False, f"{calibration.get('label')}: a simulator's fit never sizes a patient's dose"
    decisions = [e.new() for e in events if e.action == "authorise"]
    if decisions:
        last = decisions[-1]
        if last["patient_use"]:
            return True, (
                f"library versions {last['recipe_version']} and {last['ink_version']}, "
                f"dose {last['dose_mg']} mg inside the validated range ({last['mode']} mode)"
            )
        return False, "; ".join(last["problems"])
    checks = {c.get("name"): c for c in row.details.get("preflight", [])}
    lock, dose = checks.get("recipe_locked") or {}, checks.get("dose_range") or {}
    version = str((row.details.get("recipe") or {}).get("version", ""))
    if not (lock.get("passed") and dose.get("passed")):
        return False, "preflight did not confirm a locked recipe and a dose inside its range"
    if row.research_mode and not version.startswith("library:"):
        return False, "made in research mode without a locked library recipe version"
    if version.startswith("library:"):
        origin = f"locked library version {version.removeprefix('library:')}"
    else:
        origin = f"shipped recipe file {version[:19]}… treated as locked"
    return True, f"{origin}; {dose.get('detail', '')}"


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
    row = uow.batches.get(batch_id)
    if row is None:
        raise RecordError(f"batch {shown(batch_id)} does not exist")
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


# -- JSON ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_to_json(view: BatchRecordView) -> dict[str, Any]:
    """The record as JSON values: stored objects exactly (Decimals as strings), then derived."""
    out: dict[str, Any]
    batch = {f.name: getattr(view.batch, f.name) for f in fields(view.batch)}
    batch["units"] = [asdict(u) for u in view.batch.units]
    batch["cu_samples"] = [asdict(x) for x in view.batch.cu_samples]
    batch["cu_results"] = [asdict(x) for x in view.batch.cu_results]
    out = _plain(
        {
            "format": "printpharm-batch-record/1",
            "app_version": __version__,
            "exported_at": view.exported_at,
            "exported_by": view.exported_by,
            "batch": batch,
            "signatures": [
                {**asdict(s.signature), "manifestation": s.text, "valid": s.valid,
                 "problem": s.problem}
                for s in view.signatures
            ],
            "audit_events": [asdict(e) for e in view.events],
            "alarms": [_alarm_json(a) for a in view.alarm_register],
            "derived": {
                "patient_use": view.patient_use,
                "patient_use_label": "for patient use" if view.patient_use else NOT_FOR_PATIENT_USE,
                "patient_use_reason": view.patient_use_reason,
                "dose_override": None if view.dose_override is None
                else {**view.dose_override.to_record(),
                      "statement": view.dose_override.describe()},
                "unit_verdicts": {str(u.reading.unit_index): u.verdict for u in view.units},
                "unit_contents_mg": {str(u.reading.unit_index): u.content_mg for u in view.units},
                "ink_lot": view.lot,
                "calibration": view.calibration or CALIBRATION_NOT_RECORDED,
                "calibration_check": view.calibration_check,
                "content_uniformity": None if view.cu is None else {
                    "needed": view.cu.needed, "why": view.cu.why, "state": view.cu.state,
                    "text": view.cu.text()},
                "qc": view.qc,
                "result": view.result,
                "changed_after_signing": view.changed_after_signing,
                "signing_statement": view.signing_statement,
                "unacknowledged_alarms": [a.alarm_id for a in view.unacknowledged_alarms],
                "changes_after_entry": [e.seq for e in view.changes],
                "units_without_audit_event": list(view.unaudited_units),
                "audit_chain": {"ok": view.chain.ok, "events": view.chain.events,
                                "first_broken": None if view.chain.first_broken is None
                                else asdict(view.chain.first_broken),
                                "head": view.head.as_dict() if view.head else None},
            },
        }
    )  # fmt: skip
    return out


def _alarm_json(alarm: BatchAlarm) -> dict[str, Any]:
    out = {f.name: getattr(alarm, f.name) for f in fields(alarm) if f.name != "ack"}
    out["acknowledgement"] = None if alarm.ack is None else {
        **asdict(alarm.ack), "text": alarm.ack_text()}  # fmt: skip
    return out


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _required_when(value: Any) -> datetime:
    when = _when(value)
    if when is None:
        raise InputError("a content-uniformity entry has no time")
    return when


def record_from_json(
    data: dict[str, Any],
) -> tuple[BatchRow, list[SignatureRecord], list[AuditEvent]]:
    """Read an exported JSON record back into the stored objects (REC-01 round trip).

    Raises
    ------
    InputError
        Not a printpharm batch record.
    """
    if data.get("format") != "printpharm-batch-record/1":
        raise InputError(f"format {data.get('format')!r} is not printpharm-batch-record/1")
    b = dict(data["batch"])
    units = tuple(
        UnitReading(
            u["unit_index"], Decimal(u["target_mass_mg"]), _dec(u["raw_reading"]),
            u["reading_unit"], _when(u["reading_at"]), u["reading_stable"],
            u["capture_method"], _dec(u["flow_correction"]), u["raw_line"],
            _dec(u.get("e_scale")), u.get("correction_reason"), u.get("pressure"),
        )
        for u in b.pop("units")
    )  # fmt: skip
    samples = tuple(
        CuSample(x["stage"], tuple(x["units"]), x["seed"], x["selected_by"],
                 _required_when(x["selected_at"]))
        for x in b.pop("cu_samples", [])
    )  # fmt: skip
    results = tuple(
        CuResult(x["unit_index"], Decimal(x["content_pct"]), x["method"], x["entered_by"],
                 _required_when(x["entered_at"]), _dec(x["content_mg"]), x["analyst"])
        for x in b.pop("cu_results", [])
    )  # fmt: skip
    created_at = _when(b.pop("created_at"))
    assert created_at is not None
    row = BatchRow(
        **{**b, "target_dose_mg": Decimal(b["target_dose_mg"]), "created_at": created_at},
        units=units,
        cu_samples=samples,
        cu_results=results,
    )
    names = {f.name for f in fields(SignatureRecord)}
    sigs = [
        SignatureRecord(**{k: v for k, v in s.items() if k in names}) for s in data["signatures"]
    ]
    events = [AuditEvent(**e) for e in data["audit_events"]]
    return row, sigs, events


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
            write_new_file(path, _render(view, fmt), "batch record export")
            extra, head = {}, view.head
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("batch", "export", batch_id, live.user_id, live.full_name,
                           new={"format": fmt, "file": path.name, "sha256": digest, **extra},
                           batch_id=batch_id)
            )  # fmt: skip
        return ExportResult(path, fmt, digest, head)


def _render(view: BatchRecordView, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(record_to_json(view), indent=2, ensure_ascii=False) + "\n").encode()
    if fmt == "csv":
        return record_to_csv(view).encode("utf-8")
    from printpharm.services.records._batch_pdf import render_pdf

    return render_pdf(view)
