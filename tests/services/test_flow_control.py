"""The flow controller as a pure function of the weighed units (deterministic behaviour).

Statistical claims (RSD under noise, mean error under bias and drift, false alarms)
are in tests/benchmarks/bench_closed_loop.py; here each behaviour is fed exact numbers.
"""

from __future__ import annotations

import math
import random
import re

import pytest

from printpharm.errors import InputError
from printpharm.services.run.flow_control import ControlParameters, ControlStep, FlowController

TARGET = 200.0


def params(**overrides: object) -> ControlParameters:
    """The shipped SSE paste (2 % unit RSD) on a ±5 % validated range, 12 units."""
    values: dict[str, object] = {
        "unit_rsd": 0.02,
        "balance_sd_mg": 0.02,
        "offset_sd": 0.01,
        "drift_sd": 0.005,
        "correction_min": -0.05,
        "correction_max": 0.05,
        "units_total": 12,
    }
    values.update(overrides)
    return ControlParameters(**values)  # type: ignore[arg-type]


def feed(
    controller: FlowController, process: list[float], corrected: bool = True
) -> list[ControlStep]:
    """Print units whose process deposits ``1 + x`` of target, at the controller's factor."""
    steps = []
    scale = 1.0
    for n, x in enumerate(process, start=1):
        measured = TARGET * (1 + x) * scale
        step = controller.observe(n, TARGET, measured, scale)
        steps.append(step)
        if corrected:
            scale = step.scale
    return steps


def test_a_constant_bias_is_corrected_from_unit_4_to_within_a_third_of_a_percent() -> None:
    steps = feed(FlowController(params()), [0.03] * 12)
    assert steps[0].scale == 1.0  # one unit at +3 % is no evidence against 2 % noise
    assert "not distinguishable from noise" in steps[0].reason
    first = next(s.unit for s in steps if s.scale != 1.0)
    assert first == 3  # three units at +3 % are: unit 4 is corrected
    residuals = [1.03 * s.scale - 1 for s in steps]  # what unit n + 1 deposits
    assert abs(residuals[first - 1]) < 0.01
    assert all(abs(r) < 0.003 for r in residuals[3:]), residuals
    assert abs(residuals[-1]) < 0.0015
    assert "corrected for its predicted offset" in steps[-1].reason


@pytest.mark.parametrize("sign", [1, -1])
def test_pure_noise_within_one_sigma_is_never_corrected(sign: int) -> None:
    noise = [0.015, -0.01, 0.005, -0.018, 0.012, -0.004, 0.019, -0.016, 0.008, -0.011]
    steps = feed(FlowController(params()), [sign * x for x in noise])
    assert {s.scale for s in steps} == {1.0}
    assert all("not distinguishable from noise" in s.reason for s in steps)
    assert not any(s.sudden_drop or s.warning for s in steps)


def test_the_old_gain_one_rule_would_have_chased_this_noise() -> None:
    """Old code: flow for the next unit = 100 × target / measured after every unit."""
    noise = [0.015, -0.01, 0.005, -0.018]
    old_flow = [round(100 / (1 + x)) for x in noise]
    assert old_flow != [100] * len(noise)  # it would have changed the flow each time
    assert {s.scale for s in feed(FlowController(params()), noise)} == {1.0}


def test_a_failing_unit_still_updates_the_estimate() -> None:
    controller = FlowController(params())
    (step,) = feed(controller, [0.09])  # 9 % heavy: outside a ±7.5 % unit tolerance
    assert step.deviation == pytest.approx(0.09)
    assert step.estimate > 0.02 and controller.p_off > 0.5
    assert step.scale < 0.98  # the next unit is already corrected


