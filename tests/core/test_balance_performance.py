"""Ph. Eur. 2.1.7 / USP <41> balance checks: exact verdicts at their limits, the minimum weight."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from printpharm.core.balance_performance import (
    RULES,
    accuracy,
    fit_for_mass,
    repeatability,
    scale_interval,
    weight_suitability,
)
from printpharm.errors import InputError


def _pair(low: str, high: str, n: int = 10) -> list[D]:
    """n readings alternating low/high: sample variance = (high-low)²·n / (4·(n-1))."""
    return [D(low) if i % 2 else D(high) for i in range(n)]


def test_ten_identical_readings_take_the_floor_of_0_41_d() -> None:
    result = repeatability([D("10.00000")] * 10, D("10"))
    assert result.floored and result.d_g == D("0.00001")
    assert result.minimum_weight_mg == D("8.2000")  # 820·d with d = 0.01 mg
    assert result.passed


def test_the_minimum_weight_is_2000_s_rounded_up() -> None:
    # alternating ±0.00002 g around 10.00002: s = 0.00002·sqrt(10/9) g
    readings = _pair("10.00000", "10.00004")
    result = repeatability(readings, D("10"))
    assert not result.floored
    exact_mg = 2000 * 0.00002 * (10 / 9) ** 0.5 * 1000
    assert float(result.minimum_weight_mg) == pytest.approx(exact_mg, abs=1e-4)
    assert result.minimum_weight_mg >= D(str(exact_mg)).quantize(
        D("0.0001"), rounding="ROUND_FLOOR"
    )
    assert result.minimum_weight_mg == D("42.1638")  # 42.16370… rounded up
    assert fit_for_mass(result.minimum_weight_mg, D("42.1637")) is False
    assert fit_for_mass(result.minimum_weight_mg, D("42.17")) is True


def test_repeatability_at_exactly_0_10_percent_passes_and_just_above_fails() -> None:
    # d = 1 g readings of a "m" chosen so that 2·s/m is exactly 0.001: s² = (m/2000)².
    # alternating a, b with n = 10: s² = (b-a)²·10/36 → choose b-a = 6, s² = 10, m² = 4e6·10.
    readings = _pair("100", "106")
    # 4·s² ≤ (m/1000)²  ⇔  m ≥ 2000·s; with s² = 10: m² ≥ 40 000 000
    assert repeatability(readings, D("6325")).passed  # 6325² = 40 005 625 ≥ 4e7
    assert not repeatability(readings, D("6324")).passed  # 6324² = 39 992 976 < 4e7


def test_fewer_than_ten_readings_are_refused() -> None:
    with pytest.raises(InputError, match="at least 10 replicate weighings, got 9"):
        repeatability([D("1.00000")] * 9, D("1"))


def test_accuracy_limit_is_inclusive_and_exact_for_each_chapter() -> None:
    conventional = D("100.00000")
    at_limit = [D("100.05000")] * 10  # +0.05 % exactly
    over = [D("100.05001")] * 10
    assert accuracy(at_limit, conventional, RULES["ph_eur"]).passed
    assert not accuracy(over, conventional, RULES["ph_eur"]).passed
    assert accuracy(over, conventional, RULES["usp"]).passed  # 0.10 % under USP <41>
    result = accuracy([D("99.9")] * 10, conventional, RULES["usp"])
    assert result.passed and result.deviation_pct == D("-0.1000")
    assert not accuracy([D("99.89999")] * 10, conventional, RULES["usp"]).passed


def test_a_weight_must_suit_the_balance_and_the_limit() -> None:
    rule = RULES["ph_eur"]
    assert weight_suitability(D("100"), D("0.05"), rule, D("220.0090")) is None
    assert "outside 5–100 %" in (weight_suitability(D("10"), D("0.05"), rule, D("220")) or "")
    # 0.05 % of 100 g = 50 mg; a third is 16.67 mg
    assert weight_suitability(D("100"), D("16.6"), rule, None) is None
    assert "one third" in (weight_suitability(D("100"), D("16.7"), rule, None) or "")


def test_the_scale_interval_is_the_last_decimal_shown() -> None:
    assert scale_interval([D("10.0001"), D("9.99998")]) == D("0.00001")
    assert scale_interval([D("12")]) == D("1")
