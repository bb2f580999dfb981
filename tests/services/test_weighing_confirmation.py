"""A unit's mass is a stable reading confirmed by a second (read_confirmed), exchange by exchange.

MT-SICS replies carry no checksum: these scripted exchanges are the garbles line noise
makes (one byte changed) and what the weighing path must do with each.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.devices.balance import Balance, parse_weight_reply
from printpharm.errors import BalanceError, BalanceOverload, BalanceUnstable
from printpharm.services.run.weighing import MAX_ASKS, agreement_bound_mg, read_confirmed
from tests.devices.conftest import scripted

SD = Decimal("0.02")  # the recipes' balance_sd: a 5-place balance


@pytest.mark.parametrize(
    ("reply", "sd_mg", "bound_mg"),
    [
        ("S S     0.20604 g", "0.02", "0.13"),  # 5-place, s = 0.02 mg: 6 s + d
        ("S S      0.2060 g", "0.02", "0.346"),  # 4-place: s floored at 0.41 d = 0.041 mg
        ("S S     206.04 mg", "0.05", "0.31"),  # reported in mg; s = 0.05 mg
        ("S S   0.00020604 kg", "0.02", "0.13"),
    ],
)
def test_the_bound_is_six_repeatabilities_plus_one_scale_interval(
    reply: str, sd_mg: str, bound_mg: str
) -> None:
    assert agreement_bound_mg(parse_weight_reply(reply), Decimal(sd_mg)) == Decimal(bound_mg)


def test_an_agreeing_si_confirms_the_s_reading_and_nothing_is_set_aside() -> None:
    script = [(b"S", b"S S     0.20604 g"), (b"SI", b"S S     0.20606 g")]
    with scripted(Balance, script) as balance:
        reading = read_confirmed(balance, SD)
    assert reading.mass_mg == Decimal("206.04000") and reading.weighing.raw.endswith("0.20604 g")
    assert reading.confirmed_by.raw.endswith("0.20606 g") and reading.set_aside == ()


def test_a_garbled_first_reading_is_outvoted_and_never_the_mass() -> None:
    script = [
        (b"S", b"S S     0.70604 g"),  # '2' garbled into '7'
        (b"SI", b"S S     0.20605 g"),
        (b"SI", b"S S     0.20603 g"),
    ]
    with scripted(Balance, script) as balance:
        reading = read_confirmed(balance, SD)
    assert reading.mass_mg == Decimal("206.05000")
    assert reading.set_aside == ("'S S     0.70604 g' (706.04 mg)",)


def test_a_garbled_confirmation_is_set_aside_and_the_first_reading_kept() -> None:
    script = [
        (b"S", b"S S     0.20604 g"),
        (b"SI", b"S S     0.20904 g"),  # 3 mg off: above the 0.13 mg bound
        (b"SI", b"S S     0.20605 g"),
    ]
    with scripted(Balance, script) as balance:
        reading = read_confirmed(balance, SD)
    assert reading.mass_mg == Decimal("206.04000")
    assert reading.set_aside == ("'S S     0.20904 g' (209.04 mg)",)


def test_a_difference_within_the_balance_s_own_scatter_is_agreement() -> None:
    script = [(b"S", b"S S     0.20604 g"), (b"SI", b"S S     0.20617 g")]  # 0.13 mg
    with scripted(Balance, script) as balance:
        assert read_confirmed(balance, SD).set_aside == ()


def test_replies_that_do_not_parse_are_asked_again() -> None:
    script = [
        (b"S", b"S S    x0.20604 g"),  # a space garbled into a letter
        (b"S", b"S S     0.20604 g"),
        (b"SI", b"S S     0.20604 h"),  # the unit garbled: not a mass
        (b"SI", b"ET"),
        (b"SI", b"S S     0.20603 g"),
    ]
    with scripted(Balance, script) as balance:
        reading = read_confirmed(balance, SD)
    assert reading.mass_mg == Decimal("206.04000") and len(reading.set_aside) == 3
    assert all(text.startswith("a reply that did not parse") for text in reading.set_aside)


def test_a_moving_load_on_si_is_read_again_with_s() -> None:
    script = [
        (b"S", b"S S     0.20604 g"),
        (b"SI", b"S D     0.21000 g"),
        (b"S", b"S S     0.20605 g"),
    ]
    with scripted(Balance, script) as balance:
        reading = read_confirmed(balance, SD)
    assert reading.mass_mg == Decimal("206.04000")
    assert reading.set_aside == ("'S D     0.21000 g' (210 mg), not stable",)


def test_no_two_agreeing_readings_is_a_balance_error_naming_them() -> None:
    values = ["0.20604", "0.21604", "0.22604", "0.23604", "0.24604"]
    script = [(b"S" if k == 0 else b"SI", f"S S     {v} g".encode()) for k, v in enumerate(values)]
    assert len(script) == MAX_ASKS
    with scripted(Balance, script) as balance, pytest.raises(BalanceError) as info:
        read_confirmed(balance, SD)
    assert "no two stable readings of the unit agreed within 0.13 mg in 5 asks" in str(info.value)
    assert "'S S     0.24604 g' (246.04 mg)" in str(info.value)


def test_a_persisting_overload_is_reported_as_such() -> None:
    with scripted(Balance, [(b"S", b"S +")] * MAX_ASKS) as balance:
        with pytest.raises(BalanceOverload, match="overload"):
            read_confirmed(balance, SD)


def test_no_stable_value_is_not_asked_again_here() -> None:
    with scripted(Balance, [(b"S", b"S I")]) as balance:
        with pytest.raises(BalanceUnstable):
            balance.weigh(timeout_s=1.0, retries=0)
