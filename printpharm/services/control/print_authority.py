"""Whether a batch may be printed now, and a print run recorded in the database.

Locked mode's decision (:func:`authorise_print`) as the screens and the command
line need it: allowed or refused with the reason, the library versions or the
shipped files in use, patient use or not, and the run's lock policy.
:func:`begin_recorded_run` turns an allowed decision into what a recorded run
needs (the authorisation and any refusal written to the audit trail, the
database recorder and the lock policy), so that the desktop application and
``printpharm run --user`` record a batch the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from printpharm.catalog.schema import Ink, Recipe
from printpharm.core.uniformity import Policy
from printpharm.errors import DesignSpaceError, InputError, PreflightError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import RecordsService
from printpharm.services.control._locked_mode import (
    NOT_FOR_PATIENT_USE,
    BatchAuthorisation,
    LockedMode,
)
from printpharm.services.control.device_registry import (
    BalancePolicy,
    simulated_weighing,
)
from printpharm.services.control.dose_override import (
    APPLIED,
    DoseOverride,
    find_override,
    refusal_of,
)
from printpharm.services.control.entry_verification import NOT_VERIFIED, entry_verifier
from printpharm.services.control.line_clearance import LineClearance, clear_line
from printpharm.services.control.lots import LotBinding, LotService
from printpharm.services.control.run_gates import RunGates
from printpharm.services.control.site_settings import LOCAL_SPEC_SETTING, MASS_POLICY_SETTING
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.lot import EXAMPLE_LOT_LABEL
from printpharm.services.run.preflight import (
    LockPolicy,
    LockStatus,
    PreflightCheck,
    shipped_recipe_lock,
)
from printpharm.services.run.request import RunOptions, RunRequest
from printpharm.services.run.result import BatchResult
from printpharm.storage.audit import AuditEntry
from printpharm.storage.library import library

__all__ = [
    "NO_LOT",
    "SHIPPED_LINE",
    "TRAINING_CALIBRATION",
    "PrintAuthorisation",
    "RecordedRun",
    "authorise_print",
    "after_run",
    "authorise_request",
    "begin_recorded_run",
    "bind_lot",
]

#: Why a recorded batch without a released lot is not for patient use.
NO_LOT = f"no released ink lot was bound to the batch (--lot): {EXAMPLE_LOT_LABEL}"


#: Why a batch sized with a calibration fitted on simulators is not for patient use.
TRAINING_CALIBRATION = (
    "sized with a calibration fitted on simulators (training only): never for patient use"
)


#: The plan page's line while no recipe is locked in this database yet.
SHIPPED_LINE = "shipped file, treated as locked — not yet validated in this database"


@dataclass(frozen=True)
class PrintAuthorisation:
    """Whether a planned batch may be printed now, and what the screens must say about it.

    ``allowed`` is ``False`` when locked mode refuses (``refusal`` says why).
    ``library_in_use`` is ``False`` while no recipe version is locked in this
    database: the shipped files are then treated as locked (the run's default
    policy, recorded as such) and ``recipe_line`` says so; a shipped file marked
    ``example = true`` may then be printed (training, validation runs) but its
    batches are not for patient use until it is validated and locked on site.
    """

    allowed: bool
    mode: str
    patient_use: bool
    recipe_line: str
    ink_line: str
    library_in_use: bool
    refusal: str | None = None
    problems: tuple[str, ...] = ()
    decision: BatchAuthorisation | None = None
    dose_override: DoseOverride | None = None

    @property
    def label(self) -> str:
        """``for patient use`` or ``NOT FOR PATIENT USE``."""
        return "for patient use" if self.patient_use else NOT_FOR_PATIENT_USE

    @property
    def research(self) -> bool:
        """Whether research mode is on."""
        return self.mode.startswith("research")

    def lock_policy(self, auth: AuthService) -> LockPolicy:
        """The run's lock policy: the library's, or the shipped files' until one is locked.

        In research mode a recipe that is not a locked version may be printed (the
        batch is then not for patient use); the run records it as such.
        """
        if not self.library_in_use:
            return shipped_recipe_lock
        library_policy = LockedMode(auth).lock_policy()
        if not self.research:
            return library_policy

        def research_policy(recipe: Recipe, file_sha256: str) -> LockStatus:
            status = library_policy(recipe, file_sha256)
            if status.locked:
                return status
            why = f"research mode, {NOT_FOR_PATIENT_USE}: {status.reason}"
            return LockStatus(True, "research:not locked", why)

        return research_policy


def authorise_print(
    auth: AuthService, user: UserSession, recipe: Recipe, ink: Ink, dose_mg: Decimal
) -> PrintAuthorisation:
    """Ask locked mode whether ``dose_mg`` mg per unit of ``recipe``/``ink`` may be printed.

    Never raises a refusal: it is returned (``allowed=False``, ``refusal``).

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not print, or the session ended.
    """
    with auth.uow(write=False) as uow:
        in_use = bool(library(uow).versions("recipe", None, status="locked"))
        mode = uow.mode()
    try:
        decision = LockedMode(auth).authorise_batch(user, recipe, ink, dose_mg)
        problems = decision.problems
    except DesignSpaceError as exc:
        if in_use:
            return PrintAuthorisation(False, mode, False, "", "", True, str(exc))
        problems = tuple(str(exc).removeprefix(_REFUSED).split("; "))
    if in_use:
        missing = "not a locked library version (allowed in research mode only)"
        return PrintAuthorisation(
            True, mode, decision.patient_use, decision.recipe_version or f"{recipe.id}: {missing}",
            decision.ink_version or f"{ink.id}: {missing}", True, None, problems, decision,
        )  # fmt: skip
    # Nothing locked in this database yet: the shipped files stand in for locked versions.
    problems = _dose_only(problems)
    if mode == "locked" and problems:
        refusal = _REFUSED + "; ".join(problems)
        return PrintAuthorisation(False, mode, False, SHIPPED_LINE, SHIPPED_LINE, False, refusal)
    if mode != "locked":
        problems += ("research mode, and the shipped files are not validated in this database",)
    problems += _examples(recipe, ink)
    patient_use = not problems
    shipped = BatchAuthorisation(
        mode, patient_use, "shipped file", "shipped file", dose_mg, problems
    )
    return PrintAuthorisation(
        True, mode, patient_use, SHIPPED_LINE, SHIPPED_LINE, False, None, problems, shipped
    )


def authorise_request(
    auth: AuthService, user: UserSession, request: RunRequest, lot: LotBinding | None = None
) -> PrintAuthorisation:
    """:func:`authorise_print` for a planned batch, with its second-person verification and lot.

    A batch whose prescription entry and dose were not verified by a second
    person (:mod:`printpharm.services.control.entry_verification`), printed without
    a recorded ink lot (``lot``; the ink file's example lot, training only), or sized
    with a calibration fitted on simulators (:data:`TRAINING_CALIBRATION`), may be
    printed where locked mode allows it, but is not for patient use. A dose that
    rounding moved outside its tolerance is refused unless a pharmacist signed an
    override for exactly this entry (:mod:`printpharm.services.control.dose_override`), which
    the authorisation then carries.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not print, or the session ended.
    """
    authorisation = authorise_print(auth, user, request.recipe, request.ink, request.dose_mg)
    refused = refusal_of(request.dose_record)
    if authorisation.allowed and refused is not None:
        override = find_override(auth, request.recipe.id, request.dose_record)
        if override is None:
            why = f"{refused}: refused without a pharmacist's signed dose override"
            return replace(authorisation, allowed=False, refusal=why)
        authorisation = replace(authorisation, dose_override=override)
    if not authorisation.allowed:
        return authorisation
    extra: tuple[str, ...] = ()
    if entry_verifier(auth, request) is None:
        extra += (NOT_VERIFIED,)
    if lot is None:
        extra += (NO_LOT,)
    if request.prediction is not None and request.prediction.calibration.simulated:
        extra += (TRAINING_CALIBRATION,)
    if not extra:
        return authorisation
    problems = (*authorisation.problems, *extra)
    decision = authorisation.decision
    if decision is not None:
        decision = replace(decision, patient_use=False, problems=problems)
    return replace(authorisation, patient_use=False, problems=problems, decision=decision)


def bind_lot(
    auth: AuthService, session: UserSession, request: RunRequest, lot_text: str
) -> LotBinding:
    """Check the typed or scanned lot ``lot_text`` for ``request`` (a refusal is returned).

    Raises
    ------
    RecordError
        No lot has that number.
    BarcodeError
        The code cannot be read.
    PermissionDenied, SessionExpired
        The role may not print, or the session ended.
    """
    service = LotService(auth, RecordsService(auth))
    return service.bind(session, lot_text, request.ink, request.ink_need)


def after_run(authorisation: PrintAuthorisation, result: BatchResult) -> PrintAuthorisation:
    """The batch's patient use once it was printed: never if weighed on the simulated balance.

    The batch record says the same (:func:`printpharm.services.records.export.patient_use`).
    """
    simulated = simulated_weighing(result.preflight)
    if simulated is None or simulated in authorisation.problems:
        return authorisation
    return replace(authorisation, patient_use=False, problems=(simulated, *authorisation.problems))


_REFUSED = "locked mode refuses this batch: "


def _examples(recipe: Recipe, ink: Ink) -> tuple[str, ...]:
    """The shipped files marked ``example = true``: never for patients until locked on site."""
    named = [f"{kind} {m.id}" for kind, m in (("recipe", recipe), ("ink", ink)) if m.example]
    if not named:
        return ()
    verb = "is an example" if len(named) == 1 else "are examples"
    return (
        f"{' and '.join(named)} {verb} shipped with printpharm: validate on site and lock in "
        "the library before patient use",
    )


def _dose_only(problems: tuple[str, ...]) -> tuple[str, ...]:
    """Problems other than 'not a locked library version' (nothing can be locked yet)."""
    return tuple(p for p in problems if "not a locked library version" not in p)


#: ``(printer M115 fields, port) -> checks`` (see :class:`RunGates`).
PrinterPolicy = Callable[[Mapping[str, str], str], Sequence[PreflightCheck]]


@dataclass(frozen=True)
class RecordedRun:
    """What a run recorded in the database needs: recorder, policies, the checks passed."""

    authorisation: PrintAuthorisation
    recorder: DatabaseRecorder
    lock_policy: LockPolicy
    balance_policy: BalancePolicy
    mass_policy: Policy = "strict"
    lot: LotBinding | None = None
    printer_policy: PrinterPolicy | None = None
    recorded_checks: tuple[PreflightCheck, ...] = ()
    local_spec_release: bool = False

    def options(self, **kwargs: Any) -> RunOptions:
        """Run options with this run's lock, equipment and 2.9.5 policies, lot and override."""
        override = self.authorisation.dose_override
        return RunOptions(
            lock_policy=self.lock_policy,
            balance_policy=self.balance_policy,
            printer_policy=self.printer_policy,
            recorded_checks=self.recorded_checks,
            mass_policy=self.mass_policy,
            lot=None if self.lot is None else self.lot.lot,
            ink_version=None if self.lot is None else self.lot.ink_version,
            local_spec_release=self.local_spec_release,
            dose_override=None if override is None else override.to_record(),
            **kwargs,
        )


def _apply_override(
    auth: AuthService, session: UserSession, batch_id: str, override: DoseOverride
) -> None:
    """The batch's own trail names the dose override it prints under."""
    live = auth.require(session, Operation.RUN_PRINT)
    with auth.uow() as uow:
        uow.audit.append(
            AuditEntry("batch", APPLIED, batch_id, live.user_id, live.full_name,
                       reason=override.reason, new=override.to_record(), batch_id=batch_id)
        )  # fmt: skip


def begin_recorded_run(
    auth: AuthService,
    session: UserSession,
    request: RunRequest,
    *,
    lot: str | None = None,
    clearance: LineClearance | None = None,
    printer_asset: str | None = None,
) -> RecordedRun:
    """Authorise ``request`` for ``session``'s user and prepare its database record.

    ``lot`` is the typed or scanned number of the ink lot to print from; it must be
    released (or in use), in date, of the ink and ink version printed, with enough
    ink left for the batch (:func:`printpharm.services.run.preflight.check_lot`).
    Without it the batch records the ink file's example lot and is not for patient use.

    The decision is written to the batch's audit trail: a refusal as
    ``print-refused`` (with the reason) before raising, an authorisation as
    ``authorise`` (mode, library versions, patient use), and a signed dose override
    it prints under as ``dose-override-applied``. The operator must be trained and
    in date for the recipe and printer type, and the line cleared (``clearance``,
    :mod:`printpharm.services.control.line_clearance`). The run's options
    (:meth:`RecordedRun.options`) then accept only registered, qualified equipment
    (balance checked today and fit for the units' mass; printer cleaned since another
    API) or the simulators, for training (:mod:`run_gates`). ``printer_asset`` names
    the printer when it reports no UUID of its own.

    Raises
    ------
    PreflightError
        The lot is refused (every reason is named).
    RecordError, BarcodeError
        No lot has that number, or its code cannot be read.
    DesignSpaceError
        Locked mode refuses the batch (the message names each limit), or its dose is
        outside the rounding tolerance without a pharmacist's signed override.
    PreflightError
        The operator is not trained and in date, or the line is not cleared.
    PermissionDenied, AuthenticationFailed, SessionExpired
        The role may not run prints, the session ended, or the line-clearance checker
        failed.
    InputError
        ``request`` has no batch ID.
    """
    live = auth.require(session, Operation.RUN_PRINT)
    batch_id = request.batch_id
    if batch_id is None:
        raise InputError("a recorded run needs a batch ID (prepare_run gives one)")
    binding = None if lot is None else bind_lot(auth, session, request, lot)
    if binding is not None and not binding.check.passed:
        refusal = f"preflight refused the run: ink_lot: {binding.check.detail}"
        _refused(auth, live, batch_id, refusal)
        raise PreflightError(refusal)
    authorisation = authorise_request(auth, session, request, binding)
    if not authorisation.allowed or authorisation.decision is None:
        refusal = authorisation.refusal or _REFUSED.rstrip(": ")
        _refused(auth, live, batch_id, refusal)
        raise DesignSpaceError(refusal)
    gates = RunGates(auth, session, request, printer_asset)
    lot_number = None if binding is None else binding.lot.lot_number
    cleared, cleared_record = clear_line(auth, session, request, clearance, lot_number)
    people = gates.people_checks(cleared, cleared_record)
    LockedMode(auth).record_authorisation(session, batch_id, authorisation.decision)
    if authorisation.dose_override is not None:
        _apply_override(auth, session, batch_id, authorisation.dose_override)
    with auth.uow(write=False) as uow:
        mass_policy = uow.settings.get(MASS_POLICY_SETTING)
        local_spec = uow.settings.get(LOCAL_SPEC_SETTING)
    return RecordedRun(
        authorisation,
        DatabaseRecorder(
            auth,
            session,
            None if binding is None else binding.lot,
            request.ink_need,
            annotate=gates.annotation,
        ),
        authorisation.lock_policy(auth),
        gates.balance_checks,
        "gn_rounding" if mass_policy and mass_policy.value == "gn_rounding" else "strict",
        lot=binding,
        printer_policy=gates.printer_checks,
        recorded_checks=people,
        local_spec_release=local_spec is not None and local_spec.value == "allowed",
    )


def _refused(auth: AuthService, live: UserSession, batch_id: str, refusal: str) -> None:
    with auth.uow() as uow:
        uow.audit.append(
            AuditEntry("batch", "print-refused", batch_id, live.user_id,
                       live.full_name, reason=refusal, batch_id=batch_id)
        )  # fmt: skip
