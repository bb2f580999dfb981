"""The cleaning log of printers and print heads, and the rule a batch's preflight applies.

A cleaning names who cleaned, when, by which procedure (SOP reference) and what
was cleaned. After a batch made with a cytotoxic ink (the ink file's
``cytotoxic = true``) the cleaning must follow the site's cytotoxic procedure
(site setting ``cleaning.cytotoxic_procedure``) and a second person checks it,
re-entering their own user ID and password.

The rule (:func:`cleaning_check`): a batch may be printed on a registered
printer only if the printer's last use was of the same API and not cytotoxic,
or a cleaning was logged after that use — a cytotoxic-procedure cleaning,
checked by a second person, when that use was cytotoxic. A use is a batch, or a
calibration series printed on the printer (:mod:`printpharm.storage.printer_uses`):
discs of a cytotoxic paste soil the printer as tablets do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from printpharm.errors import InputError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.second_person import second_person
from printpharm.services.control.equipment import find_device
from printpharm.services.run.preflight import PreflightCheck
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import BatchRow, DeviceRow
from printpharm.storage.equipment import CleaningEntry
from printpharm.storage.repositories import UnitOfWork

__all__ = [
    "CYTOTOXIC_PROCEDURE_SETTING",
    "LastUse",
    "batch_product",
    "cleaning_check",
    "cleanings",
    "last_use",
    "log_cleaning",
]

#: Site setting: the reference of the site's cleaning procedure after cytotoxic APIs.
CYTOTOXIC_PROCEDURE_SETTING = "cleaning.cytotoxic_procedure"


def batch_product(row: BatchRow) -> tuple[str, bool]:
    """The API a recorded batch used and whether its ink was cytotoxic."""
    controls = row.details.get("controls") or {}
    product = controls.get("product") or {}
    api = product.get("api") or (row.details.get("recipe") or {}).get("api") or "?"
    return str(api), bool(product.get("cytotoxic", False))


@dataclass(frozen=True)
class LastUse:
    """What a printer printed last: a batch or a calibration series, and its API."""

    what: str
    at: datetime
    api: str
    cytotoxic: bool
    details: dict[str, str]

    @property
    def kind(self) -> str:
        """The API as the rule's messages name it (``"X, cytotoxic"``)."""
        return f"{self.api}, cytotoxic" if self.cytotoxic else self.api


def last_use(uow: UnitOfWork, printer_id: int) -> LastUse | None:
    """The newest of the printer's last batch and its last calibration series, or ``None``."""
    uses = []
    batch = uow.batches.last_on_printer(printer_id)
    if batch is not None:
        api, toxic = batch_product(batch)
        what = f"batch {batch.batch_id}"
        uses.append(LastUse(what, batch.created_at, api, toxic, {"after_batch": batch.batch_id}))
    series = uow.printer_uses.last(printer_id)
    if series is not None:
        uses.append(
            LastUse(series.reference, series.used_at, series.api, series.cytotoxic,
                    {"after_" + series.purpose: series.reference})
        )  # fmt: skip
    return max(uses, key=lambda use: use.at) if uses else None


def _printer_of(uow: UnitOfWork, row: DeviceRow) -> DeviceRow:
    return find_device(uow, row.mounted_on) if row.kind == "print_head" and row.mounted_on else row


def _last_use_of(uow: UnitOfWork, row: DeviceRow) -> LastUse | None:
    printer = _printer_of(uow, row)
    return last_use(uow, printer.id) if printer.kind == "printer" else None


def _second_person(auth: AuthService, cleaner: str, checker: str, password: str) -> str:
    with second_person(
        auth, checker, password, Operation.CLEAN_EQUIPMENT, first=cleaner,
        same=f"{cleaner} cleaned and cannot also check the cleaning: a second person checks it",
        check="second-person check of the cleaning",
    ) as session:  # fmt: skip
        return session.user_id


