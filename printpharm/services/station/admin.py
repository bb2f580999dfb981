"""Site settings and registered balances for the Administration page (Qt-free).

Private to :mod:`printpharm.services.station.workstation`. Turns
:mod:`printpharm.services.control.site_settings` and
:mod:`printpharm.services.control.device_registry` into rows of text a table can show,
and parses what the administrator typed (a calibration date as ``YYYY-MM-DD``).
The services decide everything else: the limits of a setting, who may change
it, the signature, the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from printpharm.errors import InputError, SessionExpired
from printpharm.services.access.auth import AuthService
from printpharm.services.access.permissions import Operation
from printpharm.services.control import site_settings
from printpharm.services.control.device_registry import (
    DEFAULT_VALIDITY_DAYS,
    VALIDITY_SETTING,
    calibration_due,
    judge_registration,
    register_balance,
    registered_balances,
)
from printpharm.services.station.records_app import SETTING_KEYS
from printpharm.services.station.session import StationSession
from printpharm.storage.batches import DeviceRow

__all__ = ["BalanceRow", "SettingRow", "SiteAdmin", "parse_calibration_date"]


@dataclass(frozen=True)
class SettingRow:
    """One site setting as the Administration page lists it.

    ``value`` is the value in force (stored, or the default) as text; ``choices``
    is empty for a whole-number setting; ``version``, ``changed_by`` and
    ``changed_at`` (local time) are ``None`` while the default applies;
    ``on_restart`` says the value is read when printpharm starts (security
    settings), not at the next run; ``running`` is the different value this
    workstation still uses until then (``None`` when it uses ``value``).
    """

    key: str
    meaning: str
    unit: str
    value: str
    default: str
    allowed: str
    choices: tuple[str, ...]
    version: int | None
    changed_by: str | None
    changed_at: datetime | None
    on_restart: bool
    running: str | None = None

    @property
    def shown_value(self) -> str:
        """``600``, or ``600 (900 until restart)`` while this workstation still uses 900."""
        if self.running is None:
            return self.value
        return f"{self.value} ({self.running} until restart)"

    @property
    def origin(self) -> str:
        """``default``, or ``version 2 by admin.root, 2026-11-22 10:00``."""
        if self.version is None:
            return "default"
        when = self.changed_at.strftime("%Y-%m-%d %H:%M") if self.changed_at else "?"
        return f"version {self.version} by {self.changed_by or '?'}, {when}"


@dataclass(frozen=True)
class BalanceRow:
    """One registered balance: its calibration, the last valid day, and whether it is valid."""

    serial: str
    model: str
    calibrated: date | None
    due: date | None
    valid: bool


def parse_calibration_date(text: str) -> date:
    """The calibration date typed as ``YYYY-MM-DD``.

    Raises
    ------
    InputError
        ``text`` is not such a date.
    """
    value = text.strip()
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"calibration date {text!r} is not a date YYYY-MM-DD") from None


class SiteAdmin:
    """Site settings and balances for the logged-in user of ``session``."""

    def __init__(self, session: StationSession) -> None:
        self._session = session

    def may_configure(self) -> bool:
        """Whether the logged-in user may change settings and register balances."""
        return self._session.may(Operation.CONFIGURE_SITE)

    def today(self) -> date:
        """Today by the clock of the audit trail (the day the services judge by)."""
        return self._session.now().date()

    def _auth(self) -> AuthService:
        services = self._session.services
        if services is None:
            raise SessionExpired("the database is not open; log in again")
        return services.auth

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> list[SettingRow]:
        """Every changeable setting with its value in force and who changed it last.

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not view records.
        """
        user = self._session.require(Operation.VIEW_RECORDS)
        auth = self._auth()
        running = _running_values(auth)
        return [_setting_row(v, running) for v in site_settings.view(auth, user)]

    def change_setting(self, key: str, text: str, reason: str, password: str) -> SettingRow:
        """Change ``key`` to ``text``, signed by the administrator's password; the new row.

        Raises
        ------
        InputError
            Unknown key, a value outside its limits, the value already stored, or no
            reason (the message says why).
        PermissionDenied, SessionExpired
            The role may not configure the site.
        AuthenticationFailed, AccountLocked
            The password is wrong (counted toward the lockout).
        """
        user = self._session.user
        if user is None:
            raise SessionExpired("not logged in")
        site_settings.change_setting(self._auth(), user, key, text, reason, password)
        return next(row for row in self.settings() if row.key == key)

    # -- balances ---------------------------------------------------------------------------

    def calibration_validity_days(self) -> int:
        """Days a balance calibration stays valid (the setting in force)."""
        user = self._session.require(Operation.VIEW_RECORDS)
        return _validity_days(site_settings.view(self._auth(), user))

    def balances(self) -> list[BalanceRow]:
        """Every registered balance with its calibration due date and validity today.

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not view records.
        """
        user = self._session.require(Operation.VIEW_RECORDS)
        days, today = self.calibration_validity_days(), self.today()
        return [_balance_row(r, days, today) for r in registered_balances(self._auth(), user)]

    def register_balance(self, serial: str, model: str, calibrated_text: str) -> BalanceRow:
        """Register a balance, or record its new calibration date (audited); its row.

        Raises
        ------
        InputError
            No serial number, a date that is not ``YYYY-MM-DD``, or a future date.
        PermissionDenied, SessionExpired
            The role may not configure the site.
        """
        if not serial.strip():
            raise InputError("enter the balance's serial number (as it reports it to I4)")
        calibrated = parse_calibration_date(calibrated_text)
        user = self._session.require(Operation.CONFIGURE_SITE)
        row = register_balance(
            self._auth(), user, serial.strip(), calibrated, model.strip() or None
        )
        return next(b for b in self.balances() if b.serial == row.serial_number)


def _running_values(auth: AuthService) -> dict[str, str]:
    """The security settings as this workstation's services were opened with them."""
    config = auth.config
    values = {}
    for key, name in SETTING_KEYS.items():
        owner = config if hasattr(config, name) else config.policy
        values[key] = str(getattr(owner, name))
    return values


def _setting_row(view: site_settings.SettingView, running: dict[str, str]) -> SettingRow:
    setting, stored = view.setting, view.stored
    value = str(view.value)
    in_use = running.get(setting.key, value)
    return SettingRow(
        key=setting.key,
        meaning=setting.meaning,
        unit=setting.unit,
        value=value,
        default=str(setting.default),
        allowed=setting.allowed,
        choices=setting.choices,
        version=None if stored is None else stored.version,
        changed_by=None if stored is None else stored.updated_by,
        changed_at=None if stored is None else stored.updated_at.astimezone(),
        on_restart=setting.key in SETTING_KEYS,
        running=None if in_use == value else in_use,
    )


def _validity_days(views: list[site_settings.SettingView]) -> int:
    for view in views:
        if view.setting.key == VALIDITY_SETTING:
            return int(view.value)
    return DEFAULT_VALIDITY_DAYS


def _balance_row(row: DeviceRow, days: int, today: date) -> BalanceRow:
    due = None if row.calibration_date is None else calibration_due(row.calibration_date, days)
    return BalanceRow(
        serial=row.serial_number,
        model=row.model or "",
        calibrated=row.calibration_date,
        due=due,
        # the same judge as the run's preflight and ``printpharm doctor``
        valid=judge_registration(row, days, today, f"balance #{row.serial_number}").passed,
    )
