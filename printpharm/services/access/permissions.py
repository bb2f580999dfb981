"""Roles, operations and the one permission table (role → allowed operations).

Every service checks this table (through :meth:`AuthService.require`), so the
command line and the desktop application obey exactly the same rules.
Segregation of duties is part of the table: administrators hold no signing
or release operation, inspectors hold only read operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "PERMISSIONS",
    "READ_OPERATIONS",
    "Operation",
    "Role",
    "is_allowed",
    "sign_operation",
]


class Role(StrEnum):
    """The four roles of printpharm."""

    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    INSPECTOR = "inspector"


class Operation(StrEnum):
    """Every operation a service guards."""

    ENTER_PRESCRIPTION = "prescription.enter"
    VERIFY_PRESCRIPTION = "prescription.verify"
    OVERRIDE_DOSE = "dose.override"
    CALCULATE_DOSE = "dose.calculate"
    RUN_PRINT = "print.run"
    WEIGH_UNITS = "units.weigh"
    ACKNOWLEDGE_ALARM = "alarms.acknowledge"
    #: Alarms of no batch (a lockout, a broken audit chain, break-glass): supervisor, administrator.
    ACKNOWLEDGE_STATION_ALARM = "alarms.acknowledge_station"
    EVALUATE_QC = "qc.evaluate"
    EDIT_LIBRARY = "library.edit"
    VALIDATE_LIBRARY = "library.validate"
    LOCK_LIBRARY = "library.lock"
    RUN_CALIBRATION = "calibration.run"
    UNLOCK_RESEARCH = "research.unlock"
    LOCK_RESEARCH = "research.lock"
    REVIEW_AUDIT = "audit.review"
    SIGN_REVIEWED = "sign.reviewed"
    SIGN_APPROVED = "sign.approved"
    SIGN_RELEASED = "sign.released"
    SIGN_REJECTED = "sign.rejected"
    MANAGE_USERS = "users.manage"
    CONFIGURE_SITE = "settings.configure"
    MANAGE_EQUIPMENT = "equipment.manage"
    CLEAN_EQUIPMENT = "equipment.clean"
    CHECK_BALANCE = "balance.check"
    RECORD_TRAINING = "training.record"
    VIEW_RECORDS = "records.view"
    VIEW_AUDIT = "audit.view"
    EXPORT_RECORDS = "records.export"
    ADD_LOT = "lots.add"
    RELEASE_LOT = "lots.release"
    STREAM_RAW = "device.stream_raw"
    RECOVER_BATCHES = "batches.recover"


_READ = frozenset({Operation.VIEW_RECORDS, Operation.VIEW_AUDIT, Operation.EXPORT_RECORDS})
#: Operations that only read: still allowed while production is blocked by an integrity failure.
READ_OPERATIONS = _READ

_TECHNICIAN = frozenset(
    {
        Operation.ENTER_PRESCRIPTION,
        Operation.CALCULATE_DOSE,
        Operation.RUN_PRINT,
        Operation.RUN_CALIBRATION,
        Operation.WEIGH_UNITS,
        Operation.ACKNOWLEDGE_ALARM,
        Operation.EVALUATE_QC,
        Operation.ADD_LOT,
        Operation.LOCK_RESEARCH,
        Operation.SIGN_REVIEWED,
        Operation.VIEW_RECORDS,
        Operation.CLEAN_EQUIPMENT,
        Operation.CHECK_BALANCE,
    }
)

#: The permission table. Anything not listed is forbidden.
PERMISSIONS: Mapping[Role, frozenset[Operation]] = {
    Role.TECHNICIAN: _TECHNICIAN,
    Role.SUPERVISOR: frozenset(Operation) - {Operation.MANAGE_USERS, Operation.CONFIGURE_SITE},
    Role.ADMINISTRATOR: _READ
    | {
        Operation.MANAGE_USERS,
        Operation.CONFIGURE_SITE,
        Operation.ACKNOWLEDGE_STATION_ALARM,
        Operation.MANAGE_EQUIPMENT,
        Operation.RECORD_TRAINING,
    },
    Role.INSPECTOR: _READ,
}


def is_allowed(role: Role | str, operation: Operation) -> bool:
    """Return whether ``role`` may perform ``operation`` (unknown roles may do nothing)."""
    try:
        return operation in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def sign_operation(meaning: str) -> Operation:
    """Return the operation guarding a signature of ``meaning`` (``reviewed``, ``approved``, ...).

    Raises
    ------
    ValueError
        ``meaning`` is not a signature meaning.
    """
    return Operation(f"sign.{meaning}")
