"""Equipment, balance checks, cleaning, training, line clearance and labels for the GUI (Qt-free).

The screens call :class:`EquipmentDesk` with the text the person typed; it
parses dates (``YYYY-MM-DD``) and numbers, calls the services (which decide
permissions, signatures and the audit trail) and returns rows of text to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from printpharm.errors import InputError, SessionExpired
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService
from printpharm.services.access.training import (
    SUBJECT_KINDS,
    TrainingDue,
    TrainingEntry,
    due_training,
    list_training,
    record_training,
)
from printpharm.services.control import balance_check, cleaning, equipment
from printpharm.services.control.equipment import EquipmentView
from printpharm.services.control.line_clearance import ITEMS, second_person_required
from printpharm.services.jobs import CancelToken
from printpharm.services.records.labels import LabelResult, print_label
from printpharm.services.station.session import StationSession
from printpharm.storage.equipment import CheckWeightRecord, CleaningEntry

__all__ = [
    "CLEARANCE_ITEMS",
    "SUBJECT_KINDS",
    "DueRow",
    "EquipmentDesk",
    "EquipmentRow",
    "TrainingRow",
]

#: The line-clearance checklist (key, sentence) the print page shows.
CLEARANCE_ITEMS: tuple[tuple[str, str], ...] = tuple(ITEMS.items())


@dataclass(frozen=True)
class EquipmentRow:
    """One device as the register table shows it."""

    tag: str
    kind: str
    model: str
    serial: str
    location: str
    state: str
    status: str
    next_due: str


@dataclass(frozen=True)
class TrainingRow:
    """One training record as the table shows it; ``state``: in date, due soon, EXPIRED."""

    user_id: str
    kind: str
    subject: str
    trained_on: str
    trainer: str
    expires_on: str
    state: str


@dataclass(frozen=True)
class DueRow:
    """Something due: ``what`` is equipment or training; ``severity`` warn or fail."""

    what: str
    name: str
    detail: str
    severity: str


def parse_day(text: str, what: str) -> date:
    """A date typed as ``YYYY-MM-DD``.

    Raises
    ------
    InputError
        Not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date YYYY-MM-DD") from None


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InputError(f"{what} {text!r} is not a number")
    return value


def _row(view: EquipmentView) -> EquipmentRow:
    d, s = view.device, view.status
    due = min(s.due, key=lambda item: item.due_on).text if s.due else "—"
    return EquipmentRow(
        str(d.asset_tag),
        d.kind,
        d.model or "",
        d.serial_number,
        d.location or "",
        s.state,
        s.text,
        due,
    )


