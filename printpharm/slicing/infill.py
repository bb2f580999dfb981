"""Infill lines whose total length tiles the infill area exactly.

Rectilinear lines are cut from the region by an even-odd scanline. For a
fixed number of lines, the total chord length is a continuous function of the
line spacing, so the spacing is solved (bisection) until
``Σ length × line width = area × density`` - the dose comes from geometry,
never from scaling the flow.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from printpharm.core.roots import illinois
from printpharm.errors import SlicingError

__all__ = ["MIN_INFILL_GAP_MM", "MIN_SEGMENT_MM", "rectilinear"]

FloatArray = npt.NDArray[np.float64]
#: Infill segments shorter than this are dropped (they cannot be printed).
MIN_SEGMENT_MM = 0.05
#: The narrowest region infill is asked to fill: every chord across it is a printable
#: segment (twice ``MIN_SEGMENT_MM``, so that oblique and end chords are too).
MIN_INFILL_GAP_MM = 2 * MIN_SEGMENT_MM


def _edges(region: BaseGeometry) -> FloatArray:
    rings: list[FloatArray] = []
    polys = getattr(region, "geoms", [region])
    for poly in polys:
        rings.append(np.asarray(poly.exterior.coords))
        rings.extend(np.asarray(r.coords) for r in poly.interiors)
    return np.vstack([np.column_stack((r[:-1], r[1:])) for r in rings])


def _scan(edges: FloatArray, ys: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Even-odd scanline: (starts, ends) arrays of shape (lines, k); unused slots are NaN.

    Segments shorter than ``MIN_SEGMENT_MM`` are marked unused.
    """
    x1, y1, x2, y2 = edges[:, 0], edges[:, 1], edges[:, 2], edges[:, 3]
    dy = np.where(y2 == y1, 1.0, y2 - y1)
    y = ys[:, None]
    hit = (y1 <= y) != (y2 <= y)
    xs = np.where(hit, x1 + (y - y1) * (x2 - x1) / dy, np.inf)
    xs.sort(axis=1)
    width = int(hit.sum(axis=1).max(initial=0))
    width += width % 2
    xs = xs[:, :width]
    starts, ends = xs[:, 0::2], xs[:, 1::2]
    with np.errstate(invalid="ignore"):
        good = np.isfinite(ends) & (ends - starts >= MIN_SEGMENT_MM)
    return np.where(good, starts, np.nan), np.where(good, ends, np.nan)


def _total(edges: FloatArray, centre: float, count: int, spacing: float) -> float:
    starts, ends = _scan(edges, _ys(centre, count, spacing))
    return float(np.nansum(ends - starts))


def _ys(centre: float, count: int, spacing: float) -> FloatArray:
    return np.asarray(centre + (np.arange(count) - (count - 1) / 2.0) * spacing, dtype=np.float64)


def _solve_count(
    edges: FloatArray, centre: float, extent: float, count: int, target: float, nominal: float
) -> float | None:
    """Spacing near ``nominal`` at which ``count`` lines total ``target`` mm (None if none)."""
    if count == 1:
        return 0.0 if abs(_total(edges, centre, 1, 0.0) - target) <= 1e-6 * target else None
    high = extent / (count - 1) * (1.0 - 1e-9)
    grid = np.linspace(min(0.6 * nominal, high), min(1.4 * nominal, high), 9)
    values = [_total(edges, centre, count, float(g)) - target for g in grid]
    pairs = [
        (abs(0.5 * (grid[i] + grid[i + 1]) - nominal), i)
        for i in range(len(grid) - 1)
        if (values[i] >= 0) != (values[i + 1] >= 0)
    ]
    if not pairs:
        return None
    i = min(pairs)[1]
    return illinois(
        lambda sp: _total(edges, centre, count, sp) - target,
        float(grid[i]),
        float(grid[i + 1]),
        fa=values[i],
        fb=values[i + 1],
        f_tol=1e-9 * target,
        x_tol=1e-12,
        max_iter=80,
    )


def rectilinear(
    region: BaseGeometry, width_mm: float, density: float, angle_deg: float
) -> list[FloatArray]:
    """Parallel infill lines whose length × width equals area × density.

    Parameters
    ----------
    region : shapely geometry
        The area to fill (mm).
    width_mm : float
        Line width (mm).
    density : float
        Fraction of the area to cover (0 < density <= 1).
    angle_deg : float
        Line direction: 0 (along x) or 90 (along y).

    Returns
    -------
    list of ndarray
        One (2, 2) array [[x0, y0], [x1, y1]] per segment, in scanline order.

    Raises
    ------
    SlicingError
        If the region is too thin for segments of printable length to make up
        area × density (never fewer lines than that, silently).
    """
    if region.is_empty or region.area <= 0.0:
        return []
    edges = _edges(region)
    if angle_deg % 180 != 0:
        edges = edges[:, [1, 0, 3, 2]]  # swap x and y: scan along y instead
    target = region.area * density / width_mm
    lo, hi = float(edges[:, [1, 3]].min()), float(edges[:, [1, 3]].max())
    extent, centre = hi - lo, 0.5 * (lo + hi)
    nominal = width_mm / density
    first = max(1, round(extent / nominal))
    best: float | None = None
    best_count = first
    for count in (first, first + 1, first - 1):
        if count < 1:
            continue
        found = _solve_count(edges, centre, extent, count, target, nominal)
        if found is not None and (best is None or abs(found - nominal) < abs(best - nominal)):
            best, best_count = found, count
        if best is not None and abs(best - nominal) < 0.05 * nominal:
            break
    if best is None:
        return _trimmed(edges, centre, extent, nominal, target, angle_deg)
    return _segments(edges, _ys(centre, best_count, best), angle_deg, 1.0)


def _trimmed(
    edges: FloatArray,
    centre: float,
    extent: float,
    nominal: float,
    target: float,
    angle_deg: float,
) -> list[FloatArray]:
    """Fallback for slivers: lines at about the nominal spacing, shortened about their
    middles so that their total length is exactly the target (never lengthened).

    Raises
    ------
    SlicingError
        If even ten times the nominal number of lines is shorter than the target.
    """
    count = max(1, math.ceil(extent / nominal))
    spacing = extent / count
    while True:
        total = _total(edges, centre, count, spacing)
        if total >= target or count > 10 * max(1.0, extent / nominal) + 10:
            break
        count += 1
        spacing = extent / count
    if total < target * (1.0 - 1e-9):  # never a silent shortfall: the dose is this length
        raise SlicingError(
            f"an infill region is too thin for lines of at least {MIN_SEGMENT_MM} mm: they "
            f"cover {total * 100 / target:.1f} % of its {target:.4f} mm of line; change the line "
            "width or the perimeters"
        )
    return _segments(edges, _ys(centre, count, spacing), angle_deg, target / total)


def _segments(
    edges: FloatArray, ys: FloatArray, angle_deg: float, scale: float
) -> list[FloatArray]:
    starts, ends = _scan(edges, ys)
    if scale < 1.0:
        mid, half = 0.5 * (starts + ends), 0.5 * (ends - starts) * scale
        starts, ends = mid - half, mid + half
    out: list[FloatArray] = []
    for y, row_start, row_end in zip(ys, starts, ends, strict=True):
        for x0, x1 in zip(row_start, row_end, strict=True):
            if math.isnan(x0):
                continue
            line = np.array([[x0, y], [x1, y]])
            out.append(line[:, ::-1].copy() if angle_deg % 180 != 0 else line)
    return out
