"""Beyond-use dates, bulk assays, content per unit and the random choice of units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printpharm.core.ink_lots import BulkAssay, beyond_use_date, unit_content
from printpharm.core.sampling import select_units
from printpharm.errors import InputError


def test_beyond_use_date_is_preparation_plus_stability_or_earlier() -> None:
    assert beyond_use_date(date(2026, 2, 20), 14) == date(2026, 3, 6)
    assert beyond_use_date(date(2026, 2, 20), 14, date(2026, 3, 1)) == date(2026, 3, 1)
    assert beyond_use_date(date(2026, 2, 20), 14, date(2026, 3, 6)) == date(2026, 3, 6)
    with pytest.raises(InputError, match="never lengthen"):
        beyond_use_date(date(2026, 2, 20), 14, date(2026, 3, 7))
    with pytest.raises(InputError, match="before the preparation date"):
        beyond_use_date(date(2026, 2, 20), 14, date(2026, 2, 19))
    with pytest.raises(InputError, match="at least 1 day"):
        beyond_use_date(date(2026, 2, 20), 0)


def test_content_is_mass_times_the_assayed_concentration() -> None:
    by_mass = BulkAssay("mg_per_g", Decimal("49.2"), "HPLC", uncertainty=Decimal("0.8"))
    assert by_mass.concentration_mg_per_g(Decimal(50)) == Decimal("49.2")
    assert by_mass.pct_of_label_claim(Decimal(50)) == Decimal("98.4")
    content = unit_content(Decimal("300.15"), Decimal("49.2"), Decimal("0.8"))
    assert content.content_mg == Decimal("14.7674") and content.uncertainty_mg == Decimal("0.2401")
    assert content.text() == "14.77 ± 0.24 mg"
    by_claim = BulkAssay("pct_label_claim", Decimal("98.4"), "HPLC", uncertainty=Decimal("1.0"))
    assert by_claim.concentration_mg_per_g(Decimal(50)) == Decimal("49.2")
    assert by_claim.concentration_uncertainty_mg_per_g(Decimal(50)) == Decimal("0.5")
    with pytest.raises(InputError, match="unit mass"):
        unit_content(Decimal(0), Decimal(50))


@given(
    n=st.integers(min_value=10, max_value=60),
    seed=st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
)
def test_a_selection_is_k_distinct_units_re_derived_from_its_seed(n: int, seed: str) -> None:
    units = range(1, n + 1)
    chosen = select_units(units, 10, seed)
    assert len(set(chosen)) == 10 and set(chosen) <= set(units)
    assert chosen == tuple(sorted(chosen)) == select_units(reversed(units), 10, seed)


def test_different_seeds_choose_differently_and_bad_requests_are_refused() -> None:
    picks = {select_units(range(1, 31), 10, f"{i:032x}") for i in range(20)}
    assert len(picks) == 20
    with pytest.raises(InputError, match="cannot choose 11 units out of 10"):
        select_units(range(1, 11), 11, "ab")
    with pytest.raises(InputError, match="seed"):
        select_units(range(1, 11), 5, "")
