"""Units taken at random, and re-derivable: selection from a recorded seed.

Ph. Eur. 2.9.5 weighs "20 units taken at random"; 2.9.40 content uniformity
assays 10 (then 20 more) units. printpharm draws an unpredictable seed (in the
services, with :mod:`secrets`) and derives the selection here, deterministically:
each unit number is ranked by SHA-256 of ``"<seed>:<unit>"`` and the lowest
``count`` are taken. Anyone holding the recorded seed can re-derive the same
units with any SHA-256 tool; nobody can choose them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from printpharm.errors import InputError

__all__ = ["select_units"]


def select_units(units: Iterable[int], count: int, seed: str) -> tuple[int, ...]:
    """The ``count`` units of ``units`` chosen by ``seed``, in ascending order.

    Raises
    ------
    InputError
        An empty seed, a count below 1, or fewer units than ``count``.
    """
    pool = sorted(set(units))
    if not seed:
        raise InputError("a random selection needs its recorded seed")
    if count < 1 or count > len(pool):
        raise InputError(f"cannot choose {count} units out of {len(pool)}")

    def rank(n: int) -> str:
        return hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()

    return tuple(sorted(sorted(pool, key=rank)[:count]))
