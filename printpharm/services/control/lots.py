"""Ink lots: recorded, assayed, released by a pharmacist, bound to recorded runs.

A pharmacy prepares ink (paste syringes, drug-loaded filament) in lots. A lot is
recorded in quarantine (technicians and up, :data:`Operation.ADD_LOT`) for one ink
*version* of the library (by default the locked version in force), with its
preparation date and preparer, quantity (mL or g), container and beyond-use date
(preparation + the ink's ``stability``, which the site may shorten, never
lengthen). Its bulk assay (mg/g or % of label claim, with method, analyst and
uncertainty) may be given then or later while it is in quarantine. A pharmacist
(not the preparer) releases it with an electronic signature bound to the lot's
content; a lot may be rejected with a signature at any time before it is used up.
A recorded run binds one lot (:meth:`LotService.bind`), which must be released or
in use, in date, of the ink and ink version printed, with enough ink left. Every
change is audited.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from printpharm.catalog.schema import Ink
from printpharm.core.ink_lots import AssayBasis, BulkAssay, beyond_use_date
from printpharm.errors import InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import Meaning, RecordsService, SignableRecord
from printpharm.services.control._library_content import model_from_content
from printpharm.services.control.ink_versions import resolve_ink_version, version_in_use
from printpharm.services.run.lot import BoundLot, InkNeed, QuantityUnit
from printpharm.services.run.preflight import PreflightCheck, check_lot
from printpharm.storage.audit import AuditEntry
from printpharm.storage.lots import LotRecord
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.signatures import SignatureRecord

__all__ = [
    "LotBinding",
    "LotEntry",
    "LotService",
    "LotView",
    "bound_lot",
    "lot_assay",
]

_UNITS = ("mL", "g")
_ACTIONS = {"released": "release", "rejected": "reject"}
_NO_LOCKED_VERSION = (
    "a lot belongs to the ink version in force (lock one, or give the ink version explicitly)"
)


@dataclass(frozen=True)
class LotEntry:
    """A lot as a person enters it; ``None`` fields take defaults (:meth:`LotService.add`)."""

    lot_number: str
    ink_id: str
    prepared_on: date
    quantity: Decimal
    quantity_unit: str
    container: str
    prepared_by: str | None = None
    beyond_use_date: date | None = None
    ink_version: int | None = None
    gtin: str | None = None
    assay: BulkAssay | None = None
    density_g_per_ml: Decimal | None = None


@dataclass(frozen=True)
class LotView:
    """A lot as the screens show it: the record, its status today and its signatures."""

    lot: LotRecord
    status_today: str
    signatures: tuple[SignatureRecord, ...] = ()

    @property
    def assay(self) -> BulkAssay | None:
        """The bulk assay, if recorded."""
        return lot_assay(self.lot)


@dataclass(frozen=True)
class LotBinding:
    """A lot bound to a planned run: the lot, the check the run records, the ink version."""

    lot: BoundLot
    check: PreflightCheck
    ink_version: int | None


def lot_assay(lot: LotRecord) -> BulkAssay | None:
    """The lot's bulk assay as a domain object, or ``None``."""
    if lot.assay_basis is None or lot.assay_value is None:
        return None
    basis: AssayBasis = "mg_per_g" if lot.assay_basis == "mg_per_g" else "pct_label_claim"
    return BulkAssay(
        basis,
        lot.assay_value,
        lot.assay_method or "",
        lot.assay_analyst or "",
        lot.assay_uncertainty,
    )


def bound_lot(lot: LotRecord) -> BoundLot:
    """The run's view of a recorded lot (status and quantity as they are now)."""
    unit: QuantityUnit = "g" if lot.quantity_unit == "g" else "mL"
    return BoundLot(
        lot.lot_number,
        lot.ink_id,
        lot.ink_version,
        lot.status,
        lot.beyond_use_date,
        lot.quantity_remaining,
        unit,
        lot_assay(lot),
        lot.density_g_per_ml,
        "database",
        lot.id,
        lot.container,
    )


