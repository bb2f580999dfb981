"""Toolpaths that tile each layer exactly: perimeters at w/2, 3w/2, ... and solved infill.

Every printing move deposits line width × layer height per millimetre, so the
unit's deposited volume is ``Σ path length × w × h``. Perimeter centre lines
are mitre offsets of the outline, whose bands tile the outline exactly
(Steiner's formula for polygons); the infill lines are solved in
:mod:`.infill` so that they cover the remaining area × density.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from printpharm.errors import SlicingError
from printpharm.geometry.tablet import Form
from printpharm.slicing.infill import MIN_INFILL_GAP_MM, rectilinear
from printpharm.slicing.layers import LayerRegion, slice_layers
from printpharm.slicing.settings import ProcessSettings

__all__ = ["LayerPaths", "PathKind", "SlicedUnit", "ToolPath", "slice_form"]

FloatArray = npt.NDArray[np.float64]
PathKind = Literal["perimeter", "infill"]
_MIN_STEP_MM = 0.02
_MITRE = {"join_style": "mitre", "mitre_limit": 10.0}


@dataclass(frozen=True, eq=False)
class ToolPath:
    """A polyline printed without stopping: (k, 2) XY points (mm)."""

    kind: PathKind
    points: FloatArray

    @functools.cached_property
    def length_mm(self) -> float:
        """Length of the polyline (mm)."""
        return float(np.sum(np.hypot(*np.diff(self.points, axis=0).T)))


@dataclass(frozen=True, eq=False)
class LayerPaths:
    """The ordered paths of one layer and how they are extruded."""

    index: int
    z_mm: float
    height_mm: float
    width_mm: float
    speed_mm_s: float
    paths: tuple[ToolPath, ...]

    @property
    def length_mm(self) -> float:
        """Total printing length (mm)."""
        return sum(p.length_mm for p in self.paths)

    @property
    def volume_mm3(self) -> float:
        """Deposited volume: length × width × height (mm³)."""
        return self.length_mm * self.width_mm * self.height_mm


@dataclass(frozen=True, eq=False)
class SlicedUnit:
    """One unit's layers of toolpaths around the form's own origin."""

    form: Form
    layers: tuple[LayerPaths, ...]

    @property
    def volume_mm3(self) -> float:
        """Deposited volume of the unit (mm³)."""
        return sum(layer.volume_mm3 for layer in self.layers)

    @property
    def length_mm(self) -> float:
        """Printing path length of the unit (mm)."""
        return sum(layer.length_mm for layer in self.layers)


def _rings(geom: BaseGeometry) -> Iterator[FloatArray]:
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty:
            continue
        yield np.asarray(poly.exterior.coords)
        for hole in poly.interiors:
            yield np.asarray(hole.coords)


def _thin(ring: FloatArray) -> FloatArray:
    """Drop vertices closer than ``_MIN_STEP_MM`` to their predecessor (closed ring)."""
    pts = ring[:-1]
    step = np.hypot(*np.diff(ring, axis=0).T)
    keep = np.concatenate(([True], step[:-1] >= _MIN_STEP_MM))
    pts = pts[keep]
    return np.vstack((pts, pts[:1]))


def _start_at(ring: FloatArray, near: FloatArray) -> FloatArray:
    pts = ring[:-1]
    i = int(np.argmin(np.sum((pts - near) ** 2, axis=1)))
    rolled = np.roll(pts, -i, axis=0)
    return np.vstack((rolled, rolled[:1]))


def _order_lines(lines: list[FloatArray], pos: FloatArray) -> list[FloatArray]:
    """Greedy nearest-neighbour order of segments, each may be reversed."""
    if not lines:
        return []
    starts = np.array([ln[0] for ln in lines])
    ends = np.array([ln[-1] for ln in lines])
    left = np.ones(len(lines), dtype=bool)
    out: list[FloatArray] = []
    for _ in range(len(lines)):
        d_start = np.where(left, np.sum((starts - pos) ** 2, axis=1), np.inf)
        d_end = np.where(left, np.sum((ends - pos) ** 2, axis=1), np.inf)
        i_s, i_e = int(np.argmin(d_start)), int(np.argmin(d_end))
        if d_start[i_s] <= d_end[i_e]:
            line = lines[i_s]
            left[i_s] = False
        else:
            line = lines[i_e][::-1]
            left[i_e] = False
        out.append(line)
        pos = line[-1]
    return out


def _perimeter_count(island: BaseGeometry, wanted: int, width: float) -> tuple[int, BaseGeometry]:
    """The most perimeters (<= wanted) that leave an infill region, and that region.

    Perimeters never collide from two sides: a thin wall keeps fewer loops and
    infill, so the perimeter bands tile the outline exactly. Nor do they leave a
    sliver that no infill line of printable length fits in (narrower than
    :data:`MIN_INFILL_GAP_MM`): its area would be counted and never deposited.
    The same rule, on exact areas, is :func:`printpharm.slicing.fit.sliced_volume_model`'s.
    """
    for k in range(wanted, 0, -1):
        if not island.buffer(-(k * width + MIN_INFILL_GAP_MM / 2), **_MITRE).is_empty:
            return k, island.buffer(-k * width, **_MITRE)
    return 0, island


def _loops(region: BaseGeometry, spacing: float) -> list[FloatArray]:
    loops: list[FloatArray] = []
    j = 0
    while not (loop := region.buffer(-(j + 0.5) * spacing, **_MITRE)).is_empty:
        loops.extend(_thin(ring) for ring in _rings(loop))
        j += 1
    return loops


def _cut(ring: FloatArray, length_mm: float) -> FloatArray:
    """The first ``length_mm`` of a polyline."""
    step = np.hypot(*np.diff(ring, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(step)))
    k = int(np.searchsorted(cum, length_mm))
    if k >= len(ring):
        return ring
    t = (length_mm - cum[k - 1]) / step[k - 1]
    end = ring[k - 1] + t * (ring[k] - ring[k - 1])
    return np.vstack((ring[:k], end))


def _concentric(region: BaseGeometry, width: float, density: float) -> list[FloatArray]:
    """Concentric loops totalling exactly area × density / width: loops are laid at the
    nominal spacing (tightened until long enough) and the innermost is cut to length."""
    target = region.area * density / width
    spacing = width / density
    loops = _loops(region, spacing)
    total = 0.0
    for _ in range(20):
        total = sum(float(np.sum(np.hypot(*np.diff(r, axis=0).T))) for r in loops)
        if total >= target or spacing < 0.1 * width:
            break
        spacing *= min(max(0.5, total / target), 0.9)  # tighten until the loops are long enough
        loops = _loops(region, spacing)
    if total < target:  # a sliver no loop fits in: straight lines cut to length instead
        return rectilinear(region, width, density, 0.0)
    out: list[FloatArray] = []
    left = target
    for ring in loops:
        length = float(np.sum(np.hypot(*np.diff(ring, axis=0).T)))
        if left - length <= _MIN_STEP_MM:
            if left > _MIN_STEP_MM:
                out.append(_cut(ring, left))
            break
        out.append(ring)
        left -= length
    return out


def _island_paths(
    island: BaseGeometry,
    process: ProcessSettings,
    width: float,
    density: float,
    angle: float,
    pos: FloatArray,
) -> tuple[list[ToolPath], FloatArray]:
    paths: list[ToolPath] = []
    count, inner = _perimeter_count(island, process.perimeters, width)
    if count == 0 and island.buffer(-0.5 * width, **_MITRE).is_empty:
        raise SlicingError(
            f"a part of the layer is narrower than one {width} mm line; nothing can be "
            "printed there"
        )
    for k in range(count):
        loop = island.buffer(-(k + 0.5) * width, **_MITRE)
        for ring in _rings(loop):
            pts = _start_at(_thin(ring), pos)
            paths.append(ToolPath("perimeter", pts))
            pos = pts[-1]
    if inner.is_empty:
        return paths, pos
    if process.infill_pattern == "concentric":
        for ring in _concentric(inner, width, density):
            closed = bool(np.allclose(ring[0], ring[-1]))
            pts = _start_at(ring, pos) if closed else ring
            paths.append(ToolPath("infill", pts))
            pos = pts[-1]
        return paths, pos
    if process.infill_pattern == "grid" and density < 1.0:
        lines = rectilinear(inner, width, density / 2, 0.0) + rectilinear(
            inner, width, density / 2, 90.0
        )
    else:
        lines = rectilinear(inner, width, density, angle)
    for line in _order_lines(lines, pos):
        paths.append(ToolPath("infill", line))
        pos = line[-1]
    return paths, pos


def _layer_paths(
    region: BaseGeometry, process: ProcessSettings, width: float, density: float, angle: float
) -> tuple[ToolPath, ...]:
    minx, miny, maxx, maxy = region.bounds
    pos = np.array([maxx, 0.5 * (miny + maxy)])  # a fixed seam side keeps seams aligned
    islands = sorted(getattr(region, "geoms", [region]), key=lambda p: (-p.bounds[0], p.bounds[1]))
    out: list[ToolPath] = []
    for island in islands:
        paths, pos = _island_paths(island, process, width, density, angle, pos)
        out.extend(paths)
    return tuple(out)


def slice_form(form: Form, process: ProcessSettings) -> SlicedUnit:
    """Slice a form into ordered toolpaths (around the form's origin).

    Parameters
    ----------
    form : Form
        The sized form; its height must be a whole number of layers.
    process : ProcessSettings
        Layer height, line width, perimeters, infill and speeds.

    Raises
    ------
    SlicingError
        If the form does not tile into whole layers or a layer has no path.
    """
    regions = slice_layers(form, process.layering)
    count = len(regions)
    cache: dict[tuple[int, float, float, float], tuple[ToolPath, ...]] = {}
    layers: list[LayerPaths] = []
    for layer in regions:
        first = layer.index == 0
        width = process.first_width_mm if first else process.line_width_mm
        density = _density(layer, count, process)
        angle = 0.0 if layer.index % 2 == 0 else 90.0
        key = (id(layer.region), width, density, angle)
        if key not in cache:
            cache[key] = _layer_paths(layer.region, process, width, density, angle)
        paths = cache[key]
        if not paths:
            raise SlicingError(
                f"{form.template}: layer {layer.index} at z={layer.z_mm:.3f} mm is narrower than "
                f"one {width} mm line; nothing can be printed there"
            )
        speed = process.first_layer_speed_mm_s if first else process.print_speed_mm_s
        layers.append(LayerPaths(layer.index, layer.z_mm, layer.height_mm, width, speed, paths))
    return SlicedUnit(form, tuple(layers))


def _density(layer: LayerRegion, count: int, process: ProcessSettings) -> float:
    solid = (
        layer.index < process.solid_bottom_layers or layer.index >= count - process.solid_top_layers
    )
    return 1.0 if solid else process.infill_density