def test_the_correction_is_clamped_to_the_validated_range() -> None:
    steps = feed(FlowController(params()), [0.08] * 4)
    assert steps[-1].requested_scale < 0.95
    assert steps[-1].scale == pytest.approx(0.95) and steps[-1].clamped
    assert "clamped to the validated range -5.00 %..+5.00 %" in steps[-1].reason
    narrow = feed(FlowController(params(correction_min=-0.02, correction_max=0.0)), [0.08] * 4)
    assert all(0.98 <= s.scale <= 1.0 for s in narrow)
    light = feed(FlowController(params()), [-0.08] * 4)
    assert light[-1].scale == pytest.approx(1.05)


def test_corrections_are_finer_than_one_percent() -> None:
    steps = feed(FlowController(params()), [0.013] * 12)
    factors = [s.scale for s in steps if s.scale != 1.0]
    assert factors, "a steady +1.3 % is found and corrected within a batch"
    last = factors[-1]
    assert last == pytest.approx(1 / 1.013, abs=0.0015)
    assert abs(last * 100 - round(last * 100)) > 0.1  # M221 could not have set it


def test_its_own_correction_is_divided_out() -> None:
    controller = FlowController(params())
    step = controller.observe(1, TARGET, TARGET, printed_scale=0.97)
    assert step.deviation == pytest.approx(0.0)
    assert step.process_deviation == pytest.approx(1 / 0.97 - 1)


def test_a_clog_is_a_sudden_drop_at_once() -> None:
    steps = feed(FlowController(params()), [0.0, 0.004, -0.003, 0.002, -0.10])
    assert [s.sudden_drop for s in steps] == [False] * 4 + [True]
    assert steps[-1].innovation_sigmas < -3
    controller = FlowController(params())
    controller.observe(1, TARGET, TARGET, 1.0)
    empty = controller.observe(2, TARGET, 0.0, 1.0)  # nothing on the pan
    assert empty.sudden_drop and math.isfinite(empty.estimate)
    first = FlowController(params()).observe(1, TARGET, TARGET * 0.9, 1.0)
    assert not first.sudden_drop  # no level yet to drop from: the tolerance judges unit 1


def test_one_bubble_does_not_swing_the_estimate() -> None:
    steps = feed(FlowController(params()), [0.0, 0.0, 0.0, -0.30, 0.0])
    assert steps[3].sudden_drop
    assert abs(steps[3].estimate) < 0.05  # clipped at 3 SD, not pulled by 30 %
    assert steps[4].scale == 1.0


def test_a_fast_drift_is_named_before_any_unit_fails() -> None:
    drift = [-0.01 * k for k in range(12)]
    steps = feed(FlowController(params()), drift, corrected=False)
    warned = [s for s in steps if s.warning is not None]
    assert warned, "a −1 %/unit drift must be announced"
    first = warned[0]
    assert first.warning is not None and first.warning.kind == "leaves_range"
    assert first.unit <= 6  # at −5 %: the least-squares test alone named it at unit 7
    assert all(abs(s.deviation) < 0.075 for s in steps[: first.unit])  # all units still pass
    message = first.warning.message
    assert re.search(r"trending -1\.0\d ± 0\.\d\d %/unit over units 1–\d", message), message
    assert re.search(
        r": it (will leave the validated correction range -5\.00 %\.\.\+5\.00 % at about unit "
        r"\d+, before the batch ends \(unit 12\)|is outside the validated correction range)",
        message,
    ), message
    assert len(warned) == 1  # said once, not after every unit


def test_a_slow_trend_inside_the_range_is_named_once_as_a_trend() -> None:
    steps = feed(FlowController(params(units_total=30)), [0.001 * k for k in range(30)], False)
    warnings = [s.warning for s in steps if s.warning is not None]
    assert [w.kind for w in warnings] == ["trend"]
    assert "the correction follows it" in warnings[0].message


@pytest.mark.parametrize(
    "overrides",
    [
        {"unit_rsd": 0.0},
        {"offset_sd": -0.01},
        {"drift_sd": -0.001},
        {"correction_min": 0.01},
        {"correction_max": -0.01},
        {"units_total": 0},
        {"prior_on_calibration": 1.0},
        {"gate_from": 0.8},
        {"level_share": 0.95},
        {"z_line": -1.0},
    ],
)
def test_impossible_parameters_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InputError, match="flow control"):
        params(**overrides)


