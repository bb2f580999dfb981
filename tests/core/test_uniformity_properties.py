"""Hypothesis properties of the 2.9.5 and 2.9.40 statistics."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from printpharm.core.uniformity import (
    acceptance_value,
    acceptance_value_mass_variation,
    uniformity_of_mass,
)

D = Decimal
FAST = settings(max_examples=60, deadline=None)


def _decimals(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals as a balance prints them: integers in [low, high] scaled by 10**-places."""
    return st.integers(low, high).map(lambda i: D(i).scaleb(-places))


# Masses around a common nominal so that both passing and failing batches occur.
_nominal = st.sampled_from([D("40"), D("150"), D("200"), D("400")])
_spread = st.lists(st.integers(-120, 120), min_size=20, max_size=20)  # per mille of nominal


def _masses(nominal: Decimal, spread: list[int]) -> list[Decimal]:
    return [nominal * (1000 + s) / 1000 for s in spread]


@FAST
@given(_nominal, _spread, st.randoms(use_true_random=False))
def test_2_9_5_verdict_is_invariant_under_permutation(
    nominal: Decimal, spread: list[int], rnd: object
) -> None:
    masses = _masses(nominal, spread)
    shuffled = list(masses)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = uniformity_of_mass(masses), uniformity_of_mass(shuffled)
    assert (a.result, a.n_outside_limit, a.n_outside_twice_limit, a.average_mass_mg) == (
        b.result,
        b.n_outside_limit,
        b.n_outside_twice_limit,
        b.average_mass_mg,
    )


@FAST
@given(_nominal, _spread, _decimals(80, 125, 2))
def test_2_9_5_verdict_is_invariant_under_scaling_within_the_band(
    nominal: Decimal, spread: list[int], factor: Decimal
) -> None:
    masses = _masses(nominal, spread)
    base = uniformity_of_mass(masses)
    scaled = uniformity_of_mass([m * factor for m in masses])
    assume(scaled.limit_pct == base.limit_pct)
    assert (scaled.result, scaled.n_outside_limit, scaled.n_outside_twice_limit) == (
        base.result,
        base.n_outside_limit,
        base.n_outside_twice_limit,
    )


@FAST
@given(
    st.sampled_from([D("40"), D("200"), D("400")]),
    st.lists(st.integers(-20, 20), min_size=19, max_size=19),
    st.one_of(_decimals(10, 60, 2), _decimals(160, 300, 2)),
    st.integers(0, 19),
    st.sampled_from(["strict", "gn_rounding"]),
)
def test_adding_a_unit_beyond_twice_the_limit_always_fails(
    nominal: Decimal, spread: list[int], factor: Decimal, position: int, policy: str
) -> None:
    # 19 units within +/-2 %; a 20th at factor x their mean lies >= 38 % from the new mean
    # (19 |f - 1| / (19 + f)), beyond twice any 2.9.5 limit (at most 20 %).
    others = _masses(nominal, spread)
    outlier = sum(others) / 19 * factor
    masses = others[:position] + [outlier] + others[position:]
    result = uniformity_of_mass(masses, policy=policy)  # type: ignore[arg-type]
    assert result.result == "FAIL"
    assert position + 1 in result.units_outside_twice_limit


_contents = st.one_of(
    st.lists(_decimals(500, 1500, 1), min_size=10, max_size=10),
    st.lists(_decimals(500, 1500, 1), min_size=30, max_size=30),
)


@FAST
@given(_contents, _decimals(900, 1100, 1))
def test_acceptance_value_is_never_negative(contents: list[Decimal], target: Decimal) -> None:
    result = acceptance_value(contents, target_pct=target)
    for stage in (result.stage1, result.stage2):
        if stage is not None:
            assert stage.av >= 0 and stage.av_reported_1dp >= 0 and stage.s >= 0


@FAST
@given(_decimals(800, 1200, 2))
def test_av_of_identical_units_is_the_distance_to_m(value: Decimal) -> None:
    stage = acceptance_value([value] * 10).stage1
    assert stage.s == 0
    assert stage.av == abs(stage.m - stage.mean)
    assert stage.av == max(D(0), D("98.5") - value, value - D("101.5"))


@FAST
@given(
    st.one_of(
        st.lists(_decimals(1000, 5000, 1), min_size=10, max_size=10),
        st.lists(_decimals(1000, 5000, 1), min_size=30, max_size=30),
    ),
    _decimals(800, 1200, 1),
)
def test_mass_variation_mean_content_equals_the_assay(
    masses: list[Decimal], assay: Decimal
) -> None:
    result = acceptance_value_mass_variation(masses, assay)
    assert result.stage1.mean == assay
    if result.stage2 is not None:
        assert result.stage2.mean == assay