def log_cleaning(
    auth: AuthService,
    session: UserSession,
    asset_tag: str,
    method_sop: str,
    parts: str,
    *,
    cytotoxic: bool = False,
    checked_by: str | None = None,
    checker_password: str | None = None,
    notes: str | None = None,
) -> CleaningEntry:
    """Log a cleaning of the printer or print head ``asset_tag`` (audited).

    The cleaning counts as cytotoxic when asked (``cytotoxic``) or when the
    printer's last use (batch or calibration series) was cytotoxic; it then needs
    the site's cytotoxic procedure and a second person's check.

    Raises
    ------
    InputError
        Unknown tag, not a printer or print head, no procedure or parts, or (cytotoxic)
        the site has declared no cytotoxic procedure, another procedure, or no checker.
    PermissionDenied, AuthenticationFailed, AccountLocked, SessionExpired
        The role may not clean equipment, or the checker is the cleaner, cannot clean
        equipment, or gave wrong credentials.
    """
    live = auth.require(session, Operation.CLEAN_EQUIPMENT)
    if not method_sop.strip() or not parts.strip():
        raise InputError("a cleaning needs the procedure (SOP reference) and what was cleaned")
    with auth.uow(write=False) as uow:
        row = find_device(uow, asset_tag)
        if row.kind not in ("printer", "print_head"):
            raise InputError(
                f"{asset_tag} is a {row.kind}; the cleaning log is for printers and heads"
            )
        last = _last_use_of(uow, row)
        procedure = uow.settings.get(CYTOTOXIC_PROCEDURE_SETTING)
    needed = cytotoxic or (last is not None and last.cytotoxic)
    checker = None
    if needed:
        checker = _cytotoxic_rules(auth, live, method_sop, procedure, checked_by, checker_password)
    with auth.uow() as uow:
        entry = uow.cleaning.add(
            row.id,
            uow.now(),
            live.user_id,
            method_sop.strip(),
            parts.strip(),
            needed,
            checker,
            (notes or "").strip() or None,
        )
        uow.audit.append(
            AuditEntry(
                "cleaning",
                "create",
                str(row.asset_tag),
                live.user_id,
                live.full_name,
                reason=method_sop.strip(),
                new=entry.__dict__,
            )
        )
    return entry


def _cytotoxic_rules(
    auth: AuthService,
    live: UserSession,
    method_sop: str,
    procedure: Any,
    checked_by: str | None,
    password: str | None,
) -> str:
    declared = "" if procedure is None else str(procedure.value).strip()
    if not declared:
        raise InputError(
            "this cleaning follows a cytotoxic batch, but the site has declared no cytotoxic "
            f"cleaning procedure: an administrator sets {CYTOTOXIC_PROCEDURE_SETTING}"
        )
    if method_sop.strip() != declared:
        raise InputError(
            f"after a cytotoxic batch the cleaning follows the site's cytotoxic procedure "
            f"{declared}, not {method_sop.strip()!r}"
        )
    if not checked_by or password is None:
        raise InputError(
            "a cytotoxic cleaning needs a second person's check (their user ID and password)"
        )
    return _second_person(auth, live.user_id, checked_by, password)


def cleanings(auth: AuthService, session: UserSession, asset_tag: str) -> list[CleaningEntry]:
    """The cleaning log of one printer or print head, oldest first.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not view records.
    InputError
        Unknown tag.
    """
    auth.require(session, Operation.VIEW_RECORDS)
    with auth.uow(write=False) as uow:
        return uow.cleaning.for_device(find_device(uow, asset_tag).id)


def cleaning_check(
    uow: UnitOfWork, printer: DeviceRow, api: str
) -> tuple[PreflightCheck, dict[str, Any]]:
    """Whether ``printer`` may print ``api`` now, and what the batch record says of it."""
    tag = printer.asset_tag
    last = last_use(uow, printer.id)
    if last is None:
        return PreflightCheck("cleaning", True, f"printer {tag}: nothing printed on it yet"), {}
    if last.api == api and not last.cytotoxic:
        detail = f"printer {tag}: last {last.what} used the same API ({api})"
        return PreflightCheck("cleaning", True, detail), dict(last.details)
    since = uow.cleaning.for_device(printer.id, since=last.at)
    valid = [c for c in since if not last.cytotoxic or (c.cytotoxic and c.checked_by)]
    if valid:
        c = valid[-1]
        checked = f", checked by {c.checked_by}" if c.checked_by else ""
        detail = (
            f"printer {tag}: cleaned {c.cleaned_at:%Y-%m-%d %H:%M} UTC by {c.cleaned_by} "
            f"({c.method_sop}{checked}) after {last.what} ({last.kind})"
        )
        return PreflightCheck("cleaning", True, detail), {**last.details, **c.__dict__}
    how = (
        " by the site's cytotoxic procedure, checked by a second person," if last.cytotoxic else ""
    )
    detail = (
        f"printer {tag} last printed {last.what} ({last.kind}) and no cleaning{how} is "
        f"logged since: clean it before printing {api} (printpharm equipment clean {tag} ...)"
    )
    return PreflightCheck("cleaning", False, detail), dict(last.details)