def test_a_target_or_factor_that_is_not_positive_is_refused() -> None:
    controller = FlowController(params())
    with pytest.raises(InputError, match="must be > 0"):
        controller.observe(1, 0.0, 10.0, 1.0)
    with pytest.raises(InputError, match="must be > 0"):
        controller.observe(1, TARGET, 10.0, 0.0)


#: A fixed 2 % noise sequence (sample SD 1.9 %, no trend, mean −0.1 %), repeated to 12 units.
NOISE = [0.021, -0.017, 0.004, -0.026, 0.013, 0.002, 0.018, -0.022, 0.009, -0.011, 0.024, -0.028]


def test_a_drift_through_noise_is_named_while_units_still_pass() -> None:
    """−1 %/unit under 2 % noise: named by unit 6 (a least-squares test: unit 8), not the noise."""
    drifting = [x - 0.01 * k for k, x in enumerate(NOISE)]
    steps = feed(FlowController(params()), drifting, corrected=False)
    first = next(s for s in steps if s.warning is not None)
    assert first.warning is not None and first.warning.kind == "leaves_range"
    assert first.unit <= 6 and all(abs(s.deviation) < 0.075 for s in steps[: first.unit])
    assert "will leave the validated correction range" in first.warning.message
    quiet = feed(FlowController(params()), NOISE, corrected=False)
    assert not any(s.warning for s in quiet)


@pytest.mark.parametrize("offset", [0.03, -0.03])
def test_a_constant_offset_inside_the_range_is_corrected_not_called_a_drift(offset: float) -> None:
    steps = feed(FlowController(params()), [offset + x for x in NOISE])
    assert not any(s.warning for s in steps)
    assert steps[-1].scale == pytest.approx(1 / (1 + offset), abs=0.012)


@pytest.mark.parametrize("offset", [0.03, 0.013])
def test_the_correction_settles_on_a_constant_offset_without_overshoot(offset: float) -> None:
    """The tracker's level prior is wide: a constant offset is not read as a drift."""
    steps = feed(FlowController(params()), [offset] * 12)
    residuals = [(1 + offset) * s.scale - 1 for s in steps]
    full = next(n for n, s in enumerate(steps) if "corrected for its predicted offset" in s.reason)
    assert all(r >= -0.0015 for r in residuals), residuals  # never past the target
    assert all(abs(r) < 0.003 for r in residuals[full:]), residuals


def test_weak_evidence_gets_a_share_of_the_correction_clear_evidence_all_of_it() -> None:
    controller = FlowController(params())
    shares = [controller._gate(p) for p in (0.3, 0.45, 0.6, 0.75, 0.9)]
    assert shares == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    steps = feed(FlowController(params()), [0.013] * 12)
    partial = [s for s in steps if "% of its predicted offset" in s.reason]
    assert partial, "a +1.3 % offset is found gradually"
    step = partial[0]
    match = re.search(r"corrected for (\d+)% of", step.reason)
    assert match is not None
    share = float(match.group(1)) / 100
    assert 0 < share < 1 and "(the evidence is not yet conclusive)" in step.reason
    assert step.requested_scale == pytest.approx(
        math.exp(-share * math.log1p(step.estimate)), abs=0.001
    )
    assert "corrected for its predicted offset" in steps[-1].reason


def test_an_offset_outside_the_range_is_named_at_once_even_without_a_drift() -> None:
    steps = feed(FlowController(params()), [0.09 + x / 4 for x in NOISE])
    warned = [s for s in steps if s.warning is not None]
    assert warned and warned[0].unit <= 4
    warning = warned[0].warning
    assert warning is not None and warning.kind == "leaves_range"
    assert "is outside the validated correction range -5.00 %..+5.00 %" in warning.message
    assert len(warned) == 1


