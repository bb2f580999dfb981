"""The flow-correction part of a print run: the controller and the next unit's material factor.

The controller (:mod:`printpharm.services.run.flow_control`) learns from every
weighed unit; this part applies its decision by scaling the E words of the next
unit's G-code (0.01 % steps, inside the recipe's validated range), and records
each change with its reason.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from printpharm.services.jobs import EventHub
from printpharm.services.run.events import FlowCorrected
from printpharm.services.run.flow_control import ControlParameters, ControlStep, FlowController
from printpharm.services.run.noise_prior import NoisePrior, calibration_prior
from printpharm.services.run.parts import Clock, RunLedger
from printpharm.services.run.recording import BatchRecorder
from printpharm.services.run.request import RunOptions, RunRequest
from printpharm.services.run.result import FlowCorrection, UnitRecord
from printpharm.services.run.weighing import FlowSetting

__all__ = ["FlowCorrectionPart", "control_parameters", "noise_prior"]

#: Resolution of the material factor: 0.01 % (Marlin's M221 has 1 %).
_SCALE_STEP = Decimal("0.0001")


def noise_prior(req: RunRequest) -> NoisePrior:
    """The controller's unit-to-unit noise prior: the site calibration's σ̂_rel, else the ink's.

    See :mod:`.noise_prior`; an unweighted fit's σ̂ (mg) is read at the predicted unit mass.
    """
    prediction = req.prediction
    calibration = None if prediction is None else prediction.calibration
    units = req.program.units
    unit_mass = float(units[0].target_mg) if units else 0.0
    if prediction is not None:
        unit_mass = prediction.mass_mg
    return calibration_prior(
        calibration,
        req.ink.id,
        req.ink.variability.unit_rsd.value,
        float(req.recipe.control.balance_sd.value),
        unit_mass,
    )


def control_parameters(req: RunRequest, prior: NoisePrior | None = None) -> ControlParameters:
    """The flow controller's noise model and range (% → fraction).

    The unit-to-unit noise prior and its weight are ``prior`` (default
    :func:`noise_prior`: the site calibration in force when fitted from weighed
    discs, else the ink file's); the rest comes from the ink and the recipe.
    """
    var, tol = req.ink.variability, req.recipe.tolerances
    prior = noise_prior(req) if prior is None else prior
    hundred = 100.0
    return ControlParameters(
        unit_rsd=prior.unit_rsd,
        prior_df=prior.df,
        balance_sd_mg=float(req.recipe.control.balance_sd.value),
        offset_sd=float(var.offset_sd.value) / hundred,
        drift_sd=float(var.drift_sd.value) / hundred,
        correction_min=float(tol.flow_correction.min) / hundred,
        correction_max=float(tol.flow_correction.max) / hundred,
        units_total=len(req.program.units),
    )


def _pct(fraction: float) -> Decimal:
    return (Decimal(repr(fraction)) * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


class FlowCorrectionPart:
    """The flow controller of one run and the material factor it sets."""

    def __init__(
        self,
        req: RunRequest,
        options: RunOptions,
        recorder: BatchRecorder,
        hub: EventHub,
        ledger: RunLedger,
        clock: Clock,
    ) -> None:
        self.req, self.options, self.recorder, self.hub = req, options, recorder, hub
        self.ledger, self.clock = ledger, clock
        self.noise_prior = noise_prior(req)
        self.controller = FlowController(control_parameters(req, self.noise_prior))
        self.flow_pct = Decimal(100)  # the firmware flow factor, set (M221) at the start
        self.e_scale = Decimal(1)  # the material factor of the next unit's E words
        self.next_reason = "the first unit is printed as planned"

    def setting(self) -> FlowSetting:
        """The flow the next unit is printed at, and why."""
        return FlowSetting(self.flow_pct, self.e_scale, self.next_reason)

    def observe(self, record: UnitRecord) -> ControlStep:
        """Let the controller learn from a weighed unit (failing ones too)."""
        assert record.measured_mg is not None
        return self.controller.observe(
            record.n, float(record.target_mg), float(record.measured_mg), float(self.e_scale)
        )

    def correct_flow(self, record: UnitRecord, step: ControlStep) -> None:
        """Set the next unit's material factor from the controller's decision.

        Applied by scaling the E words of the next unit's G-code (0.01 % steps,
        inside the recipe's validated range); recorded with its reason.
        """
        if not self.options.flow_correction:
            self.next_reason = "flow correction is off: printed as planned"
            return
        new = Decimal(repr(step.scale)).quantize(_SCALE_STEP, rounding=ROUND_HALF_UP)
        self.next_reason = f"after unit {record.n}: {step.reason}"
        if new == self.e_scale:
            return
        correction = self._correction(record, step, new)
        self.e_scale = new
        self.ledger.corrections.append(correction)
        self.recorder.correction(self.ledger.batch_id, correction)
        self.hub.publish(FlowCorrected(correction))

    def _correction(self, record: UnitRecord, step: ControlStep, new: Decimal) -> FlowCorrection:
        assert record.measured_mg is not None
        bounds = self.req.recipe.tolerances.flow_correction
        requested = Decimal(repr(step.requested_scale)) * 100
        return FlowCorrection(
            after_unit=record.n,
            for_unit=record.n + 1,
            measured_mg=record.measured_mg,
            target_mg=record.target_mg,
            previous_pct=(self.e_scale * 100).quantize(Decimal("0.01")),
            requested_pct=requested.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            applied_pct=(new * 100).quantize(Decimal("0.01")),
            bounds_pct=(100 + bounds.min, 100 + bounds.max),
            clamped=step.clamped,
            command=f"E words of unit {record.n + 1} scaled by {new}",
            at=self.clock.now(),
            e_scale=new,
            estimate_pct=_pct(step.estimate),
            estimate_se_pct=_pct(step.estimate_se),
            reason=step.reason,
        )
