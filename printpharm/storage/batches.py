"""Batch records, their units and the registered devices, as plain dataclasses.

A batch row holds the key facts (target dose, planned units, status, version,
research mode) and the run's details as canonical JSON; each unit keeps its
target, the raw balance line, the parsed reading with its unit and time, and
the flow correction it was printed with (REC-06: raw data retained).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from printpharm.core.text import shown
from printpharm.errors import InputError, RecordError
from printpharm.storage.canonical import canonical_json
from printpharm.storage.content_uniformity import CuRepository, CuResult, CuSample
from printpharm.storage.tables import Batch, Device, Unit

__all__ = [
    "BATCH_STATUSES",
    "BatchRepository",
    "BatchRow",
    "DeviceRepository",
    "DeviceRow",
    "UnitReading",
]

#: Allowed batch statuses and the statuses each may move to.
BATCH_STATUSES: dict[str, frozenset[str]] = {
    "planned": frozenset({"printing", "stopped"}),
    "printing": frozenset({"completed", "stopped", "interrupted"}),
    "completed": frozenset({"released", "rejected"}),
    "stopped": frozenset({"rejected"}),
    "interrupted": frozenset({"rejected"}),
    "released": frozenset(),
    "rejected": frozenset(),
}


@dataclass(frozen=True)
class UnitReading:
    """One unit: target ink mass, the balance reading as captured, and the flow used.

    ``flow_correction`` is the firmware flow factor (M221, %); ``e_scale`` the
    material factor the unit's G-code was printed with (1 = as planned) and
    ``correction_reason`` the flow controller's reason for it. ``pressure`` is the
    unit's extrusion-pressure log (kPa reports, min/mean/max, the ink's limits)
    where the head reports it, stored as canonical JSON (numbers as exact text).
    """

    unit_index: int
    target_mass_mg: Decimal
    raw_reading: Decimal | None = None
    reading_unit: str | None = None
    reading_at: datetime | None = None
    reading_stable: bool | None = None
    capture_method: str | None = None
    flow_correction: Decimal | None = None
    raw_line: str | None = None
    e_scale: Decimal | None = None
    correction_reason: str | None = None
    pressure: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchRow:
    """A batch record with its units in print order."""

    batch_id: str
    target_dose_mg: Decimal
    units_count: int
    status: str
    version: int
    research_mode: bool
    created_by: str
    created_at: datetime
    status_reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    units: tuple[UnitReading, ...] = ()
    cu_samples: tuple[CuSample, ...] = ()
    cu_results: tuple[CuResult, ...] = ()


class BatchRepository:
    """Batches and units (no deletion; each recorded unit increases the content version)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def create(
        self,
        batch_id: str,
        target_dose_mg: Decimal,
        units_count: int,
        created_by: str,
        created_at: datetime,
        research_mode: bool = False,
        details: dict[str, Any] | None = None,
        ink_lot_id: int | None = None,
        printer_id: int | None = None,
        balance_id: int | None = None,
    ) -> BatchRow:
        """Create a batch in status ``planned`` (``ink_lot_id``: the lot it is printed from;
        ``printer_id``/``balance_id``: the registered devices, if any).

        Raises
        ------
        RecordError
            The batch ID exists already (records are never overwritten).
        """
        if self._s.get(Batch, batch_id) is not None:
            raise RecordError(f"batch {batch_id!r} exists already; records are never overwritten")
        self._s.add(
            Batch(
                batch_id=batch_id,
                target_dose_mg=target_dose_mg,
                units_count=units_count,
                status="planned",
                version=1,
                research_mode=research_mode,
                created_by=created_by,
                created_at=created_at,
                details_json=canonical_json(details or {}),
                ink_lot_id=ink_lot_id,
                printer_id=printer_id,
                balance_id=balance_id,
            )
        )
        self._s.flush()
        row = self.get(batch_id)
        assert row is not None
        return row

    def add_unit(self, batch_id: str, reading: UnitReading) -> None:
        """Record one unit of ``batch_id``.

        Raises
        ------
        RecordError
            No such batch, or the unit index is recorded already.
        """
        batch = self._s.get(Batch, batch_id)
        if batch is None:
            raise RecordError(f"batch {batch_id!r} does not exist")
        if batch.status in ("released", "rejected"):
            raise RecordError(f"batch {batch_id!r} is {batch.status}; its units are final")
        existing = self._s.scalar(
            select(Unit.id).where(Unit.batch_id == batch_id, Unit.unit_index == reading.unit_index)
        )
        if existing is not None:
            raise RecordError(f"unit {reading.unit_index} of batch {batch_id!r} exists already")
        values = dict(reading.__dict__)
        pressure = values.pop("pressure")
        pressure_json = None if pressure is None else canonical_json(pressure)
        self._s.add(Unit(batch_id=batch_id, **values, pressure_json=pressure_json))
        batch.version += 1
        self._s.flush()

    def set_status(self, batch_id: str, status: str, reason: str | None = None) -> BatchRow:
        """Move a batch to ``status`` (see :data:`BATCH_STATUSES`).

        The status is not content: the version (which counts content changes, and
        which signatures bind to) stays; the audit trail keeps every status change.

        Raises
        ------
        RecordError
            No such batch, or the move is not allowed from its current status.
        """
        batch = self._s.get(Batch, batch_id)
        if batch is None:
            raise RecordError(f"batch {batch_id!r} does not exist")
        if status not in BATCH_STATUSES.get(batch.status, frozenset()):
            raise RecordError(f"batch {batch_id!r} cannot go from {batch.status} to {status}")
        batch.status, batch.status_reason = status, reason
        self._s.flush()
        row = self.get(batch_id)
        assert row is not None
        return row

    def require(self, batch_id: str) -> BatchRow:
        """Return a batch with its units.

        Raises
        ------
        RecordError
            No such batch (the one message every service gives for it).
        """
        row = self.get(batch_id)
        if row is None:
            raise RecordError(f"batch {shown(batch_id)} does not exist")
        return row

    def get(self, batch_id: str) -> BatchRow | None:
        """Return a batch with its units, or ``None``."""
        batch = self._s.get(Batch, batch_id)
        if batch is None:
            return None
        units = self._s.scalars(
            select(Unit).where(Unit.batch_id == batch_id).order_by(Unit.unit_index)
        )
        cu = CuRepository(self._s)
        return BatchRow(
            batch.batch_id,
            batch.target_dose_mg,
            batch.units_count,
            batch.status,
            batch.version,
            batch.research_mode,
            batch.created_by,
            batch.created_at,
            batch.status_reason,
            json.loads(batch.details_json or "{}"),
            tuple(_reading(u) for u in units),
            cu.samples(batch_id),
            cu.results(batch_id),
        )

    def last_on_printer(self, printer_id: int) -> BatchRow | None:
        """The newest batch printed on the registered printer ``printer_id``, or ``None``."""
        stmt = (
            select(Batch.batch_id)
            .where(Batch.printer_id == printer_id)
            .order_by(Batch.created_at.desc(), Batch.batch_id.desc())
        )
        batch_id = self._s.scalars(stmt).first()
        return None if batch_id is None else self.get(batch_id)

    def ids(self, status: str | None = None) -> list[str]:
        """Return batch IDs, newest first, optionally only those in ``status``."""
        stmt = select(Batch.batch_id).order_by(Batch.created_at.desc(), Batch.batch_id)
        if status is not None:
            stmt = stmt.where(Batch.status == status)
        return list(self._s.scalars(stmt))


