"""The routine balance check over MT-SICS, and the certified check weights it uses.

The check (daily, or as often as the ``balance.check_valid_days`` site setting
says) follows Ph. Eur. 2.1.7 / USP <41> (``docs/balances.md``): printpharm
identifies the balance (``@``/``I2``/``I4``), zeroes it, then asks for the
certified check weight to be put on and taken off ``balance.check_replicates``
times (at least 10), reading a stable weight (``S``) each time the load is on.
It notices the weight by its reading (more than half the nominal mass on the
pan), so the operator only follows the prompts. From the readings:
repeatability and the balance's minimum weight, and accuracy against the
weight's conventional mass (0.05 % Ph. Eur., 0.10 % USP: ``balance.check_rule``).
The check is stored, passed or not, with the weight's certificate and every
raw reading, and audited. A recorded run needs a passed check of its balance
that is still valid today, and no unit below the minimum weight it found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from printpharm.core.balance_performance import (
    MIN_REPLICATES,
    RULES,
    BalanceRule,
    accuracy,
    repeatability,
    weight_suitability,
)
from printpharm.devices.balance import Balance, BalanceInfo, Weighing
from printpharm.devices.transport import open_transport
from printpharm.errors import BalanceUnstable, InputError, RunAborted
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.training import setting_days
from printpharm.services.control.equipment import view_device
from printpharm.services.jobs import CancelToken
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import DeviceRow
from printpharm.storage.equipment import BalanceCheckRecord, CheckWeightRecord
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "CheckWeightRecord",
    "REPLICATES_SETTING",
    "RULE_SETTING",
    "VALID_DAYS_SETTING",
    "BalanceCheckOutcome",
    "check_valid_until",
    "register_check_weight",
    "run_balance_check",
    "valid_check",
]

#: Site settings: days a passed check stays valid (1: the day it was made), replicates, rule.
VALID_DAYS_SETTING = "balance.check_valid_days"
REPLICATES_SETTING = "balance.check_replicates"
RULE_SETTING = "balance.check_rule"

_TO_G = {"g": Decimal(1), "mg": Decimal("0.001"), "kg": Decimal(1000)}


@dataclass(frozen=True)
class BalanceCheckOutcome:
    """A stored check: the record, and the sentences of its two verdicts."""

    record: BalanceCheckRecord
    asset_tag: str
    repeatability: str
    accuracy: str

    @property
    def passed(self) -> bool:
        """Whether both verdicts passed."""
        return self.record.passed


def register_check_weight(
    auth: AuthService, session: UserSession, weight: CheckWeightRecord
) -> CheckWeightRecord:
    """Register a certified check weight, or its new certificate (audited).

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not manage equipment.
    InputError
        Non-positive masses, a conventional mass far from the nominal (over 0.1 %),
        or no certificate.
    """
    live = auth.require(session, Operation.MANAGE_EQUIPMENT)
    if weight.nominal_g <= 0 or weight.conventional_mass_g <= 0 or weight.uncertainty_mg < 0:
        raise InputError("a check weight needs positive masses and a non-negative uncertainty")
    if abs(weight.conventional_mass_g - weight.nominal_g) * 1000 > weight.nominal_g:
        raise InputError(
            f"conventional mass {weight.conventional_mass_g} g is more than 0.1 % from the "
            f"nominal {weight.nominal_g} g: check the certificate"
        )
    if not weight.certificate.strip() or not weight.weight_id.strip():
        raise InputError("a check weight needs its id and its calibration certificate number")
    with auth.uow() as uow:
        stored = CheckWeightRecord(
            **{**weight.__dict__, "registered_by": live.user_id, "registered_at": uow.now()}
        )
        before = uow.check_weights.put(stored)
        uow.audit.append(
            AuditEntry(
                "check_weight",
                "register" if before is None else "recertify",
                weight.weight_id,
                live.user_id,
                live.full_name,
                old=None if before is None else before.__dict__,
                new=stored.__dict__,
            )
        )
    return stored


def check_valid_until(record: BalanceCheckRecord, valid_days: int) -> date:
    """The last day a check made at ``record.checked_at`` is valid (1 day: the same day)."""
    return record.checked_at.date() + timedelta(days=valid_days - 1)


def valid_check(uow: UnitOfWork, device_id: int, today: date) -> BalanceCheckRecord | None:
    """The newest check of the balance if it passed and is still valid ``today``."""
    latest = uow.balance_checks.latest(device_id)
    if latest is None or not latest.passed:
        return None
    days = setting_days(uow, VALID_DAYS_SETTING, 1)
    return latest if today <= check_valid_until(latest, days) else None


def _rule(uow: UnitOfWork) -> BalanceRule:
    stored = uow.settings.get(RULE_SETTING)
    return RULES[str(stored.value) if stored is not None else "ph_eur"]


def _capacity_g(capacity: str) -> Decimal | None:
    parts = capacity.split()
    try:
        return Decimal(parts[0]) * _TO_G[parts[1]] if len(parts) == 2 else None
    except (InvalidOperation, KeyError):
        return None


def _grams(weighing: Weighing) -> tuple[Decimal, Decimal]:
    """The reading in g, exactly, and one step of its last decimal in g (the scale interval)."""
    factor = _TO_G.get(weighing.unit)
    if factor is None:
        raise InputError(f"balance reads in {weighing.unit!r}; the check needs g, mg or kg")
    exponent = weighing.mass.as_tuple().exponent
    step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return weighing.mass * factor, step * factor


class _Procedure:
    """The guided weighings: wait for the load to come or go, read it."""

    def __init__(
        self,
        balance: Balance,
        prompt: Callable[[str], None],
        cancel: CancelToken | None,
        wait_s: float,
    ) -> None:
        self.balance, self.prompt, self.cancel, self.wait_s = balance, prompt, cancel, wait_s

    def wait_for(self, loaded: bool, nominal_g: Decimal) -> Weighing:
        deadline = time.monotonic() + self.wait_s
        while True:
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            try:
                weighing = self.balance.weigh(timeout_s=min(30.0, self.wait_s), retries=0)
            except BalanceUnstable:
                weighing = None
            if weighing is not None:
                grams, _ = _grams(weighing)
                if (grams * 2 > nominal_g) == loaded:
                    return weighing
            if time.monotonic() > deadline:
                what = "put on" if loaded else "taken off"
                raise RunAborted(f"the check weight was not {what} within {self.wait_s:.0f} s")


def run_balance_check(
    auth: AuthService,
    session: UserSession,
    balance: Balance,
    port: str,
    weight_id: str,
    prompt: Callable[[str], None],
    cancel: CancelToken | None = None,
    wait_s: float = 120.0,
) -> BalanceCheckOutcome:
    """Guide the routine check of the balance on ``port`` with the weight ``weight_id``.

    Parameters
    ----------
    balance
        The balance driver (its transport open on ``port``).
    prompt
        Shows the operator what to do next (a line on the terminal, a dialog text).
    cancel
        Stops the check between weighings.
    wait_s
        Seconds to wait for the weight to be put on or taken off (wall clock).

    Raises
    ------
    InputError
        The built-in simulator (``sim://``: its batches are for training, it needs no
        check), an unregistered, retired or out-of-service balance, an unknown weight, an
        expired certificate, or a weight unsuited to this balance.
    PermissionDenied, SessionExpired
        The role may not check balances.
    DeviceError, RunAborted
        The balance failed, or the weight never came (nothing is stored then).
    """
    live = auth.require(session, Operation.CHECK_BALANCE)
    if port.startswith("sim://"):
        raise InputError(
            "the built-in simulated balance needs no check: its batches are for "
            "training only (check a real balance, or a simulator on a port)"
        )
    info = balance.identify()
    row, weight, rule, replicates = _prepare(auth, info, port, weight_id)
    steps = _Procedure(balance, prompt, cancel, wait_s)
    prompt(
        f"Balance {row.asset_tag} ({info.model} #{info.serial_number}): clear the pan and close "
        "the draft shield; printpharm zeroes it."
    )
    balance.zero()
    raw: list[str] = []
    readings: list[Decimal] = []
    for n in range(1, replicates + 1):
        prompt(
            f"Put check weight {weight_id} ({weight.nominal_g} g) on the pan ({n}/{replicates})."
        )
        weighing = steps.wait_for(True, weight.nominal_g)
        grams, _ = _grams(weighing)
        readings.append(grams)
        raw.append(weighing.raw.strip())
        prompt(f"Reading {n}: {grams} g. Take the weight off the pan.")
        steps.wait_for(False, weight.nominal_g)
    return _store(auth, live, row.id, str(row.asset_tag), weight, readings, raw, rule, info)


def _prepare(
    auth: AuthService, info: BalanceInfo, port: str, weight_id: str
) -> tuple[DeviceRow, CheckWeightRecord, BalanceRule, int]:
    """The registered balance in service, a valid suitable weight, the rule and replicates."""
    with auth.uow(write=False) as uow:
        row = uow.devices.get("balance", info.serial_number)
        if row is None:
            raise InputError(
                f"balance #{info.serial_number} on {port} is not registered; "
                "register it first: printpharm equipment add balance ..."
            )
        view = view_device(uow, row)
        weight = uow.check_weights.get(weight_id)
        today = uow.now().date()
        rule = _rule(uow)
        replicates = max(MIN_REPLICATES, setting_days(uow, REPLICATES_SETTING, MIN_REPLICATES))
    if row.status != "in_service":
        raise InputError(
            f"balance {row.asset_tag} is {row.status.replace('_', ' ')}: {view.status.text}"
        )
    if weight is None:
        raise InputError(
            f"check weight {weight_id!r} is not registered (printpharm equipment add-weight)"
        )
    if weight.certificate_expiry < today:
        raise InputError(
            f"the certificate {weight.certificate} of check weight {weight_id} expired on "
            f"{weight.certificate_expiry}; recertify the weight"
        )
    unsuited = weight_suitability(
        weight.nominal_g, weight.uncertainty_mg, rule, _capacity_g(info.capacity)
    )
    if unsuited:
        raise InputError(f"check weight {weight_id}: {unsuited}")
    return row, weight, rule, replicates


def _store(
    auth: AuthService,
    live: UserSession,
    device_id: int,
    tag: str,
    weight: CheckWeightRecord,
    readings: list[Decimal],
    raw: list[str],
    rule: BalanceRule,
    info: BalanceInfo,
) -> BalanceCheckOutcome:
    rep = repeatability(readings, weight.nominal_g)
    acc = accuracy(readings, weight.conventional_mass_g, rule)
    passed = rep.passed and acc.passed
    result = {
        "rule": rule.chapter,
        "repeatability_passed": rep.passed,
        "repeatability": rep.reason,
        "s_g": rep.s_g,
        "s_used_g": rep.s_used_g,
        "floored": rep.floored,
        "d_g": rep.d_g,
        "accuracy_passed": acc.passed,
        "accuracy": acc.reason,
        "mean_g": acc.mean_g,
        "deviation_pct": acc.deviation_pct,
        "limit_pct": acc.limit_pct,
        "minimum_weight_mg": rep.minimum_weight_mg,
        "balance": {
            "model": info.model,
            "capacity": info.capacity,
            "serial_number": info.serial_number,
        },
    }
    cert = {k: v for k, v in weight.__dict__.items() if k not in ("registered_by", "registered_at")}
    with auth.uow() as uow:
        record = uow.balance_checks.add(
            device_id,
            uow.now(),
            live.user_id,
            cert,
            {"readings_g": readings, "raw": raw},
            result,
            passed,
            rep.minimum_weight_mg,
        )
        uow.audit.append(
            AuditEntry(
                "balance_check",
                "create",
                f"{tag}/{record.id}",
                live.user_id,
                live.full_name,
                reason="passed" if passed else "FAILED",
                new={**result, "weight": cert},
            )
        )
    return BalanceCheckOutcome(record, tag, rep.reason, acc.reason)


def check_balance_on_port(
    auth: AuthService,
    session: UserSession,
    port: str,
    weight_id: str,
    prompt: Callable[[str], None],
    *,
    baudrate: int = 9600,
    wait_s: float = 120.0,
) -> BalanceCheckOutcome:
    """:func:`run_balance_check` on the balance at ``port`` (opened and closed here).

    Raises
    ------
    DeviceError
        The port cannot be opened; otherwise as :func:`run_balance_check`.
    """
    balance = Balance(open_transport(port, baudrate=baudrate))
    try:
        return run_balance_check(auth, session, balance, port, weight_id, prompt, wait_s=wait_s)
    finally:
        balance.transport.close()
