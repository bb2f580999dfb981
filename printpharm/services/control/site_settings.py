"""The site settings an administrator may change, their limits, and the signed change (OPS-05).

Each setting is declared here with its meaning, unit, default and limits, so a
value is checked before it is stored and an error says what is allowed. A
change needs the ``settings.configure`` permission, a reason and the
administrator's password re-entered (an electronic signature of the change);
the stored setting is versioned and the change is in the audit trail with the
old and new values. Every audit event carries the configuration version in
force (``config_version``), so each result states the configuration it was
made under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from printpharm.core.uniformity import POLICIES
from printpharm.core.units import parse_decimal, parse_integer
from printpharm.errors import InputError, PermissionDenied
from printpharm.services.access.auth import AuthConfig, AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.training import (
    DEFAULT_DUE_DAYS,
    DEFAULT_VALID_DAYS,
    DUE_SETTING,
    VALID_SETTING,
)
from printpharm.services.control.balance_check import (
    REPLICATES_SETTING,
    RULE_SETTING,
    VALID_DAYS_SETTING,
)
from printpharm.services.control.calibration_criteria import CRITERIA_SETTINGS
from printpharm.services.control.cleaning import CYTOTOXIC_PROCEDURE_SETTING
from printpharm.services.control.device_registry import DEFAULT_VALIDITY_DAYS, VALIDITY_SETTING
from printpharm.services.control.equipment_status import (
    DEFAULT_DUE_WARNING_DAYS,
    DUE_WARNING_SETTING,
    INTERVAL_SETTINGS,
)
from printpharm.services.control.library import TWO_PERSON_SETTING
from printpharm.services.control.line_clearance import SECOND_PERSON_SETTING
from printpharm.storage.audit import AuditEntry
from printpharm.storage.repositories import SettingRecord

__all__ = [
    "LOCAL_SPEC_SETTING",
    "MASS_POLICY_SETTING",
    "PROTECTED_SETTING_PREFIXES",
    "SETTINGS",
    "Setting",
    "SettingView",
    "change_setting",
    "view",
]

#: Ph. Eur. 2.9.5 reading of "deviates by more than": ``strict`` or ``gn_rounding``.
#: Settings of the audit trail: no role may switch it off or reconfigure it (Annex 11 §9).
PROTECTED_SETTING_PREFIXES = ("audit.",)
MASS_POLICY_SETTING = "qc.mass_uniformity_policy"
#: Whether a batch that no pharmacopoeial test could decide may be released on the
#: pharmacy's local specification (verdict ``local_spec_only``): ``not_allowed`` (default).
LOCAL_SPEC_SETTING = "qc.release_on_local_spec"


@dataclass(frozen=True)
class Setting:
    """One changeable site setting: meaning, unit, default and the values allowed."""

    key: str
    meaning: str
    unit: str
    default: Any
    low: int | Decimal | None = None
    high: int | Decimal | None = None
    choices: tuple[str, ...] = ()
    text: bool = False
    #: A decimal number (stored as its exact text, e.g. ``"0.995"``), not a whole number.
    decimal: bool = False

    @property
    def allowed(self) -> str:
        """The allowed values in words."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.text:
            return "a document reference: 1–64 letters, digits, spaces, '-', '_', '.', '/'"
        kind = "number" if self.decimal else "whole number"
        return f"a {kind} from {self.low} to {self.high}"

    def parse(self, text: str) -> Any:
        """The value of ``text`` for this setting.

        Raises
        ------
        InputError
            ``text`` is not an allowed value (the message says what is allowed).
        """
        value = text.strip()
        if self.text:
            if not _REFERENCE.match(value):
                raise InputError(f"{self.key} = {text!r}: must be {self.allowed}")
            return value
        if self.choices:
            if value not in self.choices:
                raise InputError(f"{self.key} = {text!r}: must be {self.allowed}")
            return value
        try:
            number: int | Decimal = (
                parse_decimal(value, self.key, InputError)
                if self.decimal
                else parse_integer(value, self.key)
            )
        except InputError:
            raise InputError(f"{self.key} = {text!r}: must be {self.allowed}") from None
        assert self.low is not None and self.high is not None
        if not self.low <= number <= self.high:
            unit = f" {self.unit}" if self.unit else ""
            raise InputError(f"{self.key} = {number}{unit}: must be {self.allowed}")
        return f"{number.normalize():f}" if isinstance(number, Decimal) else number


