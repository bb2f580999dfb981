"""The in-run flow controller: estimate the process offset, correct only what is real.

Pure (no I/O, no devices). After each weighed unit the run calls
:meth:`FlowController.observe`; the controller returns a :class:`ControlStep`
with the material factor (``scale``) for the next unit's G-code, why, and what
the monitoring saw. The design follows process-control.md:

*Estimate, do not chase.* Unit *k*, printed with material factor ``c_k``,
weighs ``T · c_k · (1 + b_k) · (1 + e_k)``; the controller works on
``y_k = ln(measured / (T · c_k))``, the log offset of the *process* (its own
corrections divided out), with observation noise ``r² = σ² + (balance_sd / T)²``.
σ, the deposit's own scatter, starts at ``unit_rsd`` — the scatter measured by the
site calibration in force less the balance's share, else the ink file's declared
RSD (:mod:`.noise_prior`) — and is updated from the batch's successive differences
(a scaled-inverse-χ² posterior with ``prior_df`` pseudo-observations: the
calibration's degrees of freedom, capped, or 4). A successive difference holds the
balance's read noise of both units as well, so that share is taken out of the sum
of squares before it updates σ (left in, the balance would count twice in ``r²``:
negligible for a 200 mg unit on a 5-place balance, but for a 5 mg mini-tablet that
scatters 1 % and is weighed to 0.05 mg, ``r²`` would settle at 3·10⁻⁴ instead of
the 2·10⁻⁴ the deposit and the balance make together).
The offset to correct is predicted by a Kalman filter on a level and a drift
rate (the *tracker*): a wide prior level ``N(0, wide_offset_sd²)`` (whether
there is an offset is decided below; a tight prior would read a constant
offset as a drift and overshoot), prior rate ``N(0, (track_drift_factor ·
drift_sd)²)`` per unit and a small random walk of the level. For a constant
offset its gain falls like a recursive mean's: noise is averaged, not followed
(a fixed gain K would inflate the unit variance by 2 / (2 − K)); a drift is
followed and extrapolated one unit ahead.

*Decide first, then correct.* Whether the batch is off its calibration at all
is a choice between hypotheses, each scored by the likelihood of the units so
far (the prediction-error decomposition of its filter): "on" (every ``y`` is
noise around 0; prior probability ``prior_on_calibration``) and three ways of
being off it: a small offset that may drift (level ``offset_sd``, rate
``drift_sd``), a constant offset (level ``level_offset_sd``, no drift;
``level_share`` of the off prior) and a large offset that may drift too (level
``wide_offset_sd``, ``wide_share``). The next unit gets the tracker's
correction weighted by that evidence: none while ``P(off) <= gate_from``, all
of it from ``P(off) >= gate_full``, in proportion between. A real offset is
removed by its estimate once the evidence is clear; pure noise, which now and
then lifts ``P(off)`` a little above even, gets at most a part of a small
estimate, so the unit RSD is hardly inflated (a hard switch at 0.5 printed the
next unit with the whole estimate on the weakest evidence and back again;
tests/benchmarks/bench_closed_loop.py measures how much). Unlike a z-test repeated
after every unit, the Bayes factor of a process that is on its calibration
keeps falling as units accumulate. The factor is ``exp(−correction)``, finer
than 1 % (the run rounds it to 0.01 %), clamped to the recipe's validated
flow-correction range.

*Learn from every unit.* A unit out of tolerance is still an observation; only
its pull on the estimates is limited (the innovation is clipped at
``clip_sigma`` standard deviations) so that one air bubble cannot swing them.
The alarm policy, not the controller, decides about the batch.

*Monitor separately.* A sudden drop (from unit 2 on, an observation more than
``z_drop`` standard deviations below the prediction: a clog, a large bubble) is
flagged at once for an alarm. A drift that will leave the validated correction
range, and a significant trend inside it, are named in a drift warning by
:mod:`.flow_monitor` from the same hypotheses.

Precision: double-precision floats (the statistics are approximate by nature);
the run rounds the factor to 4 decimals (0.01 %); reasons give 2 decimals of %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from printpharm.errors import InputError
from printpharm.services.run.flow_monitor import DriftMonitor, DriftWarning, Projection, TrendLimits

__all__ = ["ControlParameters", "ControlStep", "DriftWarning", "FlowController"]


@dataclass(frozen=True)
class ControlParameters:
    """Noise model, validated range and decision thresholds (fractions, not %).

    Parameters
    ----------
    unit_rsd : float
        Prior unit-to-unit relative SD of the deposited mass, balance noise excluded
        (0.02 = 2 %).
    balance_sd_mg : float
        Read noise of the balance (mg).
    offset_sd : float
        Prior SD of the batch's offset from its calibration (a small, drifting offset).
    drift_sd : float
        Prior SD of a drift rate of the offset, per unit (the hypotheses' rate;
        the tracker's is ``track_drift_factor`` times it).
    correction_min, correction_max : float
        The recipe's validated flow-correction range (−0.05, 0.05 for ±5 %).
    units_total : int
        Units in the batch (to project a drift to its end).
    prior_df : float
        Weight of ``unit_rsd`` against the batch's own successive differences, in
        pseudo-observations (degrees of freedom).
    """

    unit_rsd: float
    balance_sd_mg: float
    offset_sd: float
    drift_sd: float
    correction_min: float
    correction_max: float
    units_total: int
    prior_on_calibration: float = 0.7
    wide_offset_sd: float = 0.05
    wide_share: float = 0.1
    level_share: float = 0.15
    level_offset_sd: float = 0.03
    gate_from: float = 0.45
    gate_full: float = 0.75
    track_drift_factor: float = 2.0
    z_drop: float = 3.0
    z_trend: float = 3.0
    z_rate: float = 2.0
    z_line: float = 1.75
    clip_sigma: float = 3.0
    level_walk: float = 0.001
    min_trend_units: int = 4
    prior_df: float = 4.0

    def __post_init__(self) -> None:
        positive = ("unit_rsd", "offset_sd", "z_drop", "z_trend", "clip_sigma")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InputError(f"flow control: {name} = {getattr(self, name)} must be > 0")
        noise = (self.balance_sd_mg, self.drift_sd, self.level_walk, self.prior_df)
        if min(*noise, self.z_rate, self.z_line, self.track_drift_factor) < 0:
            raise InputError("flow control: noise parameters must not be negative")
        if not self.correction_min <= 0 <= self.correction_max or self.correction_min <= -1:
            raise InputError(
                f"flow control: correction range {self.correction_min:+.2%}.."
                f"{self.correction_max:+.2%} must contain 0 %"
            )
        if self.units_total < 1:
            raise InputError(f"flow control: units_total = {self.units_total} must be >= 1")
        for name in ("prior_on_calibration", "wide_share"):
            if not 0 < getattr(self, name) < 1:
                raise InputError(f"flow control: {name} must be between 0 and 1")
        if not 0 <= self.level_share < 1 - self.wide_share:
            raise InputError("flow control: level_share + wide_share must be below 1")
        if not 0 <= self.gate_from < self.gate_full <= 1:
            raise InputError("flow control: the gate needs 0 <= gate_from < gate_full <= 1")


@dataclass(frozen=True)
class ControlStep:
    """What the controller made of one weighed unit (fractions; see the module docstring).

    ``deviation`` is the unit's own deviation from target; ``process_deviation``
    the process's (its correction divided out); ``innovation_sigmas`` how far
    it was from the prediction, in standard deviations; ``estimate`` ±
    ``estimate_se`` the offset predicted for the next unit; ``scale`` the
    factor for the next unit (``requested_scale`` before clamping), ``corrected``
    whether it changed, ``clamped`` whether the validated range limited it,
    ``reason`` why in words; ``sudden_drop`` and ``warning`` the monitoring.
    """

    unit: int
    deviation: float
    process_deviation: float
    innovation_sigmas: float
    estimate: float
    estimate_se: float
    scale_before: float
    scale: float
    requested_scale: float
    corrected: bool
    clamped: bool
    reason: str
    sudden_drop: bool
    warning: DriftWarning | None = None


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


@dataclass
class _Kalman:
    """Level and drift rate (log offset, per unit) with their 2×2 covariance."""

    level: float
    rate: float
    p_ll: float
    p_lr: float
    p_rr: float

    def predict(self, walk: float) -> None:
        """One unit on: the level moves by the rate (and a small random walk)."""
        self.level += self.rate
        self.p_ll += 2 * self.p_lr + self.p_rr + walk**2
        self.p_lr += self.p_rr

    def update(self, innovation: float, r2: float) -> None:
        """Take in an observation of the level (``innovation`` = observed − level)."""
        s = self.p_ll + r2
        k_l, k_r = self.p_ll / s, self.p_lr / s
        self.level += k_l * innovation
        self.rate += k_r * innovation
        p_ll, p_lr, p_rr = self.p_ll, self.p_lr, self.p_rr
        self.p_ll = p_ll - k_l * p_ll
        self.p_lr = p_lr - k_l * p_lr
        self.p_rr = p_rr - k_r * p_lr

    def ahead(self) -> tuple[float, float]:
        """The offset predicted for the next unit and its standard error."""
        var = self.p_ll + 2 * self.p_lr + self.p_rr
        return self.level + self.rate, math.sqrt(max(var, 0.0))


def _log_normal(x: float, mean: float, var: float) -> float:
    return -0.5 * ((x - mean) ** 2 / var + math.log(var))


@dataclass
class _Hypothesis:
    """One explanation of the batch: on its calibration (no filter), or off it (a Kalman)."""

    log_weight: float  # log prior + log likelihood of the units so far
    kf: _Kalman | None = None

    def predictive(self, r2: float) -> tuple[float, float]:
        """Mean and variance of the next observation under this hypothesis."""
        if self.kf is None:
            return 0.0, r2
        return self.kf.level, self.kf.p_ll + r2


@dataclass
class FlowController:
    """The controller of one batch; see the module docstring.

    ``scale`` is the material factor to print the next unit with (1 = as planned).
    """

    params: ControlParameters
    scale: float = 1.0
    _hyps: list[_Hypothesis] = field(init=False)
    _tracker: _Kalman = field(init=False)
    _monitor: DriftMonitor = field(init=False)
    _points: list[tuple[int, float]] = field(default_factory=list)
    _noise_ss: float = 0.0  # half the sum of squared successive differences (MSSD)
    _balance_ss: float = 0.0  # the balance's expected share of _noise_ss
    _balance2: float = 0.0  # (balance_sd / T)² of the last unit observed

    def __post_init__(self) -> None:
        p = self.params
        off = math.log(1.0 - p.prior_on_calibration)
        drifting = 1.0 - p.wide_share - p.level_share
        self._hyps = [
            _Hypothesis(math.log(p.prior_on_calibration)),
            _Hypothesis(
                off + math.log(drifting), _Kalman(0.0, 0.0, p.offset_sd**2, 0.0, p.drift_sd**2)
            ),
            _Hypothesis(
                off + math.log(p.wide_share),
                _Kalman(0.0, 0.0, p.wide_offset_sd**2, 0.0, p.drift_sd**2),
            ),
        ]
        if p.level_share > 0:
            self._hyps.append(
                _Hypothesis(
                    off + math.log(p.level_share),
                    _Kalman(0.0, 0.0, p.level_offset_sd**2, 0.0, 0.0),
                )
            )
        track_rate = p.track_drift_factor * p.drift_sd
        self._tracker = _Kalman(0.0, 0.0, p.wide_offset_sd**2, 0.0, track_rate**2)
        self._monitor = DriftMonitor(
            TrendLimits(
                correction_min=p.correction_min,
                correction_max=p.correction_max,
                units_total=p.units_total,
                z_trend=p.z_trend,
                z_rate=p.z_rate,
                z_line=p.z_line,
                min_trend_units=p.min_trend_units,
            )
        )

    @property
    def unit_sd(self) -> float:
        """The deposit's unit-to-unit SD in use: the prior's, updated by this batch's differences.

        Successive differences are blind to a slow drift; ``prior_df``
        pseudo-observations of the prior ``unit_rsd`` (the site calibration's, else
        the ink's) keep a few units from swinging it. The balance's expected share
        of the differences is taken out (never below none of them: a batch that
        scatters less than its balance reads says the deposit scatters little).
        """
        p = self.params
        m = max(0, len(self._points) - 1)
        own = max(self._noise_ss - self._balance_ss, 0.0)
        return math.sqrt((p.prior_df * p.unit_rsd**2 + own) / (p.prior_df + m))

    def _weights(self) -> list[float]:
        top = max(h.log_weight for h in self._hyps)
        raw = [math.exp(h.log_weight - top) for h in self._hyps]
        total = sum(raw)
        return [w / total for w in raw]

    @property
    def p_off(self) -> float:
        """Posterior probability that the batch is off its calibration (offset or drift)."""
        return 1.0 - self._weights()[0]

    def observe(
        self, unit: int, target_mg: float, measured_mg: float, printed_scale: float | None = None
    ) -> ControlStep:
        """Learn from unit ``unit`` and decide the factor of the next one.

        Parameters
        ----------
        unit : int
            The unit's number in the batch (1 = first).
        target_mg, measured_mg : float
            Its target and weighed mass (mg); a reading of 0 or less counts as
            0.1 % of the target (an empty pan is a total drop, not a crash).
        printed_scale : float, optional
            The material factor it was printed with (default: :attr:`scale`, the
            last decision; give 1.0 when corrections are not applied).

        Raises
        ------
        InputError
            A target or factor that is not positive.
        """
        printed = self.scale if printed_scale is None else printed_scale
        if not target_mg > 0 or not printed > 0:
            raise InputError(
                f"flow control: unit {unit} target {target_mg} mg and factor {printed} must be > 0"
            )
        y = math.log(max(measured_mg, 1e-3 * target_mg) / (target_mg * printed))
        balance2 = (self.params.balance_sd_mg / target_mg) ** 2
        r2 = self.unit_sd**2 + balance2
        walk = self.params.level_walk
        if self._points:
            for kf in [h.kf for h in self._hyps if h.kf is not None] + [self._tracker]:
                kf.predict(walk)
        preds = [h.predictive(r2) for h in self._hyps]
        weights = self._weights()
        mean = sum(w * m for w, (m, _) in zip(weights, preds, strict=True))
        var = sum(w * (v + m * m) for w, (m, v) in zip(weights, preds, strict=True)) - mean**2
        s = math.sqrt(max(var, r2))
        z = (y - mean) / s
        clip = self.params.clip_sigma * s
        obs = mean + max(-clip, min(clip, y - mean))  # one bubble cannot swing anything below
        for h, (m, v) in zip(self._hyps, preds, strict=True):
            h.log_weight += _log_normal(obs, m, v)  # prediction-error decomposition
            if h.kf is not None:
                h.kf.update(obs - m, r2)
        self._tracker.update(obs - self._tracker.level, r2)
        if self._points:
            self._noise_ss += (obs - self._points[-1][1]) ** 2 / 2.0
            self._balance_ss += (balance2 + self._balance2) / 2.0
        self._balance2 = balance2
        self._points.append((unit, obs))
        return self._decide(
            unit,
            printed,
            deviation=measured_mg / target_mg - 1.0,
            process_deviation=math.expm1(y),
            z=z,
        )

    def _gate(self, p_off: float) -> float:
        """Share of the predicted offset to correct: 0 up to ``gate_from``, 1 from ``gate_full``."""
        p = self.params
        return min(1.0, max(0.0, (p_off - p.gate_from) / (p.gate_full - p.gate_from)))

    def _decide(
        self, unit: int, printed: float, deviation: float, process_deviation: float, z: float
    ) -> ControlStep:
        """Correct by the tracker's prediction, weighted by the evidence that the batch is off."""
        p = self.params
        offset, se = self._tracker.ahead()
        p_off = self.p_off
        share = self._gate(p_off)
        state = f"P(off calibration) = {p_off:.2f}, offset {_pct(math.expm1(self._tracker.level))}"
        predicted = f"{_pct(math.expm1(offset))} ± {se * 100:.2f} %"
        if share >= 1.0:
            why = f"{state}: unit {unit + 1} is corrected for its predicted offset {predicted}"
        elif share > 0.0:
            why = (
                f"{state}: unit {unit + 1} is corrected for {share:.0%} of its predicted offset "
                f"{predicted} (the evidence is not yet conclusive)"
            )
        else:
            why = f"{state}: not distinguishable from noise, not corrected"
        requested = math.exp(-share * offset)
        scale = min(max(requested, 1.0 + p.correction_min), 1.0 + p.correction_max)
        if scale != requested:
            why += (
                f"; clamped to the validated range {_pct(p.correction_min)}.."
                f"{_pct(p.correction_max)}"
            )
        self.scale = scale
        return ControlStep(
            unit=unit,
            deviation=deviation,
            process_deviation=process_deviation,
            innovation_sigmas=z,
            estimate=math.expm1(offset),
            estimate_se=se,
            scale_before=printed,
            scale=scale,
            requested_scale=requested,
            corrected=scale != printed,
            clamped=scale != requested,
            reason=why,
            sudden_drop=z < -p.z_drop and unit > 1,  # a drop from a level seen before
            warning=self._monitor.check(
                self._points,
                math.sqrt(self.unit_sd**2 + self._balance2),
                p_off,
                self._projections(),
            ),
        )

    def _projections(self) -> list[Projection]:
        """The off-calibration hypotheses as the drift monitor reads them."""
        weights = self._weights()
        return [
            Projection(w, h.kf.level, h.kf.rate, h.kf.p_ll, h.kf.p_lr, h.kf.p_rr, h.kf.p_rr > 0)
            for w, h in zip(weights, self._hyps, strict=True)
            if h.kf is not None
        ]
