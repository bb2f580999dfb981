"""A batch record as JSON and back: stored values exactly (Decimals as strings), then derived.

:func:`record_from_json` reads an export back into the stored objects (REC-01).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from printpharm import __version__
from printpharm.errors import InputError
from printpharm.services.records._batch_csv import CALIBRATION_NOT_RECORDED
from printpharm.services.records.record_view import BatchRecordView
from printpharm.services.run.alarm_acks import BatchAlarm
from printpharm.services.run.result import NOT_FOR_PATIENT_USE
from printpharm.storage.audit import AuditEvent
from printpharm.storage.batches import BatchRow, UnitReading
from printpharm.storage.content_uniformity import CuResult, CuSample
from printpharm.storage.signatures import SignatureRecord

__all__ = ["record_from_json", "record_to_json"]


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
