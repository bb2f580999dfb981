"""The equipment register's records as plain dataclasses: events, check weights, checks, cleaning.

Qualification/calibration/maintenance events, balance checks and cleaning
records are append-only (the database refuses UPDATE and DELETE on them); a
device's status and a check weight's certificate change in place, each change
audited by the services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.errors import InputError, RecordError
from printpharm.storage.canonical import canonical_json
from printpharm.storage.tables import (
    BalanceCheck,
    CheckWeight,
    CleaningRecord,
    Device,
    EquipmentEvent,
)

__all__ = [
    "DEVICE_KINDS",
    "BalanceCheckRecord",
    "BalanceCheckRepository",
    "CheckWeightRecord",
    "CheckWeightRepository",
    "CleaningEntry",
    "CleaningRepository",
    "EquipmentEventRecord",
    "EquipmentEventRepository",
    "EquipmentRepository",
]

#: Kinds of equipment in the register.
DEVICE_KINDS = ("printer", "print_head", "balance")


@dataclass(frozen=True)
class EquipmentEventRecord:
    """A qualification stage (IQ/OQ/PQ), calibration, maintenance or status change of a device."""

    id: int
    device_id: int
    kind: str
    performed_on: date
    document_ref: str
    notes: str | None
    recorded_by: str
    recorded_at: datetime
    signature_id: int | None = None


@dataclass(frozen=True)
class CheckWeightRecord:
    """A certified check weight: nominal and conventional mass, uncertainty, certificate."""

    weight_id: str
    nominal_g: Decimal
    conventional_mass_g: Decimal
    uncertainty_mg: Decimal
    weight_class: str
    certificate: str
    certificate_expiry: date
    registered_by: str
    registered_at: datetime


@dataclass(frozen=True)
class BalanceCheckRecord:
    """A stored routine balance check (readings as exact decimal text)."""

    id: int
    device_id: int
    checked_at: datetime
    checked_by: str
    weight: dict[str, Any]
    readings: dict[str, Any]
    result: dict[str, Any]
    passed: bool
    minimum_weight_mg: Decimal


@dataclass(frozen=True)
class CleaningEntry:
    """One cleaning of a printer or print head."""

    id: int
    device_id: int
    cleaned_at: datetime
    cleaned_by: str
    method_sop: str
    parts: str
    cytotoxic: bool
    checked_by: str | None = None
    notes: str | None = None


class EquipmentRepository:
    """Register fields of devices beyond identity: asset tag, location, status, mounting."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, device_id: int) -> Device:
        row = self._s.get(Device, device_id)
        if row is None:
            raise RecordError(f"device {device_id} does not exist")
        return row

    def by_tag(self, asset_tag: str) -> int | None:
        """The id of the device with ``asset_tag``, or ``None``."""
        return self._s.scalar(select(Device.id).where(Device.asset_tag == asset_tag))

    def add(
        self, kind: str, serial_number: str, asset_tag: str, at: datetime, **fields: Any
    ) -> int:
        """Register a new device and return its id.

        Raises
        ------
        InputError
            Unknown kind, empty serial number or asset tag.
        RecordError
            The asset tag, or the kind and serial number, are registered already.
        """
        if kind not in DEVICE_KINDS:
            raise InputError(f"equipment kind {kind!r} is not one of {list(DEVICE_KINDS)}")
        if not serial_number.strip() or not asset_tag.strip():
            raise InputError("equipment needs a serial number and an asset tag")
        if self.by_tag(asset_tag) is not None:
            raise RecordError(f"asset tag {asset_tag!r} is registered already")
        taken = self._s.scalar(
            select(Device.asset_tag).where(
                Device.kind == kind, Device.serial_number == serial_number
            )
        )
        if taken is not None:
            raise RecordError(
                f"{kind} with serial number {serial_number!r} is registered already as {taken}"
            )
        row = Device(
            kind=kind,
            serial_number=serial_number,
            asset_tag=asset_tag,
            registered_at=at,
            status="in_service",
            **fields,
        )
        self._s.add(row)
        self._s.flush()
        return row.id

    def update(self, device_id: int, **fields: Any) -> None:
        """Change register fields (status, status_reason, location, firmware, mounted_on, ...)."""
        row = self._row(device_id)
        for name, value in fields.items():
            if not hasattr(Device, name) or name in ("id", "kind", "registered_at"):
                raise InputError(f"device field {name!r} cannot be changed")
            setattr(row, name, value)
        self._s.flush()

    def fields(self, device_id: int) -> dict[str, Any]:
        """Every column of a device as a plain dict."""
        row = self._row(device_id)
        return {c.name: getattr(row, c.name) for c in Device.__table__.columns}

    def ids(self, kind: str | None = None) -> list[int]:
        """Device ids by asset tag (optionally of one kind)."""
        stmt = select(Device.id).order_by(Device.asset_tag, Device.id)
        if kind is not None:
            stmt = stmt.where(Device.kind == kind)
        return list(self._s.scalars(stmt))

    def mounted_on(self, printer_tag: str) -> list[int]:
        """Ids of the print heads mounted on the printer ``printer_tag``."""
        stmt = select(Device.id).where(Device.mounted_on == printer_tag).order_by(Device.asset_tag)
        return list(self._s.scalars(stmt))


