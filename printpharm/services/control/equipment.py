"""The equipment register: printers, print heads and balances, their qualification and upkeep.

Each device has the site's asset tag, its identity as the device reports it
(printer M115 ``UUID``, ``MACHINE_TYPE`` and ``FIRMWARE_NAME``; balance ``I4``
serial number and ``I2`` model), its location and, for print heads, the printer
it is mounted on. Qualification stages (IQ, OQ, PQ), a return to service and a
retirement are approved by electronic signature (meaning ``approved``, a
pharmacist); calibrations, maintenance and taking a device out of service are
recorded with the person and audited. :mod:`printpharm.services.control.equipment_status`
judges from these records whether a device may be used today.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from printpharm.errors import InputError, PermissionDenied, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation, is_allowed
from printpharm.services.access.signatures import Meaning, RecordsService, SignableRecord
from printpharm.services.control.equipment_status import (
    QUALIFICATION_STAGES,
    EquipmentStatus,
    Intervals,
    judge_status,
)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import DeviceRow
from printpharm.storage.equipment import DEVICE_KINDS, EquipmentEventRecord
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "MAINTENANCE_KINDS",
    "EquipmentView",
    "add_equipment",
    "due_report",
    "find_device",
    "list_equipment",
    "qualify",
    "record_maintenance",
    "reinstate",
    "retire",
    "suspend",
    "view_device",
]

#: Records ``printpharm equipment maintain`` takes.
MAINTENANCE_KINDS = ("calibration", "maintenance")


@dataclass(frozen=True)
class EquipmentView:
    """A device with its records and its status today."""

    device: DeviceRow
    status: EquipmentStatus
    events: tuple[EquipmentEventRecord, ...]


def find_device(uow: UnitOfWork, asset_tag: str) -> DeviceRow:
    """The registered device with ``asset_tag``.

    Raises
    ------
    InputError
        No device has that tag.
    """
    device_id = uow.equipment.by_tag(asset_tag.strip())
    row = None if device_id is None else uow.devices.by_id(device_id)
    if row is None:
        raise InputError(
            f"no equipment with asset tag {asset_tag!r}; see `printpharm equipment list`"
        )
    return row


def view_device(uow: UnitOfWork, row: DeviceRow, today: date | None = None) -> EquipmentView:
    """``row`` with its events and its status on ``today`` (default: the clock's day)."""
    events = tuple(uow.equipment_events.for_device(row.id))
    day = today or uow.now().date()
    return EquipmentView(row, judge_status(row, events, Intervals.from_settings(uow), day), events)


def _audit(uow: UnitOfWork, live: UserSession, action: str, tag: str, **kw: Any) -> None:
    uow.audit.append(AuditEntry("equipment", action, tag, live.user_id, live.full_name, **kw))


def add_equipment(
    auth: AuthService,
    session: UserSession,
    kind: str,
    asset_tag: str,
    serial_number: str,
    model: str,
    *,
    firmware: str | None = None,
    location: str | None = None,
    printer_type: str | None = None,
    mounted_on: str | None = None,
) -> EquipmentView:
    """Register a printer, print head or balance (audited); it is not qualified yet.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not manage equipment.
    InputError
        Unknown kind, missing tag/serial/model, or a print head mounted on no registered printer.
    RecordError
        The asset tag or the serial number is registered already.
    """
    live = auth.require(session, Operation.MANAGE_EQUIPMENT)
    if kind not in DEVICE_KINDS:
        raise InputError(f"equipment kind {kind!r} is not one of {list(DEVICE_KINDS)}")
    if not model.strip():
        raise InputError("equipment needs its model (printer: M115 MACHINE_TYPE; balance: I2)")
    if mounted_on and kind != "print_head":
        raise InputError("only a print head is mounted on a printer")
    with auth.uow() as uow:
        if mounted_on and find_device(uow, mounted_on).kind != "printer":
            raise InputError(f"{mounted_on} is not a registered printer")
        fields = {
            "model": model.strip(),
            "firmware": (firmware or "").strip() or None,
            "location": (location or "").strip() or None,
            "printer_type": (printer_type or "").strip() or None,
            "mounted_on": (mounted_on or "").strip() or None,
        }
        device_id = uow.equipment.add(
            kind, serial_number.strip(), asset_tag.strip(), uow.now(), **fields
        )
        _audit(
            uow,
            live,
            "register",
            asset_tag.strip(),
            new={"kind": kind, "serial_number": serial_number.strip(), **fields},
        )
        row = uow.devices.by_id(device_id)
        assert row is not None
        return view_device(uow, row)


def _not_future(uow: UnitOfWork, day: date, what: str) -> None:
    if day > uow.now().date():
        raise InputError(f"{what} date {day} is in the future")


def _signed_event(
    auth: AuthService,
    records: RecordsService,
    session: UserSession,
    asset_tag: str,
    kind: str,
    performed_on: date,
    document_ref: str,
    password: str,
    change: Callable[[UnitOfWork, DeviceRow], None] | None = None,
) -> EquipmentView:
    """Store an equipment event approved by the session user's e-signature, atomically."""
    live = auth.check(session)
    with auth.uow(write=False) as uow:
        row = find_device(uow, asset_tag)
        _not_future(uow, performed_on, kind)
        version = len(uow.equipment_events.for_device(row.id)) + 1
    content = {
        "asset_tag": row.asset_tag,
        "kind": row.kind,
        "serial_number": row.serial_number,
        "event": kind,
        "performed_on": performed_on,
        "document_ref": document_ref,
    }
    record = SignableRecord("equipment", str(row.asset_tag), version, content)

    def store(uow: UnitOfWork) -> None:
        signature = uow.signatures.for_record("equipment", str(row.asset_tag))[-1]
        uow.equipment_events.add(
            row.id,
            kind,
            performed_on,
            document_ref,
            live.user_id,
            uow.now(),
            signature_id=signature.id,
        )
        if change is not None:
            change(uow, row)
        _audit(uow, live, kind.lower(), str(row.asset_tag), reason=document_ref, new=content)

    comment = f"{kind} of {row.asset_tag} approved: {document_ref}"
    records.sign(session, record, Meaning.APPROVED, live.user_id, password, comment, then=store)
    with auth.uow(write=False) as uow:
        return view_device(uow, find_device(uow, asset_tag))


def qualify(
    auth: AuthService,
    records: RecordsService,
    session: UserSession,
    asset_tag: str,
    stage: str,
    performed_on: date,
    document_ref: str,
    password: str,
) -> EquipmentView:
    """Approve a qualification stage (IQ, OQ or PQ) by e-signature (a pharmacist signs).

    Raises
    ------
    InputError
        Unknown tag, a stage the kind does not have, no document reference, a future date.
    PermissionDenied, SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
        As :meth:`RecordsService.sign` raises them (administrators cannot sign).
    """
    with auth.uow(write=False) as uow:
        kind = find_device(uow, asset_tag).kind
    stages = QUALIFICATION_STAGES[kind]
    if stage.upper() not in stages:
        raise InputError(f"a {kind} is qualified by {', '.join(stages)}; {stage!r} is not one")
    if not document_ref.strip():
        raise InputError(f"{stage.upper()} needs the reference of its protocol/report")
    return _signed_event(
        auth,
        records,
        session,
        asset_tag,
        stage.upper(),
        performed_on,
        document_ref.strip(),
        password,
    )


def record_maintenance(
    auth: AuthService,
    session: UserSession,
    asset_tag: str,
    kind: str,
    performed_on: date,
    document_ref: str,
    notes: str | None = None,
) -> EquipmentView:
    """Record a calibration or a preventive maintenance (audited).

    A balance's calibration is also its register calibration date.

    Raises
    ------
    InputError
        Unknown tag or kind, no certificate/report reference, a future date.
    PermissionDenied, SessionExpired
        The role may not manage equipment.
    """
    live = auth.require(session, Operation.MANAGE_EQUIPMENT)
    if kind not in MAINTENANCE_KINDS:
        raise InputError(f"maintenance kind {kind!r} is not one of {list(MAINTENANCE_KINDS)}")
    if not document_ref.strip():
        raise InputError(f"a {kind} needs the reference of its certificate or report")
    with auth.uow() as uow:
        row = find_device(uow, asset_tag)
        _not_future(uow, performed_on, kind)
        if kind == "calibration" and row.kind == "print_head":
            raise InputError("print heads are not calibrated; record their maintenance")
        uow.equipment_events.add(
            row.id, kind, performed_on, document_ref.strip(), live.user_id, uow.now(), notes=notes
        )
        if kind == "calibration" and (
            row.calibration_date is None or performed_on > row.calibration_date
        ):
            uow.equipment.update(row.id, calibration_date=performed_on)
        _audit(
            uow,
            live,
            kind,
            str(row.asset_tag),
            reason=notes,
            new={"performed_on": performed_on, "document_ref": document_ref.strip()},
        )
        return view_device(uow, find_device(uow, asset_tag))


def suspend(auth: AuthService, session: UserSession, asset_tag: str, reason: str) -> EquipmentView:
    """Take a device out of service (anyone who uses or manages equipment; audited).

    Raises
    ------
    InputError
        Unknown tag, no reason, or the device is retired.
    PermissionDenied, SessionExpired
        The role neither manages nor cleans equipment.
    """
    live = auth.check(session)
    if not (
        is_allowed(live.role, Operation.MANAGE_EQUIPMENT)
        or is_allowed(live.role, Operation.CLEAN_EQUIPMENT)
    ):
        raise PermissionDenied(f"{live.role} may not take equipment out of service")
    if not reason.strip():
        raise InputError("taking equipment out of service needs a reason")
    with auth.uow() as uow:
        row = find_device(uow, asset_tag)
        if row.status == "retired":
            raise InputError(f"{asset_tag} is retired")
        uow.equipment.update(row.id, status="out_of_service", status_reason=reason.strip())
        uow.equipment_events.add(
            row.id, "out_of_service", uow.now().date(), reason.strip(), live.user_id, uow.now()
        )
        _audit(
            uow,
            live,
            "out-of-service",
            str(row.asset_tag),
            reason=reason.strip(),
            old={"status": row.status},
            new={"status": "out_of_service"},
        )
        return view_device(uow, find_device(uow, asset_tag))


def _status_change(status: str, reason: str) -> Callable[[UnitOfWork, DeviceRow], None]:
    def change(uow: UnitOfWork, row: DeviceRow) -> None:
        if row.status == "retired":
            raise RecordError(f"{row.asset_tag} is retired; a retirement is final")
        uow.equipment.update(row.id, status=status, status_reason=reason)

    return change


def reinstate(
    auth: AuthService,
    records: RecordsService,
    session: UserSession,
    asset_tag: str,
    reason: str,
    password: str,
) -> EquipmentView:
    """Return a device to service, approved by e-signature (a pharmacist signs).

    Raises
    ------
    InputError, RecordError
        Unknown tag, no reason, the device is in service already or retired.
    PermissionDenied, SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
        As :meth:`RecordsService.sign` raises them.
    """
    if not reason.strip():
        raise InputError("a return to service needs a reason (what was fixed, checked)")
    with auth.uow(write=False) as uow:
        if find_device(uow, asset_tag).status == "in_service":
            raise InputError(f"{asset_tag} is in service already")
        today = uow.now().date()
    return _signed_event(
        auth,
        records,
        session,
        asset_tag,
        "return_to_service",
        today,
        reason.strip(),
        password,
        _status_change("in_service", reason.strip()),
    )


def retire(
    auth: AuthService,
    records: RecordsService,
    session: UserSession,
    asset_tag: str,
    reason: str,
    password: str,
) -> EquipmentView:
    """Retire a device for good, approved by e-signature (its records stay).

    Raises
    ------
    InputError, RecordError
        Unknown tag, no reason, or retired already.
    PermissionDenied, SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
        As :meth:`RecordsService.sign` raises them.
    """
    if not reason.strip():
        raise InputError("a retirement needs a reason")
    with auth.uow(write=False) as uow:
        today = uow.now().date()
    return _signed_event(
        auth,
        records,
        session,
        asset_tag,
        "retired",
        today,
        reason.strip(),
        password,
        _status_change("retired", reason.strip()),
    )


def list_equipment(
    auth: AuthService, session: UserSession, kind: str | None = None
) -> list[EquipmentView]:
    """Every registered device (optionally of one kind) with its status today.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        rows = [uow.devices.by_id(i) for i in uow.equipment.ids(kind)]
        return [view_device(uow, r) for r in rows if r is not None]


def due_report(uow: UnitOfWork) -> list[EquipmentView]:
    """Every device that is not simply ``qualified`` today (due soon or out of service).

    Retired devices are left out: nothing is due on them any more.
    """
    views = []
    for device_id in uow.equipment.ids():
        row = uow.devices.by_id(device_id)
        if row is None or row.status == "retired":
            continue
        view = view_device(uow, row)
        if view.status.state != "qualified":
            views.append(view)
    return views