def signable(lot: LotRecord) -> SignableRecord:
    """What a release or rejection signature is bound to (content, not status or quantity left)."""
    content = {
        k: v
        for k, v in dataclasses.asdict(lot).items()
        if k not in ("status", "status_reason", "quantity_remaining", "id", "version")
    }
    return SignableRecord("ink_lot", lot.lot_number, lot.version, content, lot.prepared_by)


def _status_today(lot: LotRecord, today: date) -> str:
    if lot.status in ("quarantine", "released", "in_use") and lot.beyond_use_date < today:
        return "expired"
    return lot.status


def _entry_problems(entry: LotEntry) -> list[str]:
    problems = []
    if entry.quantity_unit not in _UNITS:
        problems.append(f"quantity unit {entry.quantity_unit!r} is not mL or g")
    if not entry.quantity.is_finite() or entry.quantity <= 0:
        problems.append(f"quantity {entry.quantity} must be positive")
    if not entry.container.strip():
        problems.append("the container (syringe size or spool) is missing")
    density = entry.density_g_per_ml
    if density is not None and not (Decimal("0.5") <= density <= Decimal(3)):
        problems.append(f"measured density {density} g/mL is outside 0.5–3.0 g/mL")
    if entry.gtin is not None and not (entry.gtin.isdigit() and len(entry.gtin) == 14):
        problems.append(f"GTIN {entry.gtin!r} is not 14 digits")
    return problems


