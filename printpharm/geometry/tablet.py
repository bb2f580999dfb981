"""Parametric dosage forms: footprints per height (shapely) and watertight meshes.

Every form is a frozen dataclass of dimensions in millimetres standing on the
bed (z = 0) and exposes

* ``outlines(z_mm)`` - the cross-section at height ``z_mm`` as (shell, holes)
  vertex arrays (shell counter-clockwise, holes clockwise), with a *fixed*
  number of vertices per form so that areas are continuous in the dimensions;
* ``footprint(z_mm)`` - the same cross-section as a shapely geometry;
* ``area_mm2(z_mm)`` - its exact polygon area;
* ``mesh()`` - a watertight :class:`trimesh.Trimesh` (see :mod:`.mesh`).

Curved outlines are regular polygons with their vertices on the nominal curve;
the slicer works on exactly these polygons, so the volume model, the sliced
toolpaths and the mesh all describe the same solid.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from printpharm.errors import GeometryError

__all__ = [
    "CIRCLE_SEGMENTS",
    "inset_area_mm2",
    "Caplet",
    "CapsuleFill",
    "Disc",
    "EdgeStyle",
    "Form",
    "MiniTablets",
    "Outline",
    "Ring",
    "polygon_area_mm2",
]

EdgeStyle = Literal["flat", "chamfer", "round"]
FloatArray = npt.NDArray[np.float64]
#: One connected cross-section: shell (N, 2) counter-clockwise and its holes.
Outline = tuple[FloatArray, tuple[FloatArray, ...]]

#: Vertices of a full circle outline (fixed, so areas vary smoothly with size).
CIRCLE_SEGMENTS = 48
_ROUND_EDGE_STEPS = 8


def polygon_area_mm2(ring: FloatArray) -> float:
    """Signed shoelace area of a closed ring given as (N, 2) vertices (mm²)."""
    x, y = ring[:, 0], ring[:, 1]
    twice = float(x[:-1] @ y[1:] - x[1:] @ y[:-1]) + float(x[-1] * y[0] - x[0] * y[-1])
    return 0.5 * twice


def _perimeter_mm(ring: FloatArray) -> float:
    step = np.diff(ring, axis=0, append=ring[:1])
    return float(np.sum(np.sqrt(step[:, 0] ** 2 + step[:, 1] ** 2)))


def _turn_tangent_sum(ring: FloatArray) -> float:
    """Σ tan(φ/2) over the turning angles φ of a convex ring (its mitre-offset coefficient)."""
    edges = np.diff(ring, axis=0, append=ring[:1])
    heading = np.arctan2(edges[:, 1], edges[:, 0])
    turn = np.diff(heading, append=heading[:1])
    turn = (turn + math.pi) % (2 * math.pi) - math.pi
    return float(np.sum(np.tan(np.abs(turn) / 2)))


def inset_area_mm2(outline: Outline, inset_mm: float) -> float:
    """Area of a (convex shell, convex holes) outline after a mitre inset of ``inset_mm``.

    Steiner's formula for polygons: the shell shrinks as A − P·d + d²·Σtan(φ/2) and
    every hole grows as a + p·d + d²·Σtan(φ/2). Returns 0 when nothing is left. This
    is exact while no edge of the offset polygon vanishes.
    """
    shell, holes = outline
    d = inset_mm
    perimeter = _perimeter_mm(shell)
    if d * 2 >= perimeter / math.pi:  # inset beyond the inscribed size: nothing left
        return 0.0
    area = polygon_area_mm2(shell) - perimeter * d + d * d * _turn_tangent_sum(shell)
    for hole in holes:
        p_hole = _perimeter_mm(hole)
        area -= -polygon_area_mm2(hole) + p_hole * d + d * d * _turn_tangent_sum(hole)
    return max(area, 0.0)


@functools.lru_cache(maxsize=8)
def _unit_circle(n: int) -> FloatArray:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    circle = np.column_stack((np.cos(t), np.sin(t)))
    circle.setflags(write=False)
    return circle


def _circle(
    radius_mm: float, cx: float = 0.0, cy: float = 0.0, n: int = CIRCLE_SEGMENTS
) -> FloatArray:
    return _unit_circle(n) * radius_mm + (cx, cy)


def _stadium(length_mm: float, width_mm: float) -> FloatArray:
    r = width_mm / 2.0
    a = (length_mm - width_mm) / 2.0
    half = CIRCLE_SEGMENTS // 2
    right = np.linspace(-math.pi / 2, math.pi / 2, half + 1)
    left = right + math.pi
    pts = [np.column_stack((a + r * np.cos(right), r * np.sin(right)))]
    pts.append(np.column_stack((-a + r * np.cos(left), r * np.sin(left))))
    return np.vstack(pts)


def _edge_inset(z_mm: float, height_mm: float, edge_mm: float, style: EdgeStyle) -> float:
    """Horizontal inset of the outline at ``z_mm`` caused by the top edge (mm)."""
    if style == "flat" or edge_mm <= 0.0:
        return 0.0
    t = min(max(z_mm - (height_mm - edge_mm), 0.0), edge_mm)
    if style == "chamfer":
        return t
    return edge_mm - math.sqrt(max(edge_mm * edge_mm - t * t, 0.0))


def _edge_levels(height_mm: float, edge_mm: float, style: EdgeStyle) -> list[float]:
    if style == "flat" or edge_mm <= 0.0:
        return [0.0, height_mm]
    base = height_mm - edge_mm
    if style == "chamfer":
        return [0.0, base, height_mm]
    steps = [base + edge_mm * math.sin(k * math.pi / 2 / _ROUND_EDGE_STEPS) for k in range(1, 9)]
    return [0.0, base, *steps[:-1], height_mm]


class Form:
    """Common behaviour of the parametric forms (mix-in for frozen dataclasses)."""

    template: ClassVar[str] = ""
    height_mm: float

    def outlines(self, z_mm: float) -> list[Outline]:
        """Cross-section at height ``z_mm`` (mm) as shells with holes."""
        raise NotImplementedError

    def mesh_levels(self) -> list[float]:
        """Heights (mm) between which the outline changes linearly (mesh rings)."""
        return [0.0, self.height_mm]

    def uniform_below_mm(self) -> float:
        """Height (mm) below which every cross-section is the same as at z = 0."""
        levels = self.mesh_levels()
        return self.height_mm if len(levels) == 2 else levels[-2]

    def dimensions(self) -> dict[str, float]:
        """The numeric dimensions of the form, by field name (mm, or a count)."""
        return {
            f.name: float(getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if isinstance(getattr(self, f.name), int | float)
        }

    def footprint(self, z_mm: float) -> BaseGeometry:
        """The cross-section at ``z_mm`` as a shapely (Multi)Polygon.

        Raises
        ------
        GeometryError
            If ``z_mm`` lies outside ``[0, height_mm]``.
        """
        self._check_z(z_mm)
        polys = [shapely.Polygon(shell, holes) for shell, holes in self.outlines(z_mm)]
        return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)

    def area_mm2(self, z_mm: float) -> float:
        """Exact area of the cross-section at ``z_mm`` (mm²)."""
        total = 0.0
        for shell, holes in self.outlines(z_mm):
            total += polygon_area_mm2(shell) + sum(polygon_area_mm2(h) for h in holes)
        return total

    def _check_z(self, z_mm: float) -> None:
        if not 0.0 <= z_mm <= self.height_mm + 1e-9:
            raise GeometryError(
                f"{self.template}: height z={z_mm:.4f} mm is outside the form (0 to "
                f"{self.height_mm:.4f} mm)"
            )


def _positive(template: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0.0):
            raise GeometryError(f"{template}: {name}={value} must be a positive number of mm")


def _check_edge(template: str, edge_mm: float, limit_mm: float, style: str) -> None:
    if style not in ("flat", "chamfer", "round"):
        raise GeometryError(f"{template}: edge_style={style!r} must be flat, chamfer or round")
    if not 0.0 <= edge_mm < limit_mm:
        raise GeometryError(
            f"{template}: edge_mm={edge_mm} must be >= 0 and below {limit_mm:.3f} mm "
            "(the height and half the smallest width)"
        )


@dataclass(frozen=True)
class Disc(Form):
    """Round flat tablet: a cylinder with an optional chamfered or rounded top edge."""

    template: ClassVar[str] = "disc"
    diameter_mm: float
    height_mm: float
    edge_mm: float = 0.0
    edge_style: EdgeStyle = "flat"

    def __post_init__(self) -> None:
        _positive(self.template, diameter_mm=self.diameter_mm, height_mm=self.height_mm)
        _check_edge(
            self.template, self.edge_mm, min(self.height_mm, self.diameter_mm / 2), self.edge_style
        )

    def outlines(self, z_mm: float) -> list[Outline]:
        inset = _edge_inset(z_mm, self.height_mm, self.edge_mm, self.edge_style)
        return [(_circle(self.diameter_mm / 2 - inset), ())]

    def mesh_levels(self) -> list[float]:
        return _edge_levels(self.height_mm, self.edge_mm, self.edge_style)


@dataclass(frozen=True)
class Caplet(Form):
    """Oblong tablet with a stadium outline (length along x)."""

    template: ClassVar[str] = "caplet"
    length_mm: float
    width_mm: float
    height_mm: float
    edge_mm: float = 0.0
    edge_style: EdgeStyle = "flat"

    def __post_init__(self) -> None:
        _positive(
            self.template,
            length_mm=self.length_mm,
            width_mm=self.width_mm,
            height_mm=self.height_mm,
        )
        if self.length_mm < self.width_mm:
            raise GeometryError(
                f"caplet: length_mm={self.length_mm} must be at least width_mm={self.width_mm}"
            )
        _check_edge(
            self.template, self.edge_mm, min(self.height_mm, self.width_mm / 2), self.edge_style
        )

    def outlines(self, z_mm: float) -> list[Outline]:
        inset = _edge_inset(z_mm, self.height_mm, self.edge_mm, self.edge_style)
        return [(_stadium(self.length_mm - 2 * inset, self.width_mm - 2 * inset), ())]

    def mesh_levels(self) -> list[float]:
        return _edge_levels(self.height_mm, self.edge_mm, self.edge_style)


@dataclass(frozen=True)
class Ring(Form):
    """Annulus (a tablet with a central hole, for faster dispersion)."""

    template: ClassVar[str] = "ring"
    outer_diameter_mm: float
    inner_diameter_mm: float
    height_mm: float

    def __post_init__(self) -> None:
        _positive(
            self.template,
            outer_diameter_mm=self.outer_diameter_mm,
            inner_diameter_mm=self.inner_diameter_mm,
            height_mm=self.height_mm,
        )
        if self.inner_diameter_mm >= self.outer_diameter_mm:
            raise GeometryError(
                f"ring: inner_diameter_mm={self.inner_diameter_mm} must be below "
                f"outer_diameter_mm={self.outer_diameter_mm}"
            )

    def outlines(self, z_mm: float) -> list[Outline]:
        hole = _circle(self.inner_diameter_mm / 2)[::-1].copy()
        return [(_circle(self.outer_diameter_mm / 2), (hole,))]


@dataclass(frozen=True)
class MiniTablets(Form):
    """Several small discs that make up one dose, printed and weighed together.

    The discs are laid out on a square-ish grid with ``gap_mm`` between them.
    """

    template: ClassVar[str] = "mini_tablets"
    diameter_mm: float
    height_mm: float
    count: int = 4
    gap_mm: float = 2.0

    def __post_init__(self) -> None:
        _positive(
            self.template,
            diameter_mm=self.diameter_mm,
            height_mm=self.height_mm,
            gap_mm=self.gap_mm,
        )
        if not 1 <= self.count <= 100:
            raise GeometryError(f"mini_tablets: count={self.count} must be between 1 and 100")

    def centres_mm(self) -> list[tuple[float, float]]:
        """Centres of the discs (mm), centred on the origin."""
        cols = math.ceil(math.sqrt(self.count))
        rows = math.ceil(self.count / cols)
        pitch = self.diameter_mm + self.gap_mm
        return [
            ((i % cols - (cols - 1) / 2) * pitch, ((rows - 1) / 2 - i // cols) * pitch)
            for i in range(self.count)
        ]

    def outlines(self, z_mm: float) -> list[Outline]:
        n = CIRCLE_SEGMENTS // 2
        return [(_circle(self.diameter_mm / 2, x, y, n), ()) for x, y in self.centres_mm()]


@dataclass(frozen=True)
class CapsuleFill(Form):
    """A printed fill column that slides into the body of a hard capsule.

    The capsule's limits (inner diameter, body length, capacity) are bounds of
    the sizing (:func:`printpharm.geometry.sizing.capsule_fill_spec`).
    """

    template: ClassVar[str] = "capsule_fill"
    diameter_mm: float
    height_mm: float

    def __post_init__(self) -> None:
        _positive(self.template, diameter_mm=self.diameter_mm, height_mm=self.height_mm)

    def outlines(self, z_mm: float) -> list[Outline]:
        return [(_circle(self.diameter_mm / 2), ())]
