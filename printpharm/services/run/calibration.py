"""The calibration a plan sizes with, the unit mass it predicts, and the batch's drift check.

A plan turns the ink mass of a dose into a volume with a calibration
``mass = a·V + b``: the locked calibration fitted and signed on site for the
ink version and printer (:mod:`printpharm.services.control.calibration` finds
the one in force), or, where none exists, the ink file's typed-in default,
labelled :data:`INK_FILE_LABEL` (it has no statistics, hence no prediction
interval). A site calibration is fitted from discs weighed in line, as
dispensed, so the volume is sized for the dispensed mass; the ink file's
default keeps its historical reading (the weighed printlet's mass).

:func:`predict_unit` gives the planned unit's predicted mass with its 95 %
prediction interval and refuses a dose whose interval reaches outside the
recipe's unit tolerance. :meth:`MassPrediction.drift` compares a finished
batch's weighed masses with the prediction (:func:`printpharm.core.calibration_checks.drift_check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from printpharm.catalog.schema import Ink
from printpharm.core.calibration import LinearCalibration
from printpharm.core.calibration_checks import DriftCheck, drift_check, exact, interval_problem
from printpharm.core.units import ink_volume_mm3
from printpharm.errors import PreflightError

if TYPE_CHECKING:  # a plan imports this module and needs no run records
    from printpharm.services.run.result import UnitRecord

__all__ = [
    "MASS_BASIS_DISPENSED",
    "MASS_BASIS_PRINTLET",
    "INK_FILE_LABEL",
    "CalibrationInForce",
    "MassPrediction",
    "calibration_check",
    "density_check",
    "predict_unit",
    "predicted_mass_words",
]

#: The record's ``mass_basis`` of a calibration fitted on site (units weighed in line, wet).
MASS_BASIS_DISPENSED = "as dispensed (weighed in line)"
#: The record's ``mass_basis`` of the ink file's calibration (the weighed printlet).
MASS_BASIS_PRINTLET = "weighed printlet"

#: How a plan names the ink file's default calibration.
INK_FILE_LABEL = "ink file, not fitted on site"
CalibrationSource = Literal["site", "ink_file"]


@dataclass(frozen=True)
class CalibrationInForce:
    """A calibration as a plan uses it: the line, where it comes from, what it is bound to.

    ``source`` is ``site`` for a calibration version fitted and signed on site
    (``version`` set) or ``ink_file`` for the ink file's default.
    """

    line: LinearCalibration
    source: CalibrationSource
    ink_id: str
    version: int | None = None
    ink_version: int | None = None
    printer_type: str | None = None
    printer_asset: str | None = None
    lot_number: str | None = None
    status: str = ""
    content_sha256: str | None = None
    simulated: bool = False

    @classmethod
    def from_ink_file(cls, ink: Ink) -> CalibrationInForce:
        """The ink file's typed-in default calibration (no fit statistics)."""
        return cls(ink.calibration.to_linear(), "ink_file", ink.id)

    @property
    def fitted(self) -> bool:
        """Whether this is a calibration fitted on site (from weighed points)."""
        return self.source == "site"

    @property
    def label(self) -> str:
        """``calibration v3 (locked): ink v1 on marlin-sse, ...`` or the ink file's label."""
        if not self.fitted:
            return f"{INK_FILE_LABEL} ({self.ink_id})"
        where = f"{self.ink_id} v{self.ink_version} on {self.printer_type}"
        if self.printer_asset:
            where += f" {self.printer_asset}"
        if self.lot_number:
            where += f", lot {self.lot_number}"
        simulated = ", fitted on the built-in simulators: training only" if self.simulated else ""
        return f"calibration v{self.version} ({self.status}{simulated}): {where}"

    def equation(self) -> str:
        """``mass = 1.2000 mg/mm³ · V + 0.041 mg`` over its calibrated range."""
        line = self.line
        return (
            f"mass = {line.a_mg_per_mm3:.6g} mg/mm³ · V {'+' if line.b_mg >= 0 else '−'} "
            f"{abs(line.b_mg):.4g} mg, for {line.v_min_mm3:.1f}–{line.v_max_mm3:.1f} mm³"
        )

    def record(self) -> dict[str, Any]:
        """The calibration as a batch record keeps it (exact decimals, no floats)."""
        line = self.line
        optional = {
            "r2": line.r2,
            "residual_sd_mg": line.residual_sd_mg,
            "v_mean_mm3": line.v_mean_mm3,
            "sxx_mm6": line.sxx_mm6,
            "sum_weights": line.sum_weights,
            "residual_sd_rel": line.residual_sd_rel,
        }
        return {
            "source": self.source,
            "label": self.label,
            "version": self.version,
            "status": self.status or None,
            "ink_id": self.ink_id,
            "ink_version": self.ink_version,
            "printer_type": self.printer_type,
            "printer_asset": self.printer_asset,
            "lot_number": self.lot_number,
            "content_sha256": self.content_sha256,
            "simulated": self.simulated,
            "a_mg_per_mm3": exact(line.a_mg_per_mm3),
            "b_mg": exact(line.b_mg),
            "n": line.n,
            "weighting": line.weighting if self.fitted else None,
            "v_min_mm3": exact(line.v_min_mm3),
            "v_max_mm3": exact(line.v_max_mm3),
            **{k: None if v is None else exact(v) for k, v in optional.items()},
            "mass_basis": MASS_BASIS_DISPENSED if self.fitted else MASS_BASIS_PRINTLET,
        }