class LotService:
    """Ink lots of one database (permissions via ``auth``; signatures via ``records``)."""

    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self._auth = auth
        self._records = records

    # -- reading ------------------------------------------------------------------------
    def list(
        self, session: UserSession, ink_id: str | None = None, status: str | None = None
    ) -> list[LotView]:
        """Lots, newest first (``status`` filters on the status as of today).

        Raises
        ------
        PermissionDenied
            The role may not view records.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            today = uow.now().date()
            views = [LotView(lot, _status_today(lot, today)) for lot in uow.lots.all(ink_id)]
        return [v for v in views if status is None or v.status_today == status]

    def show(self, session: UserSession, lot_number: str) -> LotView:
        """One lot with its signatures.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such lot.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            lot = uow.lots.find(lot_number)
            if lot is None:
                raise RecordError(f"ink lot {lot_number!r} is not recorded")
            sigs = tuple(uow.signatures.for_record("ink_lot", lot_number))
            return LotView(lot, _status_today(lot, uow.now().date()), sigs)

    # -- recording ----------------------------------------------------------------------
    def add(self, session: UserSession, entry: LotEntry) -> LotRecord:
        """Record a prepared lot in quarantine.

        Defaults: ``prepared_by`` the session's user, ``ink_version`` the ink's locked
        library version, ``beyond_use_date`` preparation + the ink's stability.

        Raises
        ------
        PermissionDenied
            The role may not add lots.
        InputError
            A value is not acceptable (each problem is named), the ink states no
            stability, the beyond-use date would lengthen it or has passed, or the
            preparer is not an active user.
        RecordError
            The lot number exists, or the ink (version) is not in the library.
        """
        live = self._auth.require(session, Operation.ADD_LOT)
        problems = _entry_problems(entry)
        if problems:
            raise InputError(f"ink lot {entry.lot_number}: " + "; ".join(problems))
        with self._auth.uow() as uow:
            version = resolve_ink_version(
                uow, entry.ink_id, entry.ink_version, why=_NO_LOCKED_VERSION
            )
            ink = model_from_content("ink", version.content["model"])
            assert isinstance(ink, Ink)
            stability = ink.stability_days()
            if stability is None:
                raise InputError(
                    f"ink {ink.id} v{version.version} states no stability (days): its beyond-use "
                    "date cannot be set; add `stability` to the ink and lock the new version"
                )
            bud = beyond_use_date(entry.prepared_on, stability, entry.beyond_use_date)
            today = uow.now().date()
            _check_dates(entry.prepared_on, bud, today)
            preparer = _preparer(uow, entry.prepared_by or live.user_id)
            lot = uow.lots.add(
                _record(entry, version.version, preparer, bud, live.user_id, uow.now())
            )
            uow.audit.append(
                AuditEntry(
                    "ink_lot",
                    "create",
                    lot.lot_number,
                    live.user_id,
                    live.full_name,
                    new={**dataclasses.asdict(lot), "stability_days": stability},
                )
            )
        return lot

    def record_assay(
        self,
        session: UserSession,
        lot_number: str,
        assay: BulkAssay,
        density_g_per_ml: Decimal | None = None,
        reason: str | None = None,
    ) -> LotRecord:
        """Record the bulk assay (and measured density) of a lot in quarantine.

        Replacing an assay already recorded is a modification and needs ``reason``.

        Raises
        ------
        PermissionDenied
            The role may not add lots.
        InputError
            An assay is replaced without a reason.
        RecordError
            No such lot, or it is no longer in quarantine.
        """
        live = self._auth.require(session, Operation.ADD_LOT)
        with self._auth.uow() as uow:
            before = uow.lots.find(lot_number)
            old = None if before is None else lot_assay(before)
            lot = uow.lots.set_assay(
                lot_number, assay.basis, assay.value, assay.uncertainty, assay.method,
                assay.analyst or None, density_g_per_ml,
            )  # fmt: skip
            if old is not None and not (reason or "").strip():  # rolls the change back
                raise InputError(f"ink lot {lot_number} has an assay already: give the reason "
                                 "for replacing it")  # fmt: skip
            uow.audit.append(
                AuditEntry(
                    "ink_lot", "assay" if old is None else "modify", lot_number, live.user_id,
                    live.full_name, field="assay", reason=reason,
                    old=None if old is None else dataclasses.asdict(old),
                    new={**dataclasses.asdict(assay), "density_g_per_ml": density_g_per_ml,
                         "version": lot.version},
                )
            )  # fmt: skip
        return lot

    # -- release and rejection ------------------------------------------------------------
    def release(
        self,
        session: UserSession,
        lot_number: str,
        user_id: str,
        password: str,
        comment: str | None = None,
    ) -> SignatureRecord:
        """Release a lot in quarantine with a pharmacist's e-signature (never the preparer's).

        Raises
        ------
        PermissionDenied
            The role may not release lots, or the signer prepared the lot.
        RecordError
            No such lot, it is not in quarantine, it has no bulk assay, or it is past
            its beyond-use date (it is then marked expired).
        SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
            As :meth:`RecordsService.sign`.
        """
        self._auth.require(session, Operation.RELEASE_LOT)
        lot = self._current(session, lot_number)
        if lot.status != "quarantine":
            raise RecordError(
                f"ink lot {lot_number} is {lot.status}; only a lot in quarantine can be released"
            )
        if lot_assay(lot) is None:
            raise RecordError(
                f"ink lot {lot_number} has no bulk assay: record it "
                "(printpharm lots assay) before release"
            )
        return self._sign(session, lot, Meaning.RELEASED, user_id, password, comment, "released")

    def reject(
        self, session: UserSession, lot_number: str, user_id: str, password: str, reason: str
    ) -> SignatureRecord:
        """Reject a lot with a pharmacist's e-signature and a reason.

        Raises
        ------
        InputError
            No reason.
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed
            As :meth:`release` (a used-up, rejected or expired lot cannot be rejected).
        """
        self._auth.require(session, Operation.RELEASE_LOT)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to reject ink lot {lot_number}")
        lot = self._current(session, lot_number)
        return self._sign(session, lot, Meaning.REJECTED, user_id, password, reason, "rejected")

    def _current(self, session: UserSession, lot_number: str) -> LotRecord:
        """The lot, after marking it expired if its beyond-use date has passed (audited)."""
        with self._auth.uow() as uow:
            lot = uow.lots.find(lot_number)
            if lot is None:
                raise RecordError(f"ink lot {lot_number!r} is not recorded")
            if _status_today(lot, uow.now().date()) == "expired" and lot.status != "expired":
                lot = _expire(uow, lot)
        if lot.status == "expired":
            raise RecordError(
                f"ink lot {lot_number} is past its beyond-use date {lot.beyond_use_date}: expired"
            )
        return lot

    def _sign(
        self,
        session: UserSession,
        lot: LotRecord,
        meaning: Meaning,
        user_id: str,
        password: str,
        comment: str | None,
        status: str,
    ) -> SignatureRecord:
        record = signable(lot)

        def move(uow: UnitOfWork) -> None:
            now = uow.lots.find(lot.lot_number)
            if now is None or signable(now).content_sha256() != record.content_sha256():
                raise RecordError(f"ink lot {lot.lot_number} changed while it was being signed")
            uow.lots.set_status(lot.lot_number, status, comment)
            signer = uow.users.get(user_id)
            uow.audit.append(
                AuditEntry(
                    "ink_lot",
                    _ACTIONS[status],
                    lot.lot_number,
                    user_id,
                    None if signer is None else signer.full_name,
                    reason=comment,
                    old={"status": now.status},
                    new={"status": status},
                )
            )

        # The lot's preparer is its author: the signature service refuses (and audits) them.
        return self._records.sign(session, record, meaning, user_id, password, comment, move)

    # -- runs ---------------------------------------------------------------------------
    def bind(
        self, session: UserSession, lot_text: str, ink: Ink, need: InkNeed | None
    ) -> LotBinding:
        """Check a lot for a run printing ``ink`` that needs ``need``; never raises a refusal.

        The returned check fails (with every reason) when the lot is not released or in
        use, past its beyond-use date (it is then marked expired, audited), of another
        ink or ink version, or has too little ink left.

        Raises
        ------
        PermissionDenied
            The role may not run prints.
        RecordError
            No lot has that number.
        """
        from printpharm.services.control.barcodes import read_lot_code

        self._auth.require(session, Operation.RUN_PRINT)
        number = read_lot_code(lot_text).lot_number or lot_text.strip()
        with self._auth.uow() as uow:
            lot = uow.lots.find(number)
            if lot is None:
                raise RecordError(f"ink lot {number!r} is not recorded (printpharm lots list)")
            today = uow.now().date()
            if _status_today(lot, today) == "expired" and lot.status != "expired":
                lot = _expire(uow, lot)
            version = version_in_use(uow, ink)
        bound = bound_lot(lot)
        return LotBinding(bound, check_lot(bound, ink.id, version, need, today), version)


