"""Calibrations fitted on site: fit, validate, lock, retire — and the one in force for a plan.

A pharmacist (:data:`Operation.RUN_CALIBRATION`) fits ``mass = a·V + b`` by least
squares (weighted 1/m̂² by default, :data:`~printpharm.core.calibration.DEFAULT_WEIGHTING`;
the weighting is stored with the version) to a weighed calibration series
(:mod:`printpharm.services.run.calibration_series` prints and weighs it). The fit is
judged against the site's acceptance criteria
(site settings ``calibration.*``, :mod:`.calibration_criteria`): a fit that fails
is refused with every reason, and the refusal, with its points, is in the audit
trail. An accepted fit is stored as a *draft* calibration version bound to the
ink and ink version (the locked version in force unless named), the printer type
(a printer definition) and optionally one printer of the register and one ink
lot. Another pharmacist — never the one who fitted it — validates it and then
locks it, each with an electronic signature (meaning ``approved``) bound to its
content hash; locking retires the calibration locked before for the same
binding. :meth:`CalibrationService.in_force` gives the locked calibration a plan
must size with; every change is audited.

A calibration fitted from a series printed or weighed on a simulator (the built-in
ones, or a device whose identity says so: :func:`.run_gates.is_simulated`) is
*training-only*: it may be validated and locked (to train the workflow), its
record, signatures and audit events say so, its lock never retires a calibration
fitted on real equipment, a real one is in force before it, and a batch sized
with it is refused on a real printer and never for patient use (:mod:`.run_gates`,
:mod:`.print_authority`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from printpharm.catalog.schema import Ink
from printpharm.core.calibration import (
    DEFAULT_WEIGHTING,
    LinearCalibration,
    Weighting,
    fit_calibration,
)
from printpharm.core.calibration_checks import AcceptanceCriteria, acceptance_problems, exact
from printpharm.errors import CalibrationError, InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import Meaning, RecordsService, SignableRecord
from printpharm.services.control._calibration_binding import check_binding, ink_version_of
from printpharm.services.control.barcodes import read_lot_code
from printpharm.services.control.calibration_criteria import criteria_in_force
from printpharm.services.control.ink_versions import version_in_use
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.storage.audit import AuditEntry
from printpharm.storage.calibrations import CalibrationDraft, CalibrationRecord, calibrations
from printpharm.storage.repositories import UnitOfWork
from printpharm.storage.signatures import SignatureRecord

__all__ = ["CalibrationService", "CalibrationView", "FitRequest", "fitted_line", "training_only"]

_SIX = Decimal("0.000001")


@dataclass(frozen=True)
class FitRequest:
    """A weighed series to fit: ``(volume_mm3, mass_mg)`` points and what they are bound to.

    ``context`` (the series recipe, the devices, whether they were simulated) is
    stored with the calibration; it must hold exact values (no floats).
    ``weighting`` is the fit's (relative, 1/m̂², unless asked otherwise).
    """

    ink_id: str
    printer_type: str
    points: tuple[tuple[Decimal, Decimal], ...]
    ink_version: int | None = None
    printer_asset: str | None = None
    lot_number: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    weighting: Weighting = DEFAULT_WEIGHTING


def fitted_line(record: CalibrationRecord) -> LinearCalibration:
    """The least-squares line of a stored version, refitted from its exact points (its weighting).

    Raises
    ------
    RecordError
        The stored content no longer matches its hash.
    """
    if not record.intact():
        raise RecordError(f"calibration {record.record_id}: stored content does not match its hash")
    weighting: Weighting = "relative" if record.weighting == "relative" else "unweighted"
    return fit_calibration(
        [float(v) for v, _ in record.points],
        [float(m) for _, m in record.points],
        weighting=weighting,
    )


def training_only(record: CalibrationRecord) -> bool:
    """Whether ``record`` was fitted from a series on simulators (see the module docstring)."""
    return bool(record.context.get("simulated"))


@dataclass(frozen=True)
class CalibrationView:
    """A calibration version as the screens show it: record, line and signatures."""

    record: CalibrationRecord
    signatures: tuple[SignatureRecord, ...] = ()

    @property
    def training_only(self) -> bool:
        """Fitted on simulators: for training only, never for a patient batch."""
        return training_only(self.record)

    @property
    def line(self) -> LinearCalibration:
        """The fitted line with its statistics (refitted from the stored points)."""
        return fitted_line(self.record)

    def in_force(self) -> CalibrationInForce:
        """The calibration as a plan uses it."""
        r = self.record
        return CalibrationInForce(
            self.line, "site", r.ink_id, r.version, r.ink_version, r.printer_type,
            r.printer_asset, r.lot_number, r.status, r.content_sha256, training_only(r),
        )  # fmt: skip


def _six(value: float, rounding: str = ROUND_HALF_UP) -> Decimal:
    return exact(value).quantize(_SIX, rounding=rounding)


def _draft(request: FitRequest, ink_version: int, line: LinearCalibration) -> CalibrationDraft:
    """The version to store; R² is cut (never rounded up to a perfect 1.000000)."""
    assert line.r2 is not None and line.residual_sd_mg is not None
    return CalibrationDraft(
        request.ink_id, ink_version, request.printer_type, _six(line.a_mg_per_mm3),
        _six(line.b_mg), _six(line.r2, ROUND_DOWN), _six(line.residual_sd_mg), request.points,
        dict(request.context), request.printer_asset, request.lot_number, line.weighting,
    )  # fmt: skip


class CalibrationService:
    """The calibrations of one database (permissions via ``auth``; signatures via ``records``)."""

    def __init__(self, auth: AuthService, records: RecordsService) -> None:
        self._auth = auth
        self._records = records

    # -- reading ------------------------------------------------------------------------
    def criteria(self) -> AcceptanceCriteria:
        """The acceptance criteria in force (site settings, defaults where unset)."""
        with self._auth.uow(write=False) as uow:
            return criteria_in_force(uow)

    def list(
        self,
        session: UserSession,
        ink_id: str | None = None,
        printer_type: str | None = None,
        status: str | None = None,
    ) -> list[CalibrationView]:
        """Calibration versions, newest first.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            found = calibrations(uow).all(ink_id, printer_type, status)
        return [CalibrationView(c) for c in found]

    def show(self, session: UserSession, version: int) -> CalibrationView:
        """One calibration version with its signatures.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such version.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            record = _get(uow, version)
            sigs = tuple(uow.signatures.for_record("calibration", record.record_id))
        return CalibrationView(record, sigs)

    def in_force(
        self,
        ink_id: str,
        ink_version: int | None,
        printer_type: str,
        printer_asset: str | None = None,
        lot_number: str | None = None,
    ) -> CalibrationInForce | None:
        """The locked calibration a plan must size with, or ``None`` where none is locked.

        Of the locked versions of this ink version and printer type, those bound to
        another printer or another lot do not apply; of the rest, one fitted on real
        equipment before a training-only one, then the most specific (lot, then
        printer), then the newest is in force. Reading needs no login
        (the calibration holds no personal data, as the library).

        Raises
        ------
        InputError
            Calibrations are locked for this ink and printer type, but each is bound to
            a printer of the register and none was named (the plan cannot choose).
        RecordError
            The calibration in force no longer matches its content hash.
        """
        if ink_version is None:
            return None
        with self._auth.uow(write=False) as uow:
            locked = [
                c
                for c in calibrations(uow).all(ink_id, printer_type, "locked")
                if c.ink_version == ink_version and c.lot_number in (None, lot_number)
            ]
        usable = [c for c in locked if c.printer_asset in (None, printer_asset)]
        if not usable:
            if locked:
                tags = ", ".join(sorted({str(c.printer_asset) for c in locked}))
                raise InputError(
                    f"the calibrations of {ink_id} v{ink_version} on {printer_type} are bound "
                    f"to the printers {tags}: name the printer (--printer-asset) to plan"
                )
            return None
        best = max(usable, key=lambda c: (not training_only(c), c.lot_number is not None,
                                          c.printer_asset is not None, c.version))  # fmt: skip
        return CalibrationView(best).in_force()

    def for_plan(
        self,
        ink: Ink,
        printer_type: str,
        printer_asset: str | None = None,
        lot_text: str | None = None,
    ) -> CalibrationInForce | None:
        """:meth:`in_force` for the ink as printed (its library version) and a typed/scanned lot.

        Raises
        ------
        InputError, RecordError, BarcodeError
            As :meth:`in_force`, or a lot code that cannot be read.
        """
        lot_number = None
        if lot_text is not None:
            lot_number = read_lot_code(lot_text).lot_number or lot_text.strip()
        with self._auth.uow(write=False) as uow:
            ink_version = version_in_use(uow, ink)
        return self.in_force(ink.id, ink_version, printer_type, printer_asset, lot_number)

    def plan_refused(
        self, session: UserSession, calibration: CalibrationInForce, what: str, reason: str
    ) -> None:
        """Audit a recorded batch's plan that the calibration in force refused (its interval).

        Raises
        ------
        PermissionDenied, SessionExpired
            The role may not run prints, or the session ended.
        """
        live = self._auth.require(session, Operation.RUN_PRINT)
        with self._auth.uow() as uow:
            uow.audit.append(
                AuditEntry("calibration", "plan-refused", f"CAL-v{calibration.version}",
                           live.user_id, live.full_name, reason=reason,
                           new={"plan": what, "calibration": calibration.label})
            )  # fmt: skip

    # -- fitting ------------------------------------------------------------------------
    def prepare(self, session: UserSession, request: FitRequest) -> int:
        """Check, before anything is printed, that this series may be fitted; its ink version.

        Raises
        ------
        PermissionDenied, RecordError
            As :meth:`fit` (the role, the ink version, the lot, the printer).
        """
        self._auth.require(session, Operation.RUN_CALIBRATION)
        with self._auth.uow(write=False) as uow:
            ink_version = ink_version_of(uow, request.ink_id, request.ink_version)
            check_binding(uow, request, ink_version)
        return ink_version

    def fit(self, session: UserSession, request: FitRequest) -> CalibrationRecord:
        """Fit a weighed series and store it as a draft version, or refuse it with the reasons.

        Raises
        ------
        PermissionDenied
            The role may not run calibrations.
        CalibrationError
            The points cannot be fitted (too few, equal volumes, a slope that is not
            positive) or the fit fails the site's acceptance criteria (each reason is
            named; the refusal and its points are audited).
        RecordError
            The ink (version) is not in the library, the lot is not a usable lot of
            that ink version, or the printer is not a registered printer of that type.
        """
        live = self._auth.require(session, Operation.RUN_CALIBRATION)
        line = fit_calibration(
            [float(v) for v, _ in request.points],
            [float(m) for _, m in request.points],
            weighting=request.weighting,
        )
        with self._auth.uow() as uow:
            ink_version = ink_version_of(uow, request.ink_id, request.ink_version)
            check_binding(uow, request, ink_version)
            criteria = criteria_in_force(uow)
            problems = acceptance_problems(line, [m for _, m in request.points], criteria)
            subject = f"{request.ink_id}@{request.printer_type}"
            summary = {
                "ink_version": ink_version, "printer_asset": request.printer_asset,
                "lot_number": request.lot_number, "criteria": criteria.to_record(),
                "fit": _fit_record(line), "points": [list(p) for p in request.points],
            }  # fmt: skip
            if problems:
                uow.audit.append(
                    AuditEntry("calibration", "fit-refused", subject, live.user_id,
                               live.full_name, reason="; ".join(problems), new=summary)
                )  # fmt: skip
            else:
                draft = _draft(request, ink_version, line)
                stored = calibrations(uow).add(draft, live.user_id, uow.now())
                uow.audit.append(
                    AuditEntry("calibration", "create", stored.record_id, live.user_id,
                               live.full_name, new={**summary, "version": stored.version,
                               "content_sha256": stored.content_sha256, "status": "draft"})
                )  # fmt: skip
        if problems:  # after the transaction: the refusal stays in the audit trail
            raise CalibrationError(f"calibration fit of {subject} refused: " + "; ".join(problems))
        return stored

    # -- validate, lock, retire ---------------------------------------------------------
    def validate(
        self, session: UserSession, version: int, user_id: str, password: str,
        comment: str | None = None,
    ) -> SignatureRecord:  # fmt: skip
        """Validate a draft with a pharmacist's e-signature (not the one who fitted it).

        Raises
        ------
        PermissionDenied
            The role may not validate, or the signer fitted this calibration.
        RecordError
            No such version, it is not a draft, or its content no longer matches its hash.
        SignatureError, AuthenticationFailed, AccountLocked, SessionExpired
            As :meth:`RecordsService.sign`.
        """
        return self._signed_move(session, version, "validated", user_id, password, comment)

    def lock(
        self, session: UserSession, version: int, user_id: str, password: str,
        comment: str | None = None,
    ) -> SignatureRecord:  # fmt: skip
        """Lock a validated version with an e-signature; retire the lock it supersedes.

        Raises
        ------
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed
            As :meth:`validate` (the version must be ``validated``).
        """
        return self._signed_move(session, version, "locked", user_id, password, comment)

    def _signed_move(
        self, session: UserSession, version: int, target: str, user_id: str, password: str,
        comment: str | None,
    ) -> SignatureRecord:  # fmt: skip
        operation = Operation.VALIDATE_LIBRARY if target == "validated" else Operation.LOCK_LIBRARY
        live = self._auth.require(session, operation)
        with self._auth.uow(write=False) as uow:
            record = _get(uow, version)
        needed = "draft" if target == "validated" else "validated"
        if record.status != needed:
            raise RecordError(f"calibration {record.record_id} is {record.status}; only a "
                              f"{needed} calibration can be {target}")  # fmt: skip
        fitted_line(record)  # refuses a version whose content no longer matches its hash
        signable = SignableRecord(
            "calibration", record.record_id, record.version,
            {"content_sha256": record.content_sha256, "step": target}, record.fitted_by,
        )  # fmt: skip

        def move(uow: UnitOfWork) -> None:
            _move(uow, live, record, target, comment)

        what = "validation" if target == "validated" else "lock"
        text = f"{what} of calibration {record.record_id}"
        text += " (fitted on simulators: training only)" if training_only(record) else ""
        text += f": {comment}" if comment else ""
        return self._records.sign(
            session, signable, Meaning.APPROVED, user_id, password, text, move
        )

    def retire(self, session: UserSession, version: int, reason: str) -> CalibrationRecord:
        """Retire a version (it stays readable and is never in force again).

        Raises
        ------
        PermissionDenied
            The role may not lock library versions.
        InputError
            No reason.
        RecordError
            No such version, or it is retired already.
        """
        live = self._auth.require(session, Operation.LOCK_LIBRARY)
        if not reason or not reason.strip():
            raise InputError(f"a reason is required to retire calibration v{version}")
        with self._auth.uow() as uow:
            before = _get(uow, version)
            after = calibrations(uow).set_status(version, "retired", uow.now(), reason=reason)
            uow.audit.append(
                AuditEntry("calibration", "retire", after.record_id, live.user_id,
                           live.full_name, reason=reason, old={"status": before.status},
                           new={"status": "retired"})
            )  # fmt: skip
        return after


def _fit_record(line: LinearCalibration) -> dict[str, Any]:
    values = {
        "a_mg_per_mm3": line.a_mg_per_mm3, "b_mg": line.b_mg, "r2": line.r2,
        "residual_sd_mg": line.residual_sd_mg, "v_min_mm3": line.v_min_mm3,
        "v_max_mm3": line.v_max_mm3,
    }  # fmt: skip
    rel = line.residual_sd_rel
    return {
        "n": line.n, "weighting": line.weighting,
        **{k: None if v is None else exact(v) for k, v in values.items()},
        **({} if rel is None else {"residual_sd_rel": exact(rel)}),
    }  # fmt: skip


def _get(uow: UnitOfWork, version: int) -> CalibrationRecord:
    record = calibrations(uow).get(version)
    if record is None:
        raise RecordError(f"calibration v{version} does not exist (printpharm calibrate list)")
    return record


def _move(
    uow: UnitOfWork, live: UserSession, record: CalibrationRecord, target: str, comment: str | None
) -> None:
    """The status change a validation or lock signature decides (in its transaction)."""
    repo = calibrations(uow)
    now = repo.get(record.version)
    if now is None or now.status != record.status:
        raise RecordError(f"calibration {record.record_id} changed while it was being signed")
    signer = live.user_id
    if target == "locked":  # one lock per binding: the previous one retires
        same = (record.ink_id, record.ink_version, record.printer_type, record.printer_asset,
                record.lot_number)  # fmt: skip
        for old in repo.all(record.ink_id, record.printer_type, "locked"):
            if training_only(record) and not training_only(old):
                continue  # a training lock never retires a calibration fitted on real equipment
            if (old.ink_id, old.ink_version, old.printer_type, old.printer_asset,
                    old.lot_number) == same:  # fmt: skip
                repo.set_status(old.version, "retired", uow.now(), reason=f"superseded by "
                                f"{record.record_id}")  # fmt: skip
                uow.audit.append(
                    AuditEntry("calibration", "retire", old.record_id, signer, live.full_name,
                               reason=f"superseded by {record.record_id}",
                               old={"status": "locked"}, new={"status": "retired"})
                )  # fmt: skip
    after = repo.set_status(record.version, target, uow.now(), signer)
    uow.audit.append(
        AuditEntry("calibration", "validate" if target == "validated" else "lock",
                   after.record_id, signer, live.full_name, reason=comment,
                   old={"status": record.status},
                   new={"status": target, "content_sha256": record.content_sha256,
                        "training_only": training_only(record)})
    )  # fmt: skip