class EquipmentDesk:
    """The equipment and people services for the logged-in user of ``session``.

    ``balance_url`` is the balance the routine check runs on (the workstation's).
    """

    def __init__(self, session: StationSession, balance_url: str = "sim://balance") -> None:
        self._session, self.balance_url = session, balance_url

    def _auth(self) -> tuple[AuthService, UserSession]:
        services, user = self._session.services, self._session.user
        if services is None or user is None:
            raise SessionExpired("not logged in")
        return services.auth, user

    def may(self, operation: Operation) -> bool:
        """Whether the logged-in user may perform ``operation``."""
        return self._session.may(operation)

    # -- register ------------------------------------------------------------------------
    def rows(self) -> list[EquipmentRow]:
        """Every registered device with its status today."""
        auth, user = self._auth()
        return [_row(v) for v in equipment.list_equipment(auth, user)]

    def add(
        self,
        kind: str,
        tag: str,
        serial: str,
        model: str,
        firmware: str = "",
        location: str = "",
        printer_type: str = "",
        mounted_on: str = "",
    ) -> EquipmentRow:
        """Register a device (audited)."""
        auth, user = self._auth()
        view = equipment.add_equipment(
            auth,
            user,
            kind,
            tag,
            serial,
            model,
            firmware=firmware,
            location=location,
            printer_type=printer_type,
            mounted_on=mounted_on or None,
        )
        return _row(view)

    def qualify(self, tag: str, stage: str, day: str, document: str, password: str) -> EquipmentRow:
        """Approve a qualification stage by e-signature."""
        auth, user = self._auth()
        records = self._records()
        when = parse_day(day, "qualification date")
        return _row(equipment.qualify(auth, records, user, tag, stage, when, document, password))

    def maintain(self, tag: str, kind: str, day: str, document: str) -> EquipmentRow:
        """Record a calibration or maintenance."""
        auth, user = self._auth()
        when = parse_day(day, f"{kind} date")
        return _row(equipment.record_maintenance(auth, user, tag, kind, when, document))

    def suspend(self, tag: str, reason: str) -> EquipmentRow:
        """Take a device out of service."""
        auth, user = self._auth()
        return _row(equipment.suspend(auth, user, tag, reason))

    def reinstate(self, tag: str, reason: str, password: str) -> EquipmentRow:
        """Return a device to service (e-signature)."""
        auth, user = self._auth()
        return _row(equipment.reinstate(auth, self._records(), user, tag, reason, password))

    def retire(self, tag: str, reason: str, password: str) -> EquipmentRow:
        """Retire a device (e-signature)."""
        auth, user = self._auth()
        return _row(equipment.retire(auth, self._records(), user, tag, reason, password))

    def _records(self) -> RecordsService:
        services = self._session.services
        if services is None:
            raise SessionExpired("not logged in")
        return services.records

    # -- balance check and cleaning ----------------------------------------------------
    def weights(self) -> list[CheckWeightRecord]:
        """Registered check weights."""
        auth, _ = self._auth()
        with auth.uow(write=False) as uow:
            return uow.check_weights.all()

    def add_weight(
        self,
        weight_id: str,
        nominal_g: str,
        conventional_g: str,
        uncertainty_mg: str,
        weight_class: str,
        certificate: str,
        expiry: str,
    ) -> CheckWeightRecord:
        """Register a certified check weight."""
        auth, user = self._auth()
        record = CheckWeightRecord(
            weight_id.strip(),
            _number(nominal_g, "nominal mass"),
            _number(conventional_g, "conventional mass"),
            _number(uncertainty_mg, "uncertainty"),
            weight_class.strip(),
            certificate.strip(),
            parse_day(expiry, "certificate expiry"),
            "",
            None,  # type: ignore[arg-type]
        )
        return balance_check.register_check_weight(auth, user, record)

    def check_balance(
        self,
        weight_id: str,
        prompt: Callable[[str], None],
        cancel: CancelToken | None = None,
        wait_s: float = 120.0,
    ) -> balance_check.BalanceCheckOutcome:
        """Run the guided check on the workstation's balance (blocks: use a worker thread)."""
        from printpharm.devices.balance import Balance
        from printpharm.devices.transport import open_transport

        auth, user = self._auth()
        if self.balance_url.startswith("sim://"):
            raise InputError(
                "the built-in simulated balance needs no check: its batches are for "
                "training only; configure the real balance's port first"
            )
        balance = Balance(open_transport(self.balance_url))
        try:
            return balance_check.run_balance_check(
                auth, user, balance, self.balance_url, weight_id, prompt, cancel, wait_s
            )
        finally:
            balance.transport.close()

    def clean(
        self,
        tag: str,
        method: str,
        parts: str,
        cytotoxic: bool = False,
        checked_by: str = "",
        password: str = "",
    ) -> CleaningEntry:
        """Log a cleaning (a second person's ID and password after a cytotoxic API)."""
        auth, user = self._auth()
        return cleaning.log_cleaning(
            auth,
            user,
            tag,
            method,
            parts,
            cytotoxic=cytotoxic,
            checked_by=checked_by.strip() or None,
            checker_password=password if checked_by.strip() else None,
        )

    def cleanings(self, tag: str) -> list[CleaningEntry]:
        """The cleaning log of one printer or head."""
        auth, user = self._auth()
        return cleaning.cleanings(auth, user, tag)

    # -- training ----------------------------------------------------------------------
    def training_rows(self) -> list[TrainingRow]:
        """Every training record with whether it is in date."""
        auth, user = self._auth()
        due = {d.entry.id: d for d in due_training(auth, user)}
        return [_training_row(e, due) for e in list_training(auth, user)]

    def add_training(
        self,
        person: str,
        kind: str,
        subject: str,
        trained_on: str,
        trainer: str,
        expires: str = "",
        document: str = "",
    ) -> TrainingEntry:
        """Record a training (supervisors and administrators)."""
        auth, user = self._auth()
        day = parse_day(trained_on, "training date")
        until = parse_day(expires, "expiry") if expires.strip() else None
        return record_training(auth, user, person, kind, subject, day, trainer, until, document)

    def due_rows(self) -> list[DueRow]:
        """What is due and when: equipment not simply qualified, training expiring or expired."""
        auth, user = self._auth()
        rows = [
            DueRow("equipment", r.tag, r.status, "fail" if r.state == "out of service" else "warn")
            for r in self.rows()
            if r.state != "qualified"
        ]
        for d in due_training(auth, user):
            e = d.entry
            when = f"EXPIRED on {e.expires_on}" if d.expired else f"expires {e.expires_on}"
            rows.append(
                DueRow(
                    "training",
                    e.user_id,
                    f"{e.subject_kind} {e.subject}: {when}",
                    "fail" if d.expired else "warn",
                )
            )
        return rows

    # -- line clearance and labels -----------------------------------------------------
    def clearance_needs_second_person(self) -> bool:
        """Whether the site wants a second person to check the line clearance."""
        auth, _ = self._auth()
        return second_person_required(auth)

    def label(
        self,
        batch_id: str,
        fmt: str,
        path: Path,
        directions: str,
        patient: str = "",
        width_mm: int = 62,
    ) -> LabelResult:
        """Write the patient label of ``batch_id`` (audited)."""
        auth, user = self._auth()
        return print_label(auth, user, batch_id, fmt, path, directions, patient or None, width_mm)


def _training_row(e: TrainingEntry, due: dict[int, TrainingDue]) -> TrainingRow:
    item = due.get(e.id)
    state = (
        "in date"
        if item is None
        else ("EXPIRED" if getattr(item, "expired", False) else "due soon")
    )
    return TrainingRow(
        e.user_id, e.subject_kind, e.subject, str(e.trained_on), e.trainer, str(e.expires_on), state
    )