class EquipmentEventRepository:
    """Qualification, calibration and maintenance records (append-only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        device_id: int,
        kind: str,
        performed_on: date,
        document_ref: str,
        recorded_by: str,
        recorded_at: datetime,
        notes: str | None = None,
        signature_id: int | None = None,
    ) -> EquipmentEventRecord:
        """Store one event and return it."""
        row = EquipmentEvent(
            device_id=device_id,
            kind=kind,
            performed_on=performed_on,
            document_ref=document_ref,
            notes=notes,
            recorded_by=recorded_by,
            recorded_at=recorded_at,
            signature_id=signature_id,
        )
        self._s.add(row)
        self._s.flush()
        return _event(row)

    def for_device(self, device_id: int) -> list[EquipmentEventRecord]:
        """Every event of a device, oldest first."""
        stmt = (
            select(EquipmentEvent)
            .where(EquipmentEvent.device_id == device_id)
            .order_by(EquipmentEvent.performed_on, EquipmentEvent.id)
        )
        return [_event(r) for r in self._s.scalars(stmt)]


def _event(row: EquipmentEvent) -> EquipmentEventRecord:
    return EquipmentEventRecord(
        row.id,
        row.device_id,
        row.kind,
        row.performed_on,
        row.document_ref,
        row.notes,
        row.recorded_by,
        row.recorded_at,
        row.signature_id,
    )


class CheckWeightRepository:
    """Certified check weights by the site's weight id."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def put(self, record: CheckWeightRecord) -> CheckWeightRecord | None:
        """Store a weight (or its new certificate); return the previous record, if any."""
        row = self._s.get(CheckWeight, record.weight_id)
        before = None if row is None else _weight(row)
        if row is None:
            row = CheckWeight(weight_id=record.weight_id)
            self._s.add(row)
        for name, value in record.__dict__.items():
            setattr(row, name, value)
        self._s.flush()
        return before

    def get(self, weight_id: str) -> CheckWeightRecord | None:
        """One weight, or ``None``."""
        row = self._s.get(CheckWeight, weight_id)
        return None if row is None else _weight(row)

    def all(self) -> list[CheckWeightRecord]:
        """Every weight, by id."""
        return [
            _weight(r) for r in self._s.scalars(select(CheckWeight).order_by(CheckWeight.weight_id))
        ]


def _weight(row: CheckWeight) -> CheckWeightRecord:
    return CheckWeightRecord(
        row.weight_id,
        row.nominal_g,
        row.conventional_mass_g,
        row.uncertainty_mg,
        row.weight_class,
        row.certificate,
        row.certificate_expiry,
        row.registered_by,
        row.registered_at,
    )


class BalanceCheckRepository:
    """Routine balance checks (append-only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        device_id: int,
        checked_at: datetime,
        checked_by: str,
        weight: dict[str, Any],
        readings: dict[str, Any],
        result: dict[str, Any],
        passed: bool,
        minimum_weight_mg: Decimal,
    ) -> BalanceCheckRecord:
        """Store a check and return it."""
        row = BalanceCheck(
            device_id=device_id,
            checked_at=checked_at,
            checked_by=checked_by,
            weight_json=canonical_json(weight),
            readings_json=canonical_json(readings),
            result_json=canonical_json(result),
            passed=passed,
            minimum_weight_mg=minimum_weight_mg,
        )
        self._s.add(row)
        self._s.flush()
        return _check(row)

    def latest(self, device_id: int, passed_only: bool = False) -> BalanceCheckRecord | None:
        """The newest check of a balance (optionally the newest that passed)."""
        stmt = select(BalanceCheck).where(BalanceCheck.device_id == device_id)
        if passed_only:
            stmt = stmt.where(BalanceCheck.passed.is_(True))
        row = self._s.scalars(
            stmt.order_by(BalanceCheck.checked_at.desc(), BalanceCheck.id.desc())
        ).first()
        return None if row is None else _check(row)

    def for_device(self, device_id: int, limit: int = 50) -> list[BalanceCheckRecord]:
        """The newest checks of a balance, newest first."""
        stmt = (
            select(BalanceCheck)
            .where(BalanceCheck.device_id == device_id)
            .order_by(BalanceCheck.checked_at.desc(), BalanceCheck.id.desc())
            .limit(limit)
        )
        return [_check(r) for r in self._s.scalars(stmt)]


def _check(row: BalanceCheck) -> BalanceCheckRecord:
    return BalanceCheckRecord(
        row.id,
        row.device_id,
        row.checked_at,
        row.checked_by,
        json.loads(row.weight_json),
        json.loads(row.readings_json),
        json.loads(row.result_json),
        row.passed,
        row.minimum_weight_mg,
    )


class CleaningRepository:
    """The cleaning log of printers and print heads (append-only)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        device_id: int,
        cleaned_at: datetime,
        cleaned_by: str,
        method_sop: str,
        parts: str,
        cytotoxic: bool,
        checked_by: str | None = None,
        notes: str | None = None,
    ) -> CleaningEntry:
        """Store one cleaning and return it."""
        row = CleaningRecord(
            device_id=device_id,
            cleaned_at=cleaned_at,
            cleaned_by=cleaned_by,
            method_sop=method_sop,
            parts=parts,
            cytotoxic=cytotoxic,
            checked_by=checked_by,
            notes=notes,
        )
        self._s.add(row)
        self._s.flush()
        return _cleaning(row)

    def for_device(self, device_id: int, since: datetime | None = None) -> list[CleaningEntry]:
        """Cleanings of a device (optionally after ``since``), oldest first."""
        stmt = select(CleaningRecord).where(CleaningRecord.device_id == device_id)
        if since is not None:
            stmt = stmt.where(CleaningRecord.cleaned_at > since)
        stmt = stmt.order_by(CleaningRecord.cleaned_at, CleaningRecord.id)
        return [_cleaning(r) for r in self._s.scalars(stmt)]


def _cleaning(row: CleaningRecord) -> CleaningEntry:
    return CleaningEntry(
        row.id,
        row.device_id,
        row.cleaned_at,
        row.cleaned_by,
        row.method_sop,
        row.parts,
        row.cytotoxic,
        row.checked_by,
        row.notes,
    )