def _reading(unit: Unit) -> UnitReading:
    return UnitReading(
        unit.unit_index,
        unit.target_mass_mg,
        unit.raw_reading,
        unit.reading_unit,
        unit.reading_at,
        unit.reading_stable,
        unit.capture_method,
        unit.flow_correction,
        unit.raw_line,
        unit.e_scale,
        unit.correction_reason,
        None if unit.pressure_json is None else json.loads(unit.pressure_json),
    )


@dataclass(frozen=True)
class DeviceRow:
    """A registered printer, print head or balance: identity, asset tag, status.

    ``calibration_date`` is the last calibration (a balance's, or a printer's);
    ``status`` is ``in_service``, ``out_of_service`` or ``retired``.
    """

    id: int
    kind: str
    serial_number: str
    model: str | None
    firmware: str | None
    calibration_date: date | None
    registered_at: datetime
    asset_tag: str | None = None
    location: str | None = None
    status: str = "in_service"
    status_reason: str | None = None
    printer_type: str | None = None
    mounted_on: str | None = None


class DeviceRepository:
    """Registered printers and balances, identified by kind and serial number."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def register(
        self,
        kind: str,
        serial_number: str,
        at: datetime,
        model: str | None = None,
        firmware: str | None = None,
        calibration_date: date | None = None,
    ) -> DeviceRow:
        """Register a device, or update the firmware/calibration of a known one.

        Raises
        ------
        InputError
            ``kind`` is not ``printer`` or ``balance``, or the serial number is empty.
        """
        if kind not in ("printer", "print_head", "balance") or not serial_number.strip():
            raise InputError(f"device kind {kind!r} / serial {serial_number!r} not acceptable")
        row = self._s.scalars(
            select(Device).where(Device.kind == kind, Device.serial_number == serial_number)
        ).first()
        if row is None:
            # without an asset tag of its own, the serial number (prefixed by the kind if
            # another device already has it as tag) labels the device in the register
            taken = self._s.scalar(select(Device.id).where(Device.asset_tag == serial_number))
            tag = serial_number if taken is None else f"{kind}:{serial_number}"
            row = Device(kind=kind, serial_number=serial_number, registered_at=at, asset_tag=tag)
            self._s.add(row)
        row.model = model or row.model
        row.firmware = firmware or row.firmware
        row.calibration_date = calibration_date or row.calibration_date
        self._s.flush()
        return _device(row)

    def get(self, kind: str, serial_number: str) -> DeviceRow | None:
        """Return a registered device or ``None``."""
        row = self._s.scalars(
            select(Device).where(Device.kind == kind, Device.serial_number == serial_number)
        ).first()
        return None if row is None else _device(row)

    def by_id(self, device_id: int) -> DeviceRow | None:
        """Return a registered device by its id, or ``None``."""
        row = self._s.get(Device, device_id)
        return None if row is None else _device(row)

    def all(self, kind: str) -> list[DeviceRow]:
        """Every registered device of ``kind``, by serial number."""
        rows = self._s.scalars(
            select(Device).where(Device.kind == kind).order_by(Device.serial_number)
        )
        return [_device(row) for row in rows]


def _device(row: Device) -> DeviceRow:
    return DeviceRow(
        row.id,
        row.kind,
        row.serial_number,
        row.model,
        row.firmware,
        row.calibration_date,
        row.registered_at,
        row.asset_tag,
        row.location,
        row.status or "in_service",
        row.status_reason,
        row.printer_type,
        row.mounted_on,
    )
