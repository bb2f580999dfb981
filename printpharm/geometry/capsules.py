"""Hard-capsule body sizes 000-5 and the fill column that fits each body.

Source of the numbers: Capsugel (now Lonza) *Coni-Snap* hard capsule size chart,
"Capsule sizes and capacities" (body length, body external diameter and
capacity of the closed capsule per size); the same figures appear in
Jones B.E., *Hard Capsules: Development and Technology*, Pharmaceutical Press
(2nd ed.), table of standard sizes. The body *inner* diameter is not published
per size: it is the external diameter minus twice the nominal wall thickness of
a hard gelatin/HPMC shell, 0.10 mm (same sources), which is what is encoded
below. The fill column is bounded by the capsule capacity (closed capsule), by
the body's inner diameter minus a clearance, and by the body length.
"""

from __future__ import annotations

from dataclasses import dataclass

from printpharm.errors import GeometryError

__all__ = ["CAPSULE_SIZES", "SHELL_WALL_MM", "CapsuleBody", "capsule_body"]

#: Nominal wall thickness of a hard capsule shell (mm).
SHELL_WALL_MM = 0.10


@dataclass(frozen=True)
class CapsuleBody:
    """One standard capsule size.

    Attributes
    ----------
    size : str
        Size code ("000" ... "5").
    body_length_mm, body_outer_diameter_mm : float
        Published body length and external diameter (mm).
    capacity_mm3 : float
        Published capacity of the closed capsule (mm³ = µL).
    """

    size: str
    body_length_mm: float
    body_outer_diameter_mm: float
    capacity_mm3: float

    @property
    def body_inner_diameter_mm(self) -> float:
        """Inner diameter of the body: external diameter minus two shell walls (mm)."""
        return self.body_outer_diameter_mm - 2.0 * SHELL_WALL_MM


#: Capsugel Coni-Snap size chart: (body length mm, body external diameter mm, capacity mL).
_TABLE: dict[str, tuple[float, float, float]] = {
    "000": (22.20, 9.55, 1.37),
    "00": (20.22, 8.18, 0.91),
    "0": (18.44, 7.34, 0.68),
    "1": (16.61, 6.63, 0.50),
    "2": (15.27, 6.07, 0.37),
    "3": (13.59, 5.57, 0.30),
    "4": (12.19, 5.05, 0.21),
    "5": (9.30, 4.68, 0.13),
}

CAPSULE_SIZES: dict[str, CapsuleBody] = {
    size: CapsuleBody(size, length, diameter, capacity_ml * 1000.0)
    for size, (length, diameter, capacity_ml) in _TABLE.items()
}


def capsule_body(size: str) -> CapsuleBody:
    """Return the body data of a capsule size.

    Parameters
    ----------
    size : str
        One of "000", "00", "0", "1", "2", "3", "4", "5".

    Raises
    ------
    GeometryError
        If the size is not a standard capsule size.
    """
    try:
        return CAPSULE_SIZES[size]
    except KeyError:
        known = ", ".join(CAPSULE_SIZES)
        raise GeometryError(f"capsule size {size!r} is unknown; known sizes: {known}") from None