_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$")
_BASE = AuthConfig()
_S = Setting
SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        _S("auth.lockout_threshold", "failed sign-ins before an account locks", "attempts",
           _BASE.lockout_threshold, 3, 10),
        _S("session.idle_timeout_s", "idle time before the workstation locks", "s",
           _BASE.idle_timeout_s, 60, 3600),
        _S("research.max_duration_s", "longest research-mode period", "s",
           _BASE.max_research_s, 600, 24 * 3600),
        _S("password.min_length", "shortest password", "characters",
           _BASE.policy.min_length, 8, 64),
        _S("password.history", "earlier passwords that may not be reused", "passwords",
           _BASE.policy.history, 0, 24),
        _S("password.max_age_days", "days before a password must be changed (0: never)",
           "days", _BASE.policy.max_age_days, 0, 365),
        _S(VALIDITY_SETTING, "days a balance calibration stays valid", "days",
           DEFAULT_VALIDITY_DAYS, 1, 730),
        _S(MASS_POLICY_SETTING, "Ph. Eur. 2.9.5 reading: strict, or the General Notices "
           "rounding of deviations", "", "strict", choices=tuple(POLICIES)),
        *(_S(key, meaning, "days", default, 1, 730)
          for key, (meaning, default, _, _) in INTERVAL_SETTINGS.items()),
        _S(DUE_WARNING_SETTING, "days ahead a calibration or maintenance is listed as due",
           "days", DEFAULT_DUE_WARNING_DAYS, 0, 90),
        _S(VALID_DAYS_SETTING, "days a passed routine balance check stays valid (1: that day)",
           "days", 1, 1, 31),
        _S(REPLICATES_SETTING, "replicate weighings in the routine balance check", "weighings",
           10, 10, 30),
        _S(RULE_SETTING, "accuracy limit of the balance check: ph_eur 0.05 %, usp 0.10 %", "",
           "ph_eur", choices=("ph_eur", "usp")),
        _S(VALID_SETTING, "days a training record stays valid unless it says otherwise", "days",
           DEFAULT_VALID_DAYS, 30, 1825),
        _S(DUE_SETTING, "days ahead a training expiry is listed as due", "days",
           DEFAULT_DUE_DAYS, 0, 180),
        _S(SECOND_PERSON_SETTING, "whether a second person checks each line clearance", "",
           "not_required", choices=("not_required", "required")),
        _S(CYTOTOXIC_PROCEDURE_SETTING, "the site's cleaning procedure after cytotoxic APIs "
           "(empty: not declared, such cleanings are refused)", "", "", text=True),
        _S(LOCAL_SPEC_SETTING, "release a batch no pharmacopoeial uniformity test could "
           "decide on the local specification (verdict LOCAL_SPEC_ONLY)", "", "not_allowed",
           choices=("not_allowed", "allowed")),
        _S(TWO_PERSON_SETTING, "a library version is validated and locked by two different "
           "people", "", "on", choices=("on", "off")),
        *(_S(key, meaning, unit, default, low, high, decimal=isinstance(low, Decimal))
          for key, (meaning, unit, default, low, high) in CRITERIA_SETTINGS.items()),
    )
}  # fmt: skip


@dataclass(frozen=True)
class SettingView:
    """A setting with its value in force (stored, or the default) and who set it."""

    setting: Setting
    value: Any
    stored: SettingRecord | None


def view(auth: AuthService, session: UserSession) -> list[SettingView]:
    """Every changeable setting with its value in force.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        stored = uow.settings.all()
    return [
        SettingView(s, stored[k].value if k in stored else s.default, stored.get(k))
        for k, s in SETTINGS.items()
    ]


def change_setting(
    auth: AuthService,
    session: UserSession,
    key: str,
    text: str,
    reason: str,
    password: str,
) -> SettingRecord:
    """Change ``key`` to the value ``text`` with a reason, signed by the password re-entered.

    Raises
    ------
    InputError
        An unknown key, a value outside its limits, the value already stored, or an
        empty reason.
    PermissionDenied, SessionExpired
        The role may not configure the site, or the key belongs to the audit trail,
        which no role may switch off or reconfigure (the attempt is logged).
    AuthenticationFailed, AccountLocked
        The password is wrong (counted toward the lockout).
    """
    live = auth.require(session, Operation.CONFIGURE_SITE)
    if key.startswith(PROTECTED_SETTING_PREFIXES):
        with auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    "setting", "change-refused", key, live.user_id, live.full_name,
                    reason=reason, new={"value": text},
                )
            )  # fmt: skip
        raise PermissionDenied(f"setting {key!r}: the audit trail cannot be reconfigured")
    setting = SETTINGS.get(key)
    if setting is None:
        raise InputError(f"unknown site setting {key!r}; the settings are: {', '.join(SETTINGS)}")
    value = setting.parse(text)
    if not reason or not reason.strip():
        raise InputError(f"changing {key} needs a reason (it is recorded in the audit trail)")
    with auth.uow(write=False) as uow:
        stored = uow.settings.get(key)
    if stored is not None and stored.value == value:
        raise InputError(f"{key} is already {value}; nothing to change")
    auth.reauthenticate(session, live.user_id, password, "settings-change")
    with auth.uow() as uow:
        old = uow.settings.get(key)
        changed = uow.settings.put(key, value, live.user_id, uow.now())
        uow.audit.append(
            AuditEntry(
                "setting", "modify" if old else "create", key, live.user_id, live.full_name,
                field=key, reason=reason.strip(), old=None if old is None else old.value,
                new=value,
            )
        )  # fmt: skip
    return changed
