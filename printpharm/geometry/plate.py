"""Lay out N identical units on the build plate (shapely)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely import affinity
from shapely.geometry.base import BaseGeometry

from printpharm.errors import GeometryError

__all__ = ["PlateLayout", "layout_plate"]


@dataclass(frozen=True)
class PlateLayout:
    """Where each unit goes: XY offsets (mm) of the unit's origin, in print order.

    ``capacity`` is how many units of this footprint fit on the bed.
    """

    offsets_mm: tuple[tuple[float, float], ...]
    capacity: int
    pitch_mm: tuple[float, float]


def layout_plate(
    footprint: BaseGeometry,
    units: int,
    bed_x_mm: float,
    bed_y_mm: float,
    clearance_mm: float = 5.0,
    margin_mm: float = 5.0,
    keepout: BaseGeometry | None = None,
) -> PlateLayout:
    """Place ``units`` copies of ``footprint`` on a grid with clearance.

    Parameters
    ----------
    footprint : shapely geometry
        The largest cross-section of one unit around its own origin (mm).
    units : int
        How many units the batch prints.
    bed_x_mm, bed_y_mm : float
        Printable bed size (mm); the bed spans [0, bed_x] × [0, bed_y].
    clearance_mm : float
        Free space between neighbouring units (mm).
    margin_mm : float
        Free border along the bed edges (mm).
    keepout : shapely geometry, optional
        Bed region no unit may touch (e.g. the purge line), in bed coordinates.

    Returns
    -------
    PlateLayout
        Offsets in serpentine order (row by row from the front).

    Raises
    ------
    GeometryError
        If ``units`` < 1 or more units are asked for than fit (the message says
        how many fit).
    """
    if units < 1:
        raise GeometryError(f"units={units} must be at least 1")
    if clearance_mm < 0 or margin_mm < 0:
        raise GeometryError("clearance_mm and margin_mm must not be negative")
    min_x, min_y, max_x, max_y = footprint.bounds
    width, depth = max_x - min_x, max_y - min_y
    pitch_x, pitch_y = width + clearance_mm, depth + clearance_mm
    cols = max(0, math.floor((bed_x_mm - 2 * margin_mm + clearance_mm) / pitch_x + 1e-9))
    rows = max(0, math.floor((bed_y_mm - 2 * margin_mm + clearance_mm) / pitch_y + 1e-9))
    blocked = None if keepout is None else keepout.buffer(clearance_mm)
    offsets: list[tuple[float, float]] = []
    for row in range(rows):
        order = range(cols) if row % 2 == 0 else range(cols - 1, -1, -1)
        for col in order:
            # the grid keeps every cell's bounding box inside the margins by construction
            dx = margin_mm + col * pitch_x - min_x
            dy = margin_mm + row * pitch_y - min_y
            if blocked is not None and affinity.translate(footprint, dx, dy).intersects(blocked):
                continue
            offsets.append((dx, dy))
    if units > len(offsets):
        raise GeometryError(
            f"{units} units of {width:.1f} × {depth:.1f} mm do not fit on the "
            f"{bed_x_mm:.0f} × {bed_y_mm:.0f} mm bed with {clearance_mm:.1f} mm clearance; "
            f"{len(offsets)} fit"
        )
    return PlateLayout(tuple(offsets[:units]), len(offsets), (pitch_x, pitch_y))
