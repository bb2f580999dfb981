"""Calibrations for the desktop application (Qt-free): rows, the selected fit, a series, signatures.

Private to :mod:`printpharm.services.station.workstation`. Turns
:mod:`printpharm.services.control.calibration` and
:mod:`printpharm.services.control.calibration_run` into rows of text and the data
of the plot; the services decide everything else (who may run a series — a
technician and up — and who validates and locks — a pharmacist, never the one who
fitted it —, the equipment gates, the acceptance criteria, the audit trail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from printpharm.catalog import Catalog
from printpharm.core.calibration import LinearCalibration, weighting_text
from printpharm.core.calibration_checks import acceptance_problems
from printpharm.errors import CalibrationError, CatalogError, SessionExpired
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import manifestation
from printpharm.services.control.calibration import CalibrationService, CalibrationView
from printpharm.services.control.calibration_plot import PlotData, plot_data
from printpharm.services.control.calibration_run import (
    CalibrationRun,
    SeriesMeasurement,
    SeriesOrder,
)
from printpharm.services.run.calibration_series import SeriesPoint
from printpharm.services.station.session import StationSession
from printpharm.storage.library import library

__all__ = ["CalibrationDetail", "CalibrationRow", "SeriesResult", "StationCalibrations"]


@dataclass(frozen=True)
class CalibrationRow:
    """One calibration version as the Calibrations page lists it."""

    version: int
    ink: str
    printer: str
    lot: str
    status: str
    in_force: str
    use: str
    r2: str
    residual_sd: str
    n: str
    fitted: str
    training_only: bool


@dataclass(frozen=True)
class CalibrationDetail:
    """The selected fit: its plot data, statistics, acceptance verdict and signatures."""

    title: str
    plot: PlotData
    lines: tuple[str, ...]
    accepted: bool
    verdict: str
    training_only: bool


@dataclass(frozen=True)
class SeriesResult:
    """A series run from the page: what was measured and stored, or why the fit was refused."""

    detail: CalibrationDetail
    version: int | None
    refusal: str | None


def _stats(line: LinearCalibration, masses: list[Decimal]) -> tuple[str, ...]:
    assert line.r2 is not None and line.residual_sd_mg is not None
    mean = float(sum(masses, Decimal(0)) / len(masses))
    sign = "−" if line.b_mg < 0 else "+"
    low, high = line.prediction_interval(line.v_max_mm3)
    return (
        f"mass = {line.a_mg_per_mm3:.6f} mg/mm³ · V {sign} {abs(line.b_mg):.4f} mg, "
        f"for {line.v_min_mm3:.0f}–{line.v_max_mm3:.0f} mm³",
        f"n = {line.n} discs;  R² = {line.r2:.6f};  residual SD = {line.residual_sd_mg:.3f} mg "
        f"({line.residual_sd_mg / mean * 100:.2f} % of the mean mass {mean:.1f} mg)",
        f"95 % prediction interval of one unit at {line.v_max_mm3:.0f} mm³: "
        f"{low:.2f}–{high:.2f} mg",
        f"fit: {weighting_text(line.weighting)}"
        + ("" if line.residual_sd_rel is None else
           f"; relative residual SD = {line.residual_sd_rel * 100:.2f} % (what is judged)"),
    )  # fmt: skip


class StationCalibrations:
    """Calibrations for the logged-in user (see the module docstring)."""

    def __init__(
        self, session: StationSession, catalog: Catalog | None, ports: tuple[str, str]
    ) -> None:
        self._session, self._catalog, self._ports = session, catalog, ports

    def _service(self) -> CalibrationService:
        services = self._session.services
        if services is None:
            raise SessionExpired("the database is not open; log in again")
        return CalibrationService(services.auth, services.records)

    # -- who may ------------------------------------------------------------------------
    def may_run(self) -> bool:
        """Whether the user may run a calibration series (technicians and up)."""
        return self._session.may(Operation.RUN_CALIBRATION)

    def may_validate(self) -> bool:
        """Whether the user may validate a draft (pharmacists)."""
        return self._session.may(Operation.VALIDATE_LIBRARY)

    def may_lock(self) -> bool:
        """Whether the user may lock a validated calibration (pharmacists)."""
        return self._session.may(Operation.LOCK_LIBRARY)

    @property
    def ports(self) -> tuple[str, str]:
        """The configured printer and balance ports (``sim://`` when none is configured)."""
        return self._ports

    # -- reading ------------------------------------------------------------------------
    def inks(self) -> list[str]:
        """Inks with a locked library version (a calibration belongs to an ink version)."""
        services = self._session.services
        if services is None:
            return []
        with services.auth.uow(write=False) as uow:
            return sorted({v.item_id for v in library(uow).versions("ink", status="locked")})

    def printers(self) -> list[str]:
        """The printer definitions of the catalog."""
        return [] if self._catalog is None else sorted(p.id for p in self._catalog.printers())

    def rows(self) -> list[CalibrationRow]:
        """Every calibration version, newest first.

        Raises
        ------
        PermissionDenied, SessionExpired
            The role may not view records, or the session ended.
        """
        user = self._session.require(Operation.VIEW_RECORDS)
        views = self._service().list(user)
        real = {_binding(v) for v in views if v.record.status == "locked" and not v.training_only}
        return [_row(v, real) for v in views]

    def detail(self, version: int) -> CalibrationDetail:
        """The plot data, statistics, verdict and signatures of one version."""
        user = self._session.require(Operation.VIEW_RECORDS)
        service = self._service()
        view = service.show(user, version)
        r = view.record
        masses = [m for _, m in r.points]
        problems = acceptance_problems(view.line, masses, service.criteria())
        signed = tuple(manifestation(s) for s in view.signatures)
        title = f"Calibration v{r.version} ({r.status}) — {r.ink_id} v{r.ink_version} on " + (
            f"{r.printer_type}" + (f" {r.printer_asset}" if r.printer_asset else "")
        )
        signed = signed or ("not signed yet: a pharmacist validates, then locks",)
        return _detail(title, view.line, r.points, problems, view.training_only, signed)

    # -- acting -------------------------------------------------------------------------
    def run_series(
        self, order: SeriesOrder, on_point: Callable[[SeriesPoint], None] | None = None
    ) -> SeriesResult:
        """Print, weigh and fit a series (in a worker thread); store it as a draft.

        A fit the site's criteria refuse is returned with its reasons (and audited),
        so the page can show what was measured.

        Raises
        ------
        PermissionDenied, PreflightError, DeviceError, RecordError, InputError
            As :meth:`CalibrationRun.measure`.
        """
        user = self._session.require(Operation.RUN_CALIBRATION)
        services = self._session.services
        if services is None or self._catalog is None:
            raise CatalogError("the catalog or the database is not available")
        runner = CalibrationRun(services.auth, services.records, self._catalog)
        measured = runner.measure(user, order, on_point=on_point)
        try:
            record = runner.store(user, measured)
        except CalibrationError as exc:  # refused by the criteria: show what was measured
            masses = [m for _, m in measured.pairs]
            problems = acceptance_problems(measured.line, masses, runner.service.criteria())
            return SeriesResult(_measured(measured, problems or (str(exc),)), None, str(exc))
        return SeriesResult(self.detail(record.version), record.version, None)

    def sign(self, step: str, version: int, user_id: str, password: str, comment: str) -> str:
        """Validate or lock ``version`` with an e-signature; the signature's manifestation.

        Raises
        ------
        PermissionDenied, RecordError, SignatureError, AuthenticationFailed
            As :meth:`CalibrationService.validate` / :meth:`CalibrationService.lock`.
        """
        user = self._session.require(Operation.VIEW_RECORDS)
        service = self._service()
        move = service.validate if step == "validate" else service.lock
        return manifestation(move(user, version, user_id, password, comment or None))


def _binding(view: CalibrationView) -> tuple[str, int, str, str | None, str | None]:
    r = view.record
    return (r.ink_id, r.ink_version, r.printer_type, r.printer_asset, r.lot_number)


def _row(
    view: CalibrationView, real: set[tuple[str, int, str, str | None, str | None]]
) -> CalibrationRow:
    r = view.record
    if r.status != "locked":
        in_force = "no"
    elif view.training_only and any(b[:3] == _binding(view)[:3] for b in real):
        in_force = "no: one fitted on real equipment applies"
    else:
        in_force = "yes"
    return CalibrationRow(
        r.version, f"{r.ink_id} v{r.ink_version}",
        r.printer_type + (f" {r.printer_asset}" if r.printer_asset else ""),
        r.lot_number or "any lot", r.status, in_force,
        "TRAINING ONLY" if view.training_only else "site", f"{r.r2}", f"{r.residual_sd_mg} mg",
        str(r.n_points), f"{r.fitted_by} {r.fitted_at:%Y-%m-%d}", view.training_only,
    )  # fmt: skip


def _detail(
    title: str, line: LinearCalibration, points: tuple[tuple[Decimal, Decimal], ...],
    problems: tuple[str, ...], training: bool, signed: tuple[str, ...] = (),
) -> CalibrationDetail:  # fmt: skip
    pairs = [(float(v), float(m)) for v, m in points]
    lines = [*_stats(line, [m for _, m in points]), *signed]
    verdict = (
        "meets the site's acceptance criteria"
        if not problems
        else "does NOT meet the site's acceptance criteria: " + "; ".join(problems)
    )
    return CalibrationDetail(title, plot_data(line, pairs), tuple(lines), not problems, verdict,
                             training)  # fmt: skip


def _measured(measured: SeriesMeasurement, problems: tuple[str, ...]) -> CalibrationDetail:
    order = measured.order
    title = f"Series of {order.ink_id} v{measured.ink_version} on {order.printer_id} — not stored"
    note = ("not stored: fix the cause and run the series again",)
    return _detail(title, measured.line, measured.pairs, problems, measured.training_only, note)