def predicted_mass_words(fitted: bool, dries: bool) -> str:
    """What a predicted mass is the mass of: ``predicted unit mass``, named for an ink that dries.

    For an ink whose wet and dried masses differ, a site calibration (weighed in
    line) predicts the unit as dispensed, wet; the ink file's default predicts the
    printlet once dried, which is not what the balance weighs in line.
    """
    if not dries:
        return "predicted unit mass"
    if fitted:
        return "predicted unit mass as dispensed (wet, weighed in line)"
    return "predicted printlet mass once dried"


@dataclass(frozen=True)
class MassPrediction:
    """A planned unit's predicted mass (mg) from its volume (mm³), with its 95 % interval.

    ``dries``: the ink's wet and dried masses differ (the text then names the basis).
    """

    calibration: CalibrationInForce
    volume_mm3: float
    mass_mg: float
    interval_mg: tuple[float, float] | None
    dries: bool = False

    @property
    def text(self) -> str:
        """``predicted unit mass 148.20 mg (95 % prediction interval 147.9–148.5 mg)``."""
        if self.interval_mg is None:
            spread = "no prediction interval: not fitted from weighed units"
        else:
            low, high = self.interval_mg
            spread = f"95 % prediction interval {low:.2f}–{high:.2f} mg"
        words = predicted_mass_words(self.calibration.fitted, self.dries)
        return f"{words} {self.mass_mg:.2f} mg ({spread})"

    def record(self) -> dict[str, Any]:
        """The calibration and the prediction for the batch record."""
        interval = self.interval_mg
        return {
            **self.calibration.record(),
            "unit_volume_mm3": exact(self.volume_mm3),
            "predicted_mass_mg": exact(self.mass_mg),
            "prediction_interval_mg": None if interval is None else [exact(v) for v in interval],
        }

    def drift(self, flows_pct: Sequence[Decimal], measured_mg: Sequence[Decimal]) -> DriftCheck:
        """The weighed units against this prediction (raises CalibrationError without a fit)."""
        return drift_check(self.calibration.line, self.volume_mm3, flows_pct, measured_mg)


def predict_unit(
    calibration: CalibrationInForce,
    volume_mm3: float,
    target_mg: Decimal,
    tolerance_pct: Decimal,
    what: str = "this dose",
    *,
    dries: bool = False,
) -> MassPrediction:
    """The unit mass ``calibration`` predicts for ``volume_mm3``, checked against the tolerance.

    ``dries``: the ink's wet and dried masses differ (see :func:`predicted_mass_words`).

    Raises
    ------
    PreflightError
        The 95 % prediction interval reaches outside ``target_mg`` ± ``tolerance_pct``:
        the calibration cannot promise this dose within the recipe's tolerance.
    """
    line = calibration.line  # sizing checked the range; the G-code may lie 0.5 % beyond it
    mass = line.mass_for_volume(volume_mm3, allow_extrapolation=True)
    interval = None
    if calibration.fitted:
        interval = line.prediction_interval(volume_mm3, allow_extrapolation=True)
    if interval is not None:
        problem = interval_problem(target_mg, interval, tolerance_pct)
        if problem is not None:
            raise PreflightError(
                f"{what} is refused: {problem} ({calibration.label}); recalibrate with less "
                "scatter, or choose a recipe whose tolerance this ink and printer can hold"
            )
    return MassPrediction(calibration, volume_mm3, mass, interval, dries)


def density_check(ink: Ink, dispensed_mg: float, volume_mm3: float) -> tuple[str, ...]:
    """Warn when the calibration and the ink's density disagree by more than 10 %."""
    by_density = float(ink_volume_mm3(Decimal(repr(dispensed_mg)), ink.density.value))
    if abs(volume_mm3 / by_density - 1) <= 0.10:
        return ()
    return (
        f"the calibration gives {volume_mm3:.1f} mm³ but the ink's density "
        f"{ink.density} gives {by_density:.1f} mm³ for {dispensed_mg:.1f} mg; check the "
        "calibration",
    )


def calibration_check(
    prediction: MassPrediction | None, status: str, units: Sequence[UnitRecord]
) -> dict[str, Any] | None:
    """A completed batch's weighed units against a site calibration's prediction, for the record.

    ``None`` when the run did not complete, nothing was weighed, or the calibration is
    the ink file's (no fit statistics: it cannot tell drift from scatter).
    """
    if prediction is None or status != "completed" or not prediction.calibration.fitted:
        return None
    # what each unit was printed with: the firmware flow factor × the controller's E factor
    weighed = [(u.flow_pct * u.e_scale, u.measured_mg) for u in units if u.measured_mg is not None]
    if not weighed:
        return None
    check = prediction.drift([f for f, _ in weighed], [m for _, m in weighed])
    return {
        "calibration": prediction.calibration.label,
        "version": prediction.calibration.version,
        "units": check.units,
        "mean_departure_mg": check.mean_departure_mg,
        "limit_mg": check.limit_mg,
        "drift": check.drift,
        "text": check.text,
    }
