"""The beyond-use date and the GS1 element string of a patient label."""

from __future__ import annotations

from datetime import date

import pytest

from printpharm.core.labelling import beyond_use_date, gs1_elements, gs1_text
from printpharm.errors import InputError


def test_the_bud_is_the_earlier_of_stability_and_ink_expiry() -> None:
    by_stability = beyond_use_date(date(2026, 12, 3), 14, date(2027, 6, 30))
    assert by_stability.date == date(2026, 12, 17) and "14 days" in by_stability.basis
    by_ink = beyond_use_date(date(2026, 12, 3), 30, date(2026, 12, 20))
    assert by_ink.date == date(2026, 12, 20) and "ink lot expiry" in by_ink.basis
    same_day = beyond_use_date(date(2026, 12, 3), 17, date(2026, 12, 20))
    assert same_day.date == date(2026, 12, 20) and "stability" in same_day.basis


def test_no_stability_or_an_expired_ink_gives_no_bud() -> None:
    with pytest.raises(InputError, match="declares no stability period"):
        beyond_use_date(date(2026, 12, 3), None, date(2027, 1, 1))
    with pytest.raises(InputError, match="expired on 2026-12-01"):
        beyond_use_date(date(2026, 12, 3), 14, date(2026, 12, 1))


def test_a_short_batch_id_is_the_lot_a_long_one_also_goes_in_ai_91() -> None:
    short = gs1_elements("B-2026-17", date(2026, 12, 17))
    assert gs1_text(short) == "(17)261217(10)B-2026-17"
    long_id = "cpm-chewable-disc-20261203T082134Z-0a1b2c"
    elements = gs1_elements(long_id, date(2026, 12, 17))
    assert [e.ai for e in elements] == ["17", "10", "91"]
    assert elements[1].value == long_id[-20:] and elements[2].value == long_id
    assert [e.fixed for e in elements] == [True, False, False]


def test_characters_outside_the_gs1_set_are_refused() -> None:
    with pytest.raises(InputError, match="cannot be put in a GS1 DataMatrix"):
        gs1_elements("batch with spaces", date(2026, 12, 17))
