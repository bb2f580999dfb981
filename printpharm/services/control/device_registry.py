"""Registered balances and their calibration (compliance OPS-02).

A recorded batch accepts readings only from a balance that the site registered
(kind ``balance``, serial number as the balance reports it with ``I4``) with a
calibration date that is still valid on the day of the run
(``devices.balance_calibration_valid_days`` site setting, default 365 days).
An unregistered or overdue balance stops the run at preflight, before anything
is printed. The built-in simulated balance (``sim://``) needs no registration:
its readings are recorded as simulated, and such a batch is for training and
validation only (see :func:`printpharm.services.records.export.patient_use`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.run.preflight import SIMULATED_CHECK, PreflightCheck, simulated_weighing
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import DeviceRow
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "SIMULATED_CHECK",
    "VALIDITY_SETTING",
    "BalancePolicy",
    "balance_policy",
    "calibration_due",
    "judge_registration",
    "register_balance",
    "registered_balances",
    "simulated_weighing",
    "validity_days",
]

#: Site setting: days a balance calibration stays valid.
VALIDITY_SETTING = "devices.balance_calibration_valid_days"
DEFAULT_VALIDITY_DAYS = 365

#: ``(balance identity from I2/I4, port) -> checks``.
BalancePolicy = Callable[[Mapping[str, str], str], Sequence[PreflightCheck]]


def validity_days(uow: UnitOfWork) -> int:
    """Days a balance calibration stays valid (site setting, else the default)."""
    setting = uow.settings.get(VALIDITY_SETTING)
    return DEFAULT_VALIDITY_DAYS if setting is None else int(setting.value)


def judge_registration(
    row: DeviceRow | None, validity: int, today: date, named: str
) -> PreflightCheck:
    """Whether the balance ``named`` (its registry ``row``) may weigh a recorded batch today."""
    if row is None or row.calibration_date is None:
        return PreflightCheck(
            "balance_registered",
            False,
            f"{named} is not registered with a calibration date; an administrator "
            "registers it: printpharm devices register-balance SERIAL --calibrated DATE",
        )
    due = calibration_due(row.calibration_date, validity)
    ok = today <= due
    state = f"valid until {due}" if ok else f"EXPIRED on {due} (valid {validity} days)"
    return PreflightCheck(
        "balance_registered", ok, f"{named}: registered, calibrated {row.calibration_date}, {state}"
    )


def calibration_due(calibrated: date, validity_days: int) -> date:
    """The last day a calibration made on ``calibrated`` is valid."""
    return calibrated + timedelta(days=validity_days)


def register_balance(
    auth: AuthService,
    session: UserSession,
    serial_number: str,
    calibrated: date,
    model: str | None = None,
) -> DeviceRow:
    """Register a balance (or record its new calibration date); audited.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not configure the site (an administrator registers devices).
    InputError
        An empty serial number, or a calibration date in the future.
    """
    live = auth.require(session, Operation.CONFIGURE_SITE)
    serial = serial_number.strip()
    with auth.uow() as uow:
        if calibrated > uow.now().date():
            raise InputError(f"calibration date {calibrated} is in the future")
        before = uow.devices.get("balance", serial)
        row = uow.devices.register(
            "balance", serial, uow.now(), model=model, calibration_date=calibrated
        )
        uow.audit.append(
            AuditEntry(
                "device",
                "register" if before is None else "calibrate",
                f"balance:{serial}",
                live.user_id,
                live.full_name,
                old=None if before is None else {"calibration_date": before.calibration_date},
                new={"model": row.model, "calibration_date": row.calibration_date},
            )
        )
    return row


def registered_balances(auth: AuthService, session: UserSession) -> list[DeviceRow]:
    """Every registered balance.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        return uow.devices.all("balance")


def balance_policy(auth: AuthService, today: date) -> BalancePolicy:
    """The check a recorded run applies to its balance once it has identified it."""
    with auth.uow(write=False) as uow:
        validity = validity_days(uow)

    def check(identity: Mapping[str, str], port: str) -> list[PreflightCheck]:
        serial = str(identity.get("serial_number", "")).strip()
        named = f"balance {identity.get('model', '?')} #{serial or '?'} on {port}"
        said = " ".join(str(v) for v in identity.values()).lower()
        if port.startswith("sim://") or "simulat" in said:
            return [
                PreflightCheck(
                    SIMULATED_CHECK, True, f"{named}: simulated, for training and validation only"
                )
            ]
        with auth.uow(write=False) as uow:
            row = uow.devices.get("balance", serial) if serial else None
        model = str(identity.get("model", "")).strip()
        if row is not None and row.model and model and not model.startswith(row.model):
            return [
                PreflightCheck(
                    "balance_registered", False,
                    f"{named} reports model {model!r}, registered as {row.model!r}: not the "
                    "registered balance",
                )
            ]  # fmt: skip
        return [judge_registration(row, validity, today, named)]

    return check