def test_a_batch_that_looks_off_but_does_not_slope_is_not_a_drift() -> None:
    """A constant −3 % from unit 1: the drift hypothesis may lead early, the points do not slope."""
    flat = [-0.021, -0.028, -0.029, -0.027, -0.023, -0.03, -0.025, -0.028]
    steps = feed(FlowController(params()), flat, corrected=False)
    assert not any(s.warning for s in steps)


def _alternating(controller: FlowController, target: float, half_spread: float, units: int) -> None:
    """Units weighed alternately ``half_spread`` above and below target, at factor 1."""
    for n in range(1, units + 1):
        sign = 1 if n % 2 else -1
        controller.observe(n, target, target * (1 + sign * half_spread), 1.0)


def test_the_balance_is_taken_out_of_the_batch_scatter_before_it_updates_the_deposit_sd() -> None:
    # A 5 mg mini-tablet weighed to s = 0.05 mg: the balance alone scatters 1 %.
    # Readings alternating ±1 % differ by 2 % each time (half the square: 2e-4), of
    # which the balance's two readings explain 1e-4: the deposit scatters 1 %, not
    # √2 % (which counted the balance here and again in r² = σ² + (s/T)²).
    controller = FlowController(params(unit_rsd=0.01, balance_sd_mg=0.05, prior_df=4.0))
    _alternating(controller, 5.0, 0.01, 41)
    assert controller.unit_sd == pytest.approx(0.01, rel=0.01)


def test_a_batch_that_scatters_no_more_than_its_balance_reads_shrinks_the_deposit_sd() -> None:
    # ±1/√2 %: the successive differences are exactly what the balance explains, so
    # the batch's 40 differences say the deposit does not scatter; only the prior's
    # 4 pseudo-observations of 1 % remain: σ² = 4 · 1e-4 / 44.
    controller = FlowController(params(unit_rsd=0.01, balance_sd_mg=0.05, prior_df=4.0))
    _alternating(controller, 5.0, math.sqrt(0.5) / 100, 41)
    assert controller.unit_sd == pytest.approx(math.sqrt(4e-4 / 44), rel=0.02)


def test_at_200_mg_the_balance_share_changes_the_deposit_sd_by_far_less_than_a_percent() -> None:
    controller = FlowController(params())
    _alternating(controller, TARGET, 0.02, 41)
    no_balance = FlowController(params(balance_sd_mg=0.0))
    _alternating(no_balance, TARGET, 0.02, 41)
    assert controller.unit_sd == pytest.approx(no_balance.unit_sd, rel=1e-4)
    assert controller.unit_sd < no_balance.unit_sd


def _noise(seed: int, units: int = 12, sd: float = 0.02) -> list[float]:
    """Pure unit-to-unit noise, seeded: no offset, no drift."""
    rng = random.Random(seed)
    return [rng.gauss(0.0, sd) for _ in range(units)]


@pytest.mark.parametrize("seed", [1, 26, 43, 67, 129])
def test_pure_noise_that_slopes_at_one_unit_only_is_not_called_a_trend(seed: int) -> None:
    """A 3-SE slope at one unit of pure 2 % noise: the test looks after every unit with a σ
    from a few degrees of freedom, so one look is not a trend (each warning is an alarm)."""
    steps = feed(FlowController(params()), _noise(seed))
    assert not any(s.warning for s in steps), [(s.unit, s.warning) for s in steps if s.warning]


def test_a_trend_through_noise_is_named_once_it_holds_at_two_units() -> None:
    """+0.1 %/unit under 0.5 % noise inside the range: still named, once, as a trend."""
    process = [0.001 * k + x for k, x in enumerate(_noise(3, units=30, sd=0.005))]
    steps = feed(FlowController(params(unit_rsd=0.005, units_total=30)), process, False)
    warned = [s for s in steps if s.warning is not None]
    assert [s.warning.kind for s in warned if s.warning] == ["trend"]
    first = warned[0]
    assert first.warning is not None and first.warning.slope > 3 * first.warning.slope_se
