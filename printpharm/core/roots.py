"""The one root finder: Illinois regula falsi on a bracket, for sizing and for infill spacing.

Both the tablet sizing (volume as a function of one free dimension) and the infill
spacing (line length as a function of spacing) solve a monotone equation on a bracket
to far below a printer's resolution. scipy's ``brentq`` would do, but importing
``scipy.optimize`` costs more than a whole plan (issue 15); this is the textbook
Illinois modification of regula falsi (Dowell & Jarratt, BIT 11, 1971), superlinear
and never leaves the bracket.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["illinois"]


def illinois(
    fn: Callable[[float], float],
    a: float,
    b: float,
    *,
    f_tol: float,
    x_tol: float,
    fa: float | None = None,
    fb: float | None = None,
    max_iter: int = 100,
) -> float:
    """A root of ``fn`` in the bracket [a, b] where ``fn(a)`` and ``fn(b)`` differ in sign.

    Parameters
    ----------
    fn : callable
        The function (any units); continuous on the bracket.
    a, b : float
        The bracket's ends.
    f_tol : float
        Stop when ``|fn(x)| <= f_tol`` (units of ``fn``).
    x_tol : float
        Stop when the bracket is narrower than this (units of ``x``).
    fa, fb : float, optional
        ``fn(a)`` and ``fn(b)`` when the caller already has them.
    max_iter : int
        Evaluations at most; the last estimate is returned after them.

    Returns
    -------
    float
        The estimate of the root (inside the bracket).
    """
    f_a = fn(a) if fa is None else fa
    f_b = fn(b) if fb is None else fb
    side = 0
    x = a
    for _ in range(max_iter):
        x = (a * f_b - b * f_a) / (f_b - f_a) if f_b != f_a else 0.5 * (a + b)
        f_x = fn(x)
        if abs(f_x) <= f_tol or abs(b - a) <= x_tol:
            break
        if (f_x >= 0) == (f_b >= 0):
            b, f_b = x, f_x
            if side == 1:
                f_a /= 2
            side = 1
        else:
            a, f_a = x, f_x
            if side == -1:
                f_b /= 2
            side = -1
    return x
