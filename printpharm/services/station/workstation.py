"""The services one workstation's desktop application needs, as one Qt-free facade.

The GUI composition root (``printpharm.gui.app``) builds a :class:`Workstation`
with :func:`build_workstation` and hands it to the window. Every number the
screens show comes from here: the dose through :func:`printpharm.core.dosing.compute_dose`,
the validated recipe ranges from the catalog, the uniformity verdicts from
:mod:`printpharm.core.uniformity`. The widgets only parse nothing, compute
nothing and forward the text the technician typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from printpharm.catalog import Catalog, load_catalog
from printpharm.core.bsa import BSA_FORMULA_LABELS, BSA_FORMULAS
from printpharm.core.dose_report import flag_lines
from printpharm.errors import (
    CatalogError,
    InputError,
    PrintpharmError,
    SessionExpired,
)
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import manifestation
from printpharm.services.control.calibration import CalibrationService
from printpharm.services.control.dose_override import DoseOverride, sign_override
from printpharm.services.control.entry_verification import verify_entry
from printpharm.services.control.library import ImportOutcome, LibraryService
from printpharm.services.control.line_clearance import LineClearance
from printpharm.services.control.print_authority import (
    after_run,
    begin_recorded_run,
)
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.run.request import OperatorCallback
from printpharm.services.run.result import BatchResult
from printpharm.services.station.admin import BalanceRow, SettingRow, SiteAdmin
from printpharm.services.station.batch import (
    LayerView,
    MeshView,
    PathView,
    PlannedBatch,
    PrintAuthorisation,
    plan_for_form,
    print_batch,
    warm_up,
)
from printpharm.services.station.batch_form import (
    DoseForm,
    DosePreview,
    DosePreviewBuilder,
    RecipeOption,
    describe_dose,
    entry_record,
    format_bsa,
    format_mass,
    format_mg,
    parse_masses,
    recipe_options,
)
from printpharm.services.station.calibrations import StationCalibrations
from printpharm.services.station.lots import StationLots, authorise_with_lot
from printpharm.services.station.qc import QcPreview, qc_preview
from printpharm.services.station.session import ModeStatus, StationSession, display_url
from printpharm.storage.library import LibraryKind

__all__ = [
    "after_run",
    "BSA_FORMULAS",
    "BalanceRow",
    "BSA_FORMULA_LABELS",
    "DEFAULT_BALANCE_URL",
    "DEFAULT_PRINTER_URL",
    "DeviceStatus",
    "DoseForm",
    "DoseOverride",
    "DosePreview",
    "LayerView",
    "LibraryRow",
    "MeshView",
    "PrintAuthorisation",
    "PathView",
    "PlannedBatch",
    "ModeStatus",
    "QcPreview",
    "RecipeOption",
    "SettingRow",
    "SiteAdmin",
    "StationSession",
    "Workstation",
    "WorkstationConfig",
    "build_workstation",
    "describe_dose",
    "display_url",
    "flag_lines",
    "format_bsa",
    "format_mass",
    "format_mg",
    "parse_masses",
]

#: The built-in simulators used when no port is configured.
DEFAULT_PRINTER_URL = "sim://printer"
DEFAULT_BALANCE_URL = "sim://balance"


@dataclass(frozen=True)
class WorkstationConfig:
    """What the composition root decides before building the services.

    ``database_url`` is ``None`` for the default SQLite file in the user data
    directory; ``data_root`` is ``None`` for the shipped inks/recipes;
    ``records_dir`` is where batch records are written as JSON (``None``: not written).
    """

    database_url: str | None = None
    data_root: Path | None = None
    printer_url: str = DEFAULT_PRINTER_URL
    balance_url: str = DEFAULT_BALANCE_URL
    records_dir: Path | None = None


@dataclass(frozen=True)
class DeviceStatus:
    """A printer's or balance's connection as the status bar shows it."""

    kind: str
    url: str
    simulated: bool
    state: str


@dataclass(frozen=True)
class LibraryRow:
    """One recipe or ink version as the library page lists it; ``signed`` names the signers."""

    kind: LibraryKind
    item_id: str
    version: int
    status: str
    content_sha256: str
    signed: str


class Workstation:
    """The services of one workstation, built once by the composition root.

    Parameters
    ----------
    config
        Database, data root and device URLs.
    catalog
        The loaded ink/recipe catalog, or ``None`` when it could not be loaded
        (``catalog_error`` then says why).
    catalog_error
        Why the catalog is missing.
    session
        The database and logged-in user (default: over ``config.database_url``).
    """

    def __init__(
        self,
        config: WorkstationConfig,
        catalog: Catalog | None,
        catalog_error: str | None = None,
        session: StationSession | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.catalog_error = catalog_error
        self.session = session or StationSession(config.database_url)
        self._recipes = recipe_options(catalog)

    # -- catalog ---------------------------------------------------------------------------

    def drugs(self) -> tuple[str, ...]:
        """The APIs that have at least one patient recipe, sorted."""
        return tuple(sorted({r.api for r in self._recipes}))

    def recipes(self, drug: str | None = None) -> tuple[RecipeOption, ...]:
        """Patient recipes (calibration recipes excluded), optionally for one drug."""
        return tuple(r for r in self._recipes if drug is None or r.api == drug)

    def recipe(self, recipe_id: str) -> RecipeOption:
        """One patient recipe by id.

        Raises
        ------
        CatalogError
            No patient recipe has that id.
        """
        for option in self._recipes:
            if option.id == recipe_id:
                return option
        raise CatalogError(f"recipe {recipe_id!r} is not a patient recipe in the catalog")

    # -- dose ------------------------------------------------------------------------------

    def preview_dose(self, form: DoseForm, override: DoseOverride | None = None) -> DosePreview:
        """Check the form and compute the BSA and dose the way the batch will.

        Never raises for bad input: every refusal is returned in ``errors`` (field →
        message) or ``refusal`` (a dose outside its rounding tolerance, cleared by
        ``override`` only if it was signed for exactly this entry).
        """
        return DosePreviewBuilder(self.recipe, form, override).build()

    def sign_override(
        self, form: DoseForm, preview: DosePreview, pharmacist: str, password: str, reason: str
    ) -> DoseOverride:
        """A pharmacist signs the override of the refused dose of this entry (audited).

        Raises
        ------
        InputError, PermissionDenied, AuthenticationFailed, AccountLocked, SessionExpired
            As :func:`printpharm.services.control.dose_override.sign_override` raises them.
        """
        user = self.session.require(Operation.ENTER_PRESCRIPTION)
        if preview.result is None or preview.recipe is None:
            raise InputError("the new-batch form has no dose to override yet")
        record = entry_record(form, preview.result)
        return sign_override(
            self._auth(), user, preview.recipe.id, record, pharmacist, password, reason
        )

    def warm_up(self) -> None:
        """Import the planning and slicing stack (≈ 1 s; call it off the GUI thread)."""
        warm_up()

    # -- plan and print ----------------------------------------------------------------------

    def plan(self, form: DoseForm, preview: DosePreview) -> PlannedBatch:
        """Plan the batch of a ready form (slow: call it from a worker thread).

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not enter prescriptions.
        InputError, DesignSpaceError, SizingError, CalibrationError, SlicingError
            The plan is refused (the message says which limit and why).
        PreflightError
            The calibration in force cannot hold the dose within the recipe's tolerance.
        """
        self.session.require(Operation.ENTER_PRESCRIPTION)
        if self.catalog is None:
            raise CatalogError(self.catalog_error or "the catalog is not loaded")
        calibration = None
        if preview.recipe is not None and self.session.services is not None:
            recipe = self.catalog.recipe(preview.recipe.id)  # the calibration in force sizes
            service = CalibrationService(self._auth(), self.session.services.records)
            calibration = service.for_plan(self.catalog.ink(recipe.ink), recipe.printer)
        batch = plan_for_form(self.catalog, form, preview, calibration)
        plan = batch.plan
        self.session.record(
            "planned",
            batch.batch_id,
            {
                "recipe_id": plan.recipe_id,
                "dose_mg": str(batch.dose_mg),
                "units": plan.units,
                "target_mass_mg": f"{plan.target_mass_mg:.4f}",
                "dimensions_mm": {k: f"{v:.4f}" for k, v in plan.dimensions_mm.items()},
                "dose": batch.dose_record,
            },
        )
        return batch

    def authorise(self, batch: PlannedBatch) -> PrintAuthorisation:
        """Whether locked mode lets ``batch`` be printed now (a refusal is returned, not raised).

        The lot chosen on the plan page (``batch.lot``) is checked too: a refused lot
        refuses the batch, with its reasons.

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not run a print.
        """
        return authorise_with_lot(self._auth(), self.session, batch)[0]

    def verify_entry(self, batch: PlannedBatch, verifier_id: str, password: str) -> str:
        """A second person (pharmacist) verifies the batch's entry; returns their full name.

        Raises
        ------
        PermissionDenied, AuthenticationFailed, AccountLocked, SessionExpired
            As :func:`printpharm.services.control.entry_verification.verify_entry` raises them.
        """
        user = self.session.require(Operation.ENTER_PRESCRIPTION)
        done = verify_entry(self._auth(), user, batch.request, verifier_id, password)
        return done.verifier_name

    def _auth(self) -> AuthService:
        if self.session.services is None:
            raise SessionExpired("the database is not open; log in again")
        return self.session.services.auth

    def print_batch(
        self,
        batch: PlannedBatch,
        hub: EventHub,
        cancel: CancelToken,
        operator: OperatorCallback | None = None,
        clearance: LineClearance | None = None,
    ) -> BatchResult:
        """Print and weigh ``batch`` after the line ``clearance`` (blocks: use a worker thread).

        Events go to ``hub`` from the calling thread; ``cancel`` stops the run safely.

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not run a print.
        DesignSpaceError
            Locked mode refuses the batch (the refusal is audited).
        PreflightError, DeviceError, RecordError
            The run could not start or record (a failure to start is audited;
            the run itself is recorded in the database by the batch recorder).
        """
        user = self.session.require(Operation.RUN_PRINT)
        if self.catalog is None:
            raise CatalogError(self.catalog_error or "the catalog is not loaded")
        services = self.session.services
        if services is None:
            raise SessionExpired("the database is not open; log in again")
        ports = (self.config.printer_url, self.config.balance_url)
        recorded = begin_recorded_run(
            services.auth, user, batch.request, lot=batch.lot, clearance=clearance
        )
        try:
            return print_batch(
                self.catalog,
                batch,
                ports,
                hub=hub,
                cancel=cancel,
                operator=operator,
                recorder=recorded.recorder,
                records_dir=self.config.records_dir,
                options=recorded.options(),
            )
        except PrintpharmError as exc:
            self.session.record("print-failed", batch.batch_id, reason=str(exc))
            raise

    # -- QC --------------------------------------------------------------------------------

    def preview_qc(
        self, masses_text: str, target_mg: str, unit_tol_pct: str, mean_tol_pct: str
    ) -> QcPreview:
        """Judge typed masses (mg) by Ph. Eur. 2.9.5 and the local check (see :func:`qc_preview`).

        Raises
        ------
        UniformityInputError
            A mass that is not a number, or masses that are all below 5 mg (grams).
        """
        return qc_preview(masses_text, target_mg, unit_tol_pct, mean_tol_pct)

    # -- recipe and ink library -------------------------------------------------------------

    def _library(self) -> tuple[LibraryService, UserSession | None]:
        services = self.session.services
        if services is None:
            raise SessionExpired("the database is not open; log in again")
        return LibraryService(services.auth, services.records), self.session.user

    def library_rows(self) -> list[LibraryRow]:
        """Every recipe and ink version; signers are named when the user may view records.

        Raises
        ------
        SessionExpired
            The database is not open.
        """
        library, user = self._library()
        rows = []
        for v in library.versions():
            signed = ""
            if user is not None and self.session.may(Operation.VIEW_RECORDS):
                assert self.session.services is not None
                sigs = self.session.services.records.signatures(
                    user, f"{v.kind}_version", v.record_id
                )
                signed = "; ".join(
                    f"{(s.comment or '').split(' of ', 1)[0]} by {s.signer_name} "
                    f"({s.signer_user_id}) {s.signed_at[:16]}"
                    for s in sigs
                )
            rows.append(
                LibraryRow(v.kind, v.item_id, v.version, v.status, v.content_sha256, signed)
            )
        return rows

    def import_library(self) -> list[ImportOutcome]:
        """Import the shipped recipe and ink files as library versions (supervisors).

        Raises
        ------
        SessionExpired, PermissionDenied
            Nobody is logged in, or the role may not edit the library.
        CatalogError
            The catalog is not loaded.
        """
        library, user = self._library()
        if user is None:
            raise SessionExpired("not logged in")
        if self.catalog is None:
            raise CatalogError(self.catalog_error or "the catalog is not loaded")
        return library.import_catalog(user, self.catalog)

    def sign_library(
        self, step: str, row: LibraryRow, user_id: str, password: str, comment: str
    ) -> str:
        """Validate (``step="validate"``) or lock a version with an e-signature; the manifestation.

        Raises
        ------
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed, AccountLocked
            As :meth:`printpharm.services.control.library.LibraryService.validate` raises them.
        SessionExpired
            Nobody is logged in.
        """
        library, user = self._library()
        if user is None:
            raise SessionExpired("not logged in")
        sign = library.validate if step == "validate" else library.lock
        return manifestation(
            sign(user, row.kind, row.item_id, row.version, user_id, password, comment)
        )

    # -- devices and mode --------------------------------------------------------------------

    @property
    def site(self) -> SiteAdmin:
        """Site settings and registered balances, for the logged-in user."""
        return SiteAdmin(self.session)

    @property
    def lots(self) -> StationLots:
        """Ink lots and content uniformity, for the logged-in user."""
        return StationLots(self.session)

    @property
    def calibrations(self) -> StationCalibrations:
        """Calibration versions, series and signatures, for the logged-in user."""
        ports = (self.config.printer_url, self.config.balance_url)
        return StationCalibrations(self.session, self.catalog, ports)

    def device_status(self) -> tuple[DeviceStatus, DeviceStatus]:
        """Printer and balance as configured (the print-run service will connect them)."""
        return (
            _device("printer", self.config.printer_url),
            _device("balance", self.config.balance_url),
        )

    def mode_status(self) -> ModeStatus:
        """Locked or research mode, from the research-mode service (locked if no database)."""
        return self.session.mode_status()


def _device(kind: str, url: str) -> DeviceStatus:
    simulated = url.startswith("sim://")
    state = "simulator, not connected" if simulated else "not connected"
    return DeviceStatus(kind, url, simulated, state)


def build_workstation(
    config: WorkstationConfig | None = None, clock: Callable[[], datetime] | None = None
) -> Workstation:
    """Build the services of this workstation (the composition root calls this once).

    A catalog that fails to load does not stop the application: the failure is
    kept in ``catalog_error`` and shown, and no recipe can be picked. The
    database is opened later, by the login (:class:`StationSession`).

    Parameters
    ----------
    config
        Database, data root and device URLs (defaults: default file, shipped data, simulators).
    clock
        Aware-datetime clock for audit events and idle timeouts (tests inject one).
    """
    config = config or WorkstationConfig()
    try:
        catalog: Catalog | None = load_catalog(config.data_root)
        error = None
    except (CatalogError, InputError) as exc:
        catalog, error = None, f"the ink/recipe catalog could not be loaded: {exc}"
    return Workstation(config, catalog, error, StationSession(config.database_url, clock))
