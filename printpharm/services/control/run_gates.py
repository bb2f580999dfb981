"""The gates a recorded run passes on equipment, people and the room (issue 14).

Before anything is printed, a recorded batch needs:

* its operator trained and in date for the recipe (or its ink or ink family) and
  for the printer type (:func:`training_checks`), and the line cleared
  (:mod:`printpharm.services.control.line_clearance`) — both checked before the
  devices are touched;
* once the balance has identified itself: a registered balance with a valid
  calibration, the identity it was registered with, qualified and not overdue
  (:mod:`printpharm.services.control.equipment_status`), a passed routine check
  still valid today, and every unit's target mass at or above the minimum weight
  that check found (:meth:`RunGates.balance_checks`);
* once the printer has answered M115: a registered printer (by its UUID, or the
  asset tag given for the run) whose identity matches the registration, that is
  qualified and not overdue, whose mounted print heads are too, whose printer
  type is the recipe's, and that was cleaned since its last batch if that used
  another API or a cytotoxic ink (:meth:`RunGates.printer_checks`).

The built-in simulators (``sim://``), and a device whose identity says it is a
simulator (issue 13), are exempt from the equipment gates: their batches are for
training and validation only (the record says so; see
:func:`printpharm.services.run.preflight.simulated_weighing`). What passed
is recorded with the batch (:meth:`RunGates.annotation`), and a refusal is
written to the batch's audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from printpharm.errors import InputError, PreflightError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.training import training_in_date
from printpharm.services.control.balance_check import valid_check
from printpharm.services.control.cleaning import cleaning_check
from printpharm.services.control.device_registry import SIMULATED_CHECK, judge_registration
from printpharm.services.control.equipment import find_device, view_device
from printpharm.services.control.equipment_status import Intervals
from printpharm.services.run.db_recorder import BatchAnnotation
from printpharm.services.run.preflight import SIMULATED_PRINTER_CHECK, PreflightCheck
from printpharm.services.run.request import RunRequest
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import DeviceRow
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "PRINTER_SIMULATED_CHECK",
    "TRAINING_CALIBRATION_CHECK",
    "RunGates",
    "is_simulated",
    "training_checks",
]

#: Preflight check name of a run on a simulated printer (one name: the preflight's).
PRINTER_SIMULATED_CHECK = SIMULATED_PRINTER_CHECK
#: Preflight check name of a plan sized with a calibration fitted on simulators.
TRAINING_CALIBRATION_CHECK = "calibration_not_training"
#: Marlin's default UUID (no machine UUID configured): it identifies no printer.
_NO_UUID = {"", "00000000-0000-0000-0000-000000000000"}


def training_checks(
    uow: UnitOfWork, user_id: str, request: RunRequest, today: date
) -> tuple[list[PreflightCheck], list[dict[str, Any]]]:
    """Whether ``user_id`` is trained and in date for the recipe and the printer type."""
    recipe, ink = request.recipe, request.ink
    family = [ink.id, *([ink.inherits] if ink.inherits else [])]
    wanted = (
        (
            "training_recipe",
            (("recipe", [recipe.id]), ("ink", family)),
            f"recipe {recipe.id} (or ink {' / '.join(family)})",
        ),
        ("training_printer", (("printer", [recipe.printer]),), f"printer type {recipe.printer}"),
    )
    checks, records = [], []
    for name, options, what in wanted:
        found = None
        for kind, subjects in options:
            found = found or training_in_date(uow, user_id, kind, subjects, today)
        if found is None:
            detail = (
                f"{user_id} has no in-date training record for {what}: printpharm training "
                f"add {user_id} --{'recipe' if name == 'training_recipe' else 'printer-type'} ..."
            )
            checks.append(PreflightCheck(name, False, detail))
            continue
        detail = (
            f"{user_id} trained on {found.subject_kind} {found.subject} on {found.trained_on} "
            f"by {found.trainer}, valid until {found.expires_on}"
        )
        checks.append(PreflightCheck(name, True, detail))
        records.append(
            {
                "id": found.id,
                "kind": found.subject_kind,
                "subject": found.subject,
                "trained_on": found.trained_on,
                "expires_on": found.expires_on,
            }
        )
    return checks, records


def is_simulated(reported: Mapping[str, str], port: str) -> bool:
    """A built-in simulator, or a device whose identity says it is one (issue 13).

    The one notion of a simulated device: the run gates exempt it from the equipment
    register (its batches are for training only), and a calibration fitted from a
    series it printed or weighed is training-only
    (:mod:`printpharm.services.control.calibration_run`).
    """
    said = " ".join(str(v) for v in reported.values()).lower()
    return port.startswith("sim://") or "simulat" in said


def _identity_mismatch(row: DeviceRow, reported: Mapping[str, str]) -> list[str]:
    wrong = []
    for name, label in (("model", "model"), ("firmware", "firmware")):
        registered = getattr(row, name)
        seen = str(reported.get(name, "")).strip()
        if registered and seen != registered:
            wrong.append(f"{label} {seen or 'not reported'!r}, registered {registered!r}")
    return wrong


class RunGates:
    """The equipment, training and room gates of one recorded run (see the module docstring)."""

    def __init__(
        self,
        auth: AuthService,
        session: UserSession,
        request: RunRequest,
        printer_asset: str | None = None,
        refusal_subject: tuple[str, str] | None = None,
    ) -> None:
        """``refusal_subject``: ``(record type, record ID)`` a refusal is audited under
        (default: the batch, as ``print-refused``; a calibration series passes its own)."""
        self._auth, self._request = auth, request
        self._subject = refusal_subject
        self._user = auth.check(session)
        self._printer_asset = (printer_asset or "").strip() or None
        self.printer_id: int | None = None
        self.balance_id: int | None = None
        self.details: dict[str, Any] = {
            "product": {
                "api": request.recipe.api,
                "cytotoxic": request.ink.cytotoxic,
                "ink": request.ink.id,
                "lot": request.ink.lot,
                "stability_days": _stability(request),
                "storage": request.recipe.storage,
            }
        }

    # -- before the devices ----------------------------------------------------------------
    def people_checks(
        self, clearance_check: PreflightCheck, clearance: dict[str, Any]
    ) -> tuple[PreflightCheck, ...]:
        """Training of the operator (raises when missing) plus the line clearance check.

        Raises
        ------
        PreflightError
            The operator is not trained and in date (the refusal is audited).
        """
        with self._auth.uow(write=False) as uow:
            checks, records = training_checks(
                uow, self._user.user_id, self._request, uow.now().date()
            )
        self._refuse_if_failed(checks)
        self.details["training"] = records
        self.details["line_clearance"] = clearance
        return (*checks, clearance_check)

    def _refuse_if_failed(self, checks: list[PreflightCheck]) -> None:
        failed = [c for c in checks if not c.passed]
        if not failed:
            return
        reason = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        batch_id = self._request.batch_id
        kind, record_id = self._subject or ("batch", batch_id)
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    kind,
                    "print-refused" if self._subject is None else "series-refused",
                    record_id,
                    self._user.user_id,
                    self._user.full_name,
                    reason=reason,
                    batch_id=None if self._subject else batch_id,
                )
            )
        what = "the run" if self._subject is None else "the calibration series"
        raise PreflightError(f"preflight refused {what}: {reason}")

    def _audit_refusal(self, checks: list[PreflightCheck]) -> list[PreflightCheck]:
        try:
            self._refuse_if_failed(checks)
        except PreflightError:
            pass  # the run raises it with every failed check; the refusal is audited here
        return checks

    # -- balance ---------------------------------------------------------------------------
    def balance_checks(self, identity: Mapping[str, str], port: str) -> list[PreflightCheck]:
        """The balance gates, once the balance identified itself (I2/I4)."""
        serial = str(identity.get("serial_number", "")).strip()
        named = f"balance {identity.get('model', '?')} #{serial or '?'} on {port}"
        if is_simulated(identity, port):
            detail = f"{named}: simulated, for training and validation only"
            return [PreflightCheck(SIMULATED_CHECK, True, detail)]
        with self._auth.uow(write=False) as uow:
            row = uow.devices.get("balance", serial) if serial else None
            intervals = Intervals.from_settings(uow)
            today = uow.now().date()
            registered = judge_registration(
                row, intervals.days[("balance", "calibration")], today, named
            )
            if row is None or not registered.passed:
                return self._audit_refusal([registered])
            checks = [registered, *self._device_gates(uow, row, identity, "balance", today)]
            checks += self._balance_check(uow, row, today)
        self.balance_id = row.id
        return self._audit_refusal(checks)

    def _device_gates(
        self, uow: UnitOfWork, row: DeviceRow, reported: Mapping[str, str], name: str, today: date
    ) -> list[PreflightCheck]:
        wrong = _identity_mismatch(row, reported)
        tag = f"{row.kind.replace('_', ' ')} {row.asset_tag} (#{row.serial_number})"
        identity = PreflightCheck(
            f"{name}_identity",
            not wrong,
            f"{tag}: "
            + (
                "; ".join(wrong) + " — not the one registered"
                if wrong
                else "identity matches the registration"
            ),
        )
        status = view_device(uow, row, today).status
        qualified = PreflightCheck(f"{name}_qualified", status.usable, f"{tag}: {status.text}")
        self.details.setdefault("equipment", {})[name] = {
            "asset_tag": row.asset_tag,
            "kind": row.kind,
            "serial_number": row.serial_number,
            "model": row.model,
            "firmware": row.firmware,
            "status": status.text,
        }
        return [identity, qualified]

    def _balance_check(self, uow: UnitOfWork, row: DeviceRow, today: date) -> list[PreflightCheck]:
        check = valid_check(uow, row.id, today)
        if check is None:
            latest = uow.balance_checks.latest(row.id)
            last = (
                "never checked"
                if latest is None
                else (
                    f"last check {latest.checked_at:%Y-%m-%d} "
                    + ("passed" if latest.passed else "FAILED")
                )
            )
            detail = (
                f"balance {row.asset_tag}: no passed routine check valid today ({last}); "
                f"printpharm equipment check-balance {row.asset_tag} --weight ID ..."
            )
            return [PreflightCheck("balance_check", False, detail)]
        detail = (
            f"balance {row.asset_tag}: check {check.id} at {check.checked_at:%Y-%m-%d %H:%M} "
            f"UTC by {check.checked_by} passed ({check.result.get('rule')}); minimum weight "
            f"{check.minimum_weight_mg} mg"
        )
        self.details["balance_check"] = {
            "id": check.id,
            "checked_at": check.checked_at,
            "checked_by": check.checked_by,
            "minimum_weight_mg": check.minimum_weight_mg,
            "weight": check.weight,
            "repeatability": check.result.get("repeatability"),
            "accuracy": check.result.get("accuracy"),
        }
        lightest = min((u.target_mg for u in self._request.program.units), default=None)
        ok = lightest is None or lightest >= check.minimum_weight_mg
        fit = PreflightCheck(
            "minimum_weight",
            ok,
            f"lightest unit {lightest} mg {'≥' if ok else 'is BELOW'} the balance's minimum "
            f"weight {check.minimum_weight_mg} mg (2000·s, Ph. Eur. 2.1.7 / USP <41>)"
            + ("" if ok else ": it cannot weigh these units to 0.10 %; use a finer balance"),
        )
        return [PreflightCheck("balance_check", True, detail), fit]

    # -- printer ---------------------------------------------------------------------------
    def printer_checks(self, reported: Mapping[str, str], port: str) -> list[PreflightCheck]:
        """The printer gates, once the printer answered M115."""
        if is_simulated(reported, port):
            if is_simulated(reported, ""):
                return []  # it says simulator: the device check recorded it already
            detail = f"printer on {port}: simulated, for training and validation only"
            return [PreflightCheck(PRINTER_SIMULATED_CHECK, True, detail)]
        uuid = str(reported.get("UUID", "")).strip()
        identity = {
            "model": reported.get("MACHINE_TYPE", ""),
            "firmware": reported.get("firmware", ""),
        }
        with self._auth.uow(write=False) as uow:
            row = self._find_printer(uow, uuid)
            if isinstance(row, PreflightCheck):
                return self._audit_refusal([row])
            today = uow.now().date()
            checks = self._device_gates(uow, row, identity, "printer", today)
            if self._printer_asset and uuid not in _NO_UUID and uuid != row.serial_number:
                checks[0] = PreflightCheck(
                    "printer_identity",
                    False,
                    f"printer {row.asset_tag} is registered with UUID "
                    f"{row.serial_number}, the printer on {port} "
                    f"reports {uuid}",
                )
            checks += self._heads(uow, row, today)
            checks.append(self._printer_type(row))
            cleaned, record = cleaning_check(uow, row, self._request.recipe.api)
            checks.append(cleaned)
            checks += self._calibration_check()
        self.details["cleaning"] = record
        self.printer_id = row.id
        return self._audit_refusal(checks)

    def _find_printer(self, uow: UnitOfWork, uuid: str) -> DeviceRow | PreflightCheck:
        if self._printer_asset:
            try:
                return find_device(uow, self._printer_asset)
            except InputError as exc:
                return PreflightCheck("printer_registered", False, str(exc))
        if uuid in _NO_UUID:
            return PreflightCheck(
                "printer_registered",
                False,
                "the printer reports no UUID of its own (M115), so it cannot identify itself: "
                "give its asset tag (printpharm run --printer-asset TAG)",
            )
        row = uow.devices.get("printer", uuid)
        if row is None:
            return PreflightCheck(
                "printer_registered",
                False,
                f"printer with UUID {uuid} is not registered: printpharm equipment add printer "
                f"TAG --serial {uuid} ...",
            )
        return row

    def _heads(self, uow: UnitOfWork, printer: DeviceRow, today: date) -> list[PreflightCheck]:
        checks = []
        for head_id in uow.equipment.mounted_on(str(printer.asset_tag)):
            head = uow.devices.by_id(head_id)
            if head is None or head.status == "retired":
                continue
            status = view_device(uow, head, today).status
            text = f"print head {head.asset_tag} on {printer.asset_tag}: {status.text}"
            checks.append(PreflightCheck("print_head_qualified", status.usable, text))
            self.details.setdefault("equipment", {}).setdefault("print_heads", []).append(
                {
                    "asset_tag": head.asset_tag,
                    "serial_number": head.serial_number,
                    "status": status.text,
                }
            )
        return checks

    def _printer_type(self, row: DeviceRow) -> PreflightCheck:
        needed = self._request.recipe.printer
        ok = row.printer_type is None or row.printer_type == needed
        registered = row.printer_type or "not stated"
        return PreflightCheck(
            "printer_type",
            ok,
            f"printer {row.asset_tag} is a {registered}; the recipe needs {needed}",
        )

    def _calibration_check(self) -> list[PreflightCheck]:
        """A real printer never prints with a calibration fitted on simulators (training only)."""
        prediction = self._request.prediction
        if prediction is None or not prediction.calibration.simulated:
            return []
        detail = (
            f"the plan was sized with {prediction.calibration.label}: a simulator's fit says "
            "nothing about this printer and this ink; fit and lock a calibration on the "
            "qualified printer (printpharm calibrate --printer-port P --balance-port Q)"
        )
        return [PreflightCheck(TRAINING_CALIBRATION_CHECK, False, detail)]

    def annotation(self) -> BatchAnnotation:
        """What the batch record keeps of the gates (called when the batch starts)."""
        return BatchAnnotation(self.printer_id, self.balance_id, {"controls": dict(self.details)})


def _stability(request: RunRequest) -> int | None:
    stability = request.recipe.stability
    return None if stability is None else int(stability.value)
