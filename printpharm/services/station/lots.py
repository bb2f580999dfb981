"""Ink lots and content uniformity for the desktop application (Qt-free).

Private to :mod:`printpharm.services.station.workstation`. Parses what was typed
or scanned (dates ``YYYY-MM-DD``, decimals, a GS1 code from a keyboard-wedge
scanner) and turns :mod:`printpharm.services.control.lots` and
:mod:`printpharm.services.records.content_uniformity` into rows of text; the
services decide everything else (who may do what, the lot and CU rules, the
signatures and the audit trail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from printpharm.core.ink_lots import AssayBasis, BulkAssay
from printpharm.errors import InputError, PrintpharmError, SessionExpired
from printpharm.services.access.auth import AuthService
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService, manifestation
from printpharm.services.control.barcodes import ScannedLot, read_lot_code
from printpharm.services.control.lots import LotBinding, LotEntry, LotService, LotView
from printpharm.services.control.print_authority import (
    PrintAuthorisation,
    authorise_request,
    bind_lot,
)
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.records.content_uniformity import (
    CuEntry,
    CuService,
    CuStatus,
    parse_cu_csv,
)
from printpharm.services.run.lot import number
from printpharm.services.station.batch import PlannedBatch
from printpharm.services.station.session import StationSession
from printpharm.storage.library import library
from printpharm.storage.lots import LotRecord

__all__ = ["LotForm", "LotRow", "StationLots", "authorise_with_lot"]


@dataclass(frozen=True)
class LotForm:
    """The add-lot form as typed: every field is text (empty = not given)."""

    code: str
    ink_id: str
    prepared: str
    quantity: str
    unit: str
    container: str
    beyond_use: str = ""
    assay: str = ""
    assay_basis: str = "mg_per_g"
    method: str = ""
    analyst: str = ""
    uncertainty: str = ""
    density: str = ""
    gtin: str = ""


@dataclass(frozen=True)
class LotRow:
    """One lot as the Lots page lists it."""

    lot_number: str
    ink: str
    status: str
    left: str
    beyond_use: str
    assay: str
    prepared: str
    gtin: str
    preparer: str


def _decimal(text: str, what: str) -> Decimal | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InputError(f"{what} {text!r} is not a finite number")
    return value


def _date(text: str, what: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _result_row(line: str) -> str:
    """``"7 98.4"``, ``"7;98,4"`` or ``"7,98.4"`` → ``"7,98.4"`` (unit, value)."""
    parts = [p for p in re.split(r"[\s;\t]+", line.strip()) if p]
    if len(parts) == 1 and "," in parts[0]:
        parts = parts[0].split(",", 1)
    if len(parts) != 2:
        raise InputError(f"result {line.strip()!r}: write the unit number and its content")
    return f"{parts[0]},{parts[1].replace(',', '.')}"


def _row(view: LotView) -> LotRow:
    lot: LotRecord = view.lot
    assay = view.assay
    return LotRow(
        lot.lot_number,
        f"{lot.ink_id} v{lot.ink_version}",
        view.status_today.replace("_", " "),
        f"{number(lot.quantity_remaining)} of {number(lot.quantity)} {lot.quantity_unit}",
        lot.beyond_use_date.isoformat(),
        assay.text() if assay else "not recorded",
        lot.prepared_on.isoformat(),
        lot.gtin or "",
        lot.prepared_by,
    )


def _assay(form: LotForm) -> BulkAssay | None:
    value = _decimal(form.assay, "assay")
    if value is None:
        return None
    basis: AssayBasis = "pct_label_claim" if form.assay_basis == "pct_label_claim" else "mg_per_g"
    uncertainty = _decimal(form.uncertainty, "assay uncertainty")
    return BulkAssay(basis, value, form.method.strip(), form.analyst.strip(), uncertainty)


def authorise_with_lot(
    auth: AuthService, session: StationSession, batch: PlannedBatch
) -> tuple[PrintAuthorisation, LotBinding | None]:
    """Locked mode's decision for ``batch`` with the lot chosen on the plan page (if any).

    A lot that is refused makes the authorisation refused, with the lot's reasons.
    """
    user = session.require(Operation.RUN_PRINT)
    binding = None if not batch.lot else bind_lot(auth, user, batch.request, batch.lot)
    authorisation = authorise_request(auth, user, batch.request, binding)
    if binding is not None and not binding.check.passed and authorisation.allowed:
        refusal = f"ink lot refused: {binding.check.detail}"
        authorisation = PrintAuthorisation(
            False, authorisation.mode, False, authorisation.recipe_line,
            authorisation.ink_line, authorisation.library_in_use, refusal,
        )  # fmt: skip
    return authorisation, binding


class StationLots:
    """Ink lots and content uniformity for the logged-in user."""

    def __init__(self, session: StationSession) -> None:
        self._session = session

    def _auth(self) -> tuple[AuthService, RecordsService]:
        services = self._session.services
        if services is None:
            raise SessionExpired("the database is not open; log in again")
        return services.auth, services.records

    def _lots(self) -> LotService:
        return LotService(*self._auth())

    # -- lots ---------------------------------------------------------------------------
    def may_add(self) -> bool:
        """Whether the user may record lots (technicians and up)."""
        return self._session.may(Operation.ADD_LOT)

    def may_release(self) -> bool:
        """Whether the user may release or reject lots (pharmacists)."""
        return self._session.may(Operation.RELEASE_LOT)

    def today(self) -> date:
        """Today by the audit trail's clock."""
        return self._session.now().date()

    def inks(self) -> list[str]:
        """Inks with a locked library version (a lot belongs to the version in force)."""
        auth, _ = self._auth()
        with auth.uow(write=False) as uow:
            return sorted({v.item_id for v in library(uow).versions("ink", status="locked")})

    def rows(self) -> list[LotRow]:
        """Every lot, newest first."""
        user = self._session.require(Operation.VIEW_RECORDS)
        return [_row(v) for v in self._lots().list(user)]

    @staticmethod
    def read_code(text: str) -> ScannedLot:
        """What a typed or scanned code says (GS1 or a plain lot number).

        Raises
        ------
        BarcodeError
            The code cannot be read (check digit, date, characters).
        """
        return read_lot_code(text)

    def add(self, form: LotForm) -> LotRow:
        """Record the lot of ``form`` in quarantine and return its row.

        Raises
        ------
        InputError, BarcodeError, RecordError, PermissionDenied
            A field is not acceptable, or the service refuses the lot.
        """
        user = self._session.require(Operation.ADD_LOT)
        code = read_lot_code(form.code)
        if code.lot_number is None:
            raise InputError(f"code {code.raw!r} holds no lot number (AI 10)")
        prepared = _date(form.prepared, "preparation date")
        quantity = _decimal(form.quantity, "quantity")
        if prepared is None or quantity is None:
            raise InputError("the preparation date and the quantity are needed")
        entry = LotEntry(
            code.lot_number, form.ink_id, prepared, quantity, form.unit, form.container,
            None, _date(form.beyond_use, "beyond-use date") or code.expiry, None,
            form.gtin.strip() or code.gtin, _assay(form), _decimal(form.density, "density"),
        )  # fmt: skip
        service = self._lots()
        service.add(user, entry)
        return _row(service.show(user, entry.lot_number))

    def release(self, lot_number: str, user_id: str, password: str, comment: str) -> str:
        """Release a lot with an e-signature; the manifestation."""
        user = self._session.require(Operation.RELEASE_LOT)
        signature = self._lots().release(user, lot_number, user_id, password, comment or None)
        return manifestation(signature)

    def reject(self, lot_number: str, user_id: str, password: str, reason: str) -> str:
        """Reject a lot with an e-signature (``reason`` required); the manifestation."""
        user = self._session.require(Operation.RELEASE_LOT)
        return manifestation(self._lots().reject(user, lot_number, user_id, password, reason))

    def check(self, batch: PlannedBatch, text: str) -> tuple[bool, str]:
        """Whether the typed or scanned lot may be used for ``batch``, and why (never raises)."""
        try:
            user = self._session.require(Operation.RUN_PRINT)
            binding = bind_lot(self._auth()[0], user, batch.request, text)
        except PrintpharmError as exc:
            return False, str(exc)
        return binding.check.passed, binding.check.detail

    # -- content uniformity -----------------------------------------------------------------
    def batch_verdict(self, batch_id: str) -> str:
        """The batch's QC verdict as release judges it (the run's, completed by CU)."""
        user = self._session.require(Operation.VIEW_RECORDS)
        qc = BatchRecordsService(*self._auth()).qc(user, batch_id)
        return str(qc.get("verdict", "not_evaluated"))

    def patient_use(self, batch_id: str) -> tuple[bool, str]:
        """Whether the batch may ever be released for a patient, and why not (release's rule)."""
        user = self._session.require(Operation.VIEW_RECORDS)
        return BatchRecordsService(*self._auth()).patient_use(user, batch_id)

    def cu_status(self, batch_id: str) -> CuStatus:
        """The batch's content-uniformity status."""
        user = self._session.require(Operation.VIEW_RECORDS)
        return CuService(self._auth()[0]).status(user, batch_id)

    def cu_select(self, batch_id: str) -> CuStatus:
        """Let printpharm choose the units to assay; the status with the units chosen."""
        user = self._session.require(Operation.EVALUATE_QC)
        service = CuService(self._auth()[0])
        service.select(user, batch_id)
        return service.status(user, batch_id)

    def cu_enter(self, batch_id: str, text: str, basis: str, method: str, analyst: str) -> CuStatus:
        """Enter results typed as ``unit value`` lines (``basis``: ``pct`` or ``mg``)."""
        user = self._session.require(Operation.EVALUATE_QC)
        column = "content_mg" if basis == "mg" else "content_pct"
        rows = [_result_row(line) for line in text.splitlines() if line.strip()]
        entries: list[CuEntry] = parse_cu_csv("\n".join([f"unit,{column}", *rows]), "results")
        service = CuService(self._auth()[0])
        return service.enter(user, batch_id, entries, method, analyst.strip() or None, "typed")
