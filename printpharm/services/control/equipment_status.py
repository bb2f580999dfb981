"""Whether a piece of equipment may be used today: ``qualified``, ``due`` or ``out of service``.

:func:`judge_status` is the one rule, used by the run's preflight, ``printpharm
doctor``, ``printpharm equipment list`` and the GUI alike:

* ``out of service`` — retired, taken out of service, not (fully) qualified (the
  qualification stages of its kind, each approved by e-signature, are not all
  recorded), never calibrated (kinds that need calibration), or its calibration
  or preventive maintenance is overdue;
* ``due`` — usable, but its calibration or maintenance falls due within the
  ``equipment.due_warning_days`` site setting;
* ``qualified`` — usable and nothing due soon.

Intervals are site settings: the balance calibration validity
(``devices.balance_calibration_valid_days``), the printer calibration interval
and the maintenance interval of each kind. Maintenance is counted from the last
maintenance record, else from installation (IQ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from printpharm.services.access.training import setting_days
from printpharm.services.control.device_registry import DEFAULT_VALIDITY_DAYS, VALIDITY_SETTING
from printpharm.storage.batches import DeviceRow
from printpharm.storage.equipment import EquipmentEventRecord
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "DUE",
    "DUE_WARNING_SETTING",
    "INTERVAL_SETTINGS",
    "OUT_OF_SERVICE",
    "QUALIFICATION_STAGES",
    "QUALIFIED",
    "DueItem",
    "EquipmentStatus",
    "Intervals",
    "judge_status",
    "last_calibration",
]

QUALIFIED, DUE, OUT_OF_SERVICE = "qualified", "due", "out of service"

#: Qualification stages each kind needs (a balance's PQ is its routine check, 2.1.7).
QUALIFICATION_STAGES: dict[str, tuple[str, ...]] = {
    "printer": ("IQ", "OQ", "PQ"),
    "print_head": ("IQ", "OQ"),
    "balance": ("IQ", "OQ"),
}

#: Site settings of the intervals: key → (meaning, default days, kind, what).
INTERVAL_SETTINGS: dict[str, tuple[str, int, str, str]] = {
    "equipment.printer_calibration_days": (
        "days a printer calibration (temperature, axes) stays valid",
        365,
        "printer",
        "calibration",
    ),
    "equipment.printer_maintenance_days": (
        "days between preventive maintenance of a printer",
        180,
        "printer",
        "maintenance",
    ),
    "equipment.print_head_maintenance_days": (
        "days between preventive maintenance of a print head",
        90,
        "print_head",
        "maintenance",
    ),
    "equipment.balance_maintenance_days": (
        "days between preventive maintenance of a balance",
        365,
        "balance",
        "maintenance",
    ),
}
#: Site setting: days ahead a calibration or maintenance is reported as due.
DUE_WARNING_SETTING = "equipment.due_warning_days"
DEFAULT_DUE_WARNING_DAYS = 14


@dataclass(frozen=True)
class Intervals:
    """The intervals in force: (kind, what) → days, and the warning window in days."""

    days: dict[tuple[str, str], int]
    warning_days: int

    @classmethod
    def from_settings(cls, uow: UnitOfWork) -> Intervals:
        """The intervals as the site settings say (defaults where not set)."""
        days = {
            (kind, what): setting_days(uow, key, default)
            for key, (_, default, kind, what) in INTERVAL_SETTINGS.items()
        }
        days[("balance", "calibration")] = setting_days(
            uow, VALIDITY_SETTING, DEFAULT_VALIDITY_DAYS
        )
        warning = setting_days(uow, DUE_WARNING_SETTING, DEFAULT_DUE_WARNING_DAYS)
        return cls(days, warning)


@dataclass(frozen=True)
class DueItem:
    """A calibration or maintenance: when it falls due and whether it is overdue today."""

    what: str
    due_on: date
    overdue: bool

    @property
    def text(self) -> str:
        """``calibration due 2026-12-01`` or ``maintenance OVERDUE since 2026-11-01``."""
        return f"{self.what} {'OVERDUE since' if self.overdue else 'due'} {self.due_on}"


@dataclass(frozen=True)
class EquipmentStatus:
    """The state today, why (when not qualified), and the dates coming due."""

    state: str
    reasons: tuple[str, ...]
    due: tuple[DueItem, ...]

    @property
    def usable(self) -> bool:
        """Whether a recorded run may use the equipment today."""
        return self.state != OUT_OF_SERVICE

    @property
    def text(self) -> str:
        """``qualified``, ``due: maintenance due 2026-12-01`` or ``out of service: ...``."""
        return self.state if not self.reasons else f"{self.state}: {'; '.join(self.reasons)}"


def last_calibration(row: DeviceRow, events: Sequence[EquipmentEventRecord]) -> date | None:
    """The newest calibration date (register field or calibration record)."""
    dates = [e.performed_on for e in events if e.kind == "calibration"]
    if row.calibration_date is not None:
        dates.append(row.calibration_date)
    return max(dates) if dates else None


def _missing_stages(row: DeviceRow, events: Sequence[EquipmentEventRecord]) -> list[str]:
    done = {e.kind for e in events if e.signature_id is not None}
    return [s for s in QUALIFICATION_STAGES.get(row.kind, ()) if s not in done]


def _dues(
    row: DeviceRow, events: Sequence[EquipmentEventRecord], intervals: Intervals, today: date
) -> tuple[list[DueItem], list[str]]:
    dues: list[DueItem] = []
    problems: list[str] = []
    calibration_days = intervals.days.get((row.kind, "calibration"))
    if calibration_days is not None:
        calibrated = last_calibration(row, events)
        if calibrated is None:
            problems.append("never calibrated (record its calibration)")
        else:
            due = calibrated + timedelta(days=calibration_days)
            dues.append(DueItem("calibration", due, today > due))
    maintenance_days = intervals.days.get((row.kind, "maintenance"))
    starts = [e.performed_on for e in events if e.kind in ("maintenance", "IQ")]
    if maintenance_days is not None and starts:
        maintained = max(e.performed_on for e in events if e.kind in ("maintenance", "IQ"))
        due = maintained + timedelta(days=maintenance_days)
        dues.append(DueItem("maintenance", due, today > due))
    return dues, problems


def judge_status(
    row: DeviceRow, events: Sequence[EquipmentEventRecord], intervals: Intervals, today: date
) -> EquipmentStatus:
    """The status of ``row`` today, given its events and the intervals in force."""
    if row.status == "retired":
        return EquipmentStatus(
            OUT_OF_SERVICE, (f"retired: {row.status_reason or ''}".rstrip(),), ()
        )
    dues, problems = _dues(row, events, intervals, today)
    reasons: list[str] = []
    if row.status == "out_of_service":
        reasons.append(f"taken out of service: {row.status_reason or 'no reason given'}")
    missing = _missing_stages(row, events)
    if missing:
        reasons.append(f"not qualified: {', '.join(missing)} not approved")
    reasons += problems
    reasons += [d.text for d in dues if d.overdue]
    if reasons:
        return EquipmentStatus(OUT_OF_SERVICE, tuple(reasons), tuple(dues))
    soon = [d for d in dues if (d.due_on - today).days <= intervals.warning_days]
    if soon:
        return EquipmentStatus(DUE, tuple(d.text for d in soon), tuple(dues))
    return EquipmentStatus(QUALIFIED, (), tuple(dues))
