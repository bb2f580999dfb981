"""The one root finder (Illinois regula falsi) used by sizing and infill spacing."""

from __future__ import annotations

import math

import pytest

from printpharm.core.roots import illinois


@pytest.mark.parametrize(
    ("fn", "a", "b", "root"),
    [
        (lambda x: x**3 - 2.0, 0.0, 2.0, 2.0 ** (1 / 3)),  # increasing
        (lambda x: math.cos(x) - x, 0.0, 1.0, 0.7390851332151607),  # decreasing
        (lambda x: math.exp(x) - 1e6, 0.0, 20.0, math.log(1e6)),  # very skewed bracket
    ],
)
def test_finds_the_root_inside_the_bracket(fn, a, b, root) -> None:  # type: ignore[no-untyped-def]
    x = illinois(fn, a, b, f_tol=1e-12, x_tol=1e-15)
    assert a <= x <= b
    assert x == pytest.approx(root, rel=1e-10)


def test_known_end_values_are_not_evaluated_again() -> None:
    calls: list[float] = []

    def fn(x: float) -> float:
        calls.append(x)
        return x - 0.3

    x = illinois(fn, 0.0, 1.0, fa=-0.3, fb=0.7, f_tol=1e-12, x_tol=1e-15)
    assert x == pytest.approx(0.3) and 0.0 not in calls and 1.0 not in calls


def test_the_evaluation_budget_is_respected() -> None:
    calls: list[float] = []
    illinois(lambda x: calls.append(x) or x**9 - 0.5, 0.0, 1.0, f_tol=0.0, x_tol=0.0, max_iter=7)
    assert len(calls) == 2 + 7  # the two ends, then at most max_iter estimates
