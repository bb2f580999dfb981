"""The balance simulator's check weight: placed and removed by a test or by its own hand."""

from __future__ import annotations

from decimal import Decimal

from printpharm.devices.balance import Balance
from printpharm.devices.sim import build_balance
from printpharm.devices.sim.pty import SimTransport


def _balance(**options: str) -> tuple[Balance, object]:
    sim = build_balance(
        {"balance_sd_mg": "0", "drift_mg_per_min": "0", "container_g": "0", **options}
    )
    return Balance(SimTransport(sim, "sim://balance?fast=1", None)), sim


def test_a_test_places_and_removes_the_weight() -> None:
    balance, sim = _balance()
    assert balance.weigh().mass == Decimal("0.00000")
    sim.place_check_weight(100.00003)  # type: ignore[attr-defined]
    assert balance.weigh().mass == Decimal("100.00003")
    sim.remove_check_weight()  # type: ignore[attr-defined]
    assert balance.weigh().mass == Decimal("0.00000")


def test_the_hand_follows_a_check_after_zeroing_and_stands_down_at_a_tare() -> None:
    balance, sim = _balance(check_weight_g="100.00003")
    assert [balance.weigh().mass for _ in range(2)] == [Decimal("0.00000")] * 2  # not armed
    balance.zero()  # the check starts: the pan is cleared and zeroed
    readings = [balance.weigh().mass for _ in range(4)]
    assert readings == [Decimal("0.00000"), Decimal("100.00003")] * 2
    balance.tare()  # a print run's first unit: the weight leaves the pan, the hand rests
    assert [balance.weigh().mass for _ in range(3)] == [Decimal("0.00000")] * 3
    assert sim.hand.placements == 2  # type: ignore[attr-defined]