def _check_dates(prepared_on: date, bud: date, today: date) -> None:
    if prepared_on > today:
        raise InputError(f"preparation date {prepared_on} is in the future (today {today})")
    if bud < today:
        raise InputError(f"beyond-use date {bud} has passed (today {today}): the lot is expired")


def _preparer(uow: UnitOfWork, user_id: str) -> str:
    user = uow.users.get(user_id)
    if user is None or not user.active:
        raise InputError(f"preparer {user_id!r} is not an active user of this database")
    return user_id


def _record(
    entry: LotEntry, version: int, preparer: str, bud: date, recorder: str, at: Any
) -> LotRecord:
    a = entry.assay
    return LotRecord(
        entry.lot_number,
        entry.ink_id,
        version,
        entry.prepared_on,
        preparer,
        entry.quantity,
        entry.quantity,
        entry.quantity_unit,
        entry.container.strip(),
        bud,
        recorder,
        at,
        entry.gtin,
        None if a is None else a.basis,
        None if a is None else a.value,
        None if a is None else a.uncertainty,
        None if a is None else a.method,
        None if a is None else (a.analyst or None),
        entry.density_g_per_ml,
    )


def _expire(uow: UnitOfWork, lot: LotRecord) -> LotRecord:
    reason = f"beyond-use date {lot.beyond_use_date} passed"
    after = uow.lots.set_status(lot.lot_number, "expired", reason)
    uow.audit.append(
        AuditEntry(
            "ink_lot",
            "expire",
            lot.lot_number,
            reason=reason,
            old={"status": lot.status},
            new={"status": "expired"},
        )
    )
    return after
