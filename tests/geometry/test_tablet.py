"""Parametric dosage forms: footprints, areas, watertight meshes, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from printpharm.errors import GeometryError
from printpharm.geometry.capsules import CAPSULE_SIZES, SHELL_WALL_MM, capsule_body
from printpharm.geometry.mesh import form_mesh
from printpharm.geometry.tablet import (
    CIRCLE_SEGMENTS,
    Caplet,
    CapsuleFill,
    Disc,
    Form,
    MiniTablets,
    Ring,
    inset_area_mm2,
)

FLAT_FORMS: list[Form] = [
    Disc(10.0, 3.0),
    Caplet(14.0, 7.0, 4.0),
    Ring(12.0, 5.0, 3.0),
    MiniTablets(2.5, 2.0, count=5),
    CapsuleFill(6.0, 12.0),
]
EDGED_FORMS: list[Form] = [
    Disc(10.0, 3.0, 1.0, "round"),
    Disc(10.0, 3.0, 0.8, "chamfer"),
    Caplet(14.0, 7.0, 4.0, 1.0, "round"),
]


@pytest.mark.parametrize("form", FLAT_FORMS + EDGED_FORMS, ids=lambda f: f.template)
def test_mesh_is_watertight_and_stands_on_the_bed(form: Form) -> None:
    mesh = form_mesh(form)
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0
    assert mesh.bounds[0][2] == pytest.approx(0.0, abs=1e-12)
    assert mesh.bounds[1][2] == pytest.approx(form.height_mm)


@pytest.mark.parametrize("form", FLAT_FORMS, ids=lambda f: f.template)
def test_flat_mesh_volume_is_area_times_height(form: Form) -> None:
    assert form_mesh(form).volume == pytest.approx(form.area_mm2(0.0) * form.height_mm, rel=1e-9)
    assert form.footprint(1.0).area == pytest.approx(form.area_mm2(1.0), rel=1e-12)


def test_disc_area_converges_to_the_circle() -> None:
    # 48 vertices on the circle: the polygon holds 99.7 % of pi r^2
    ratio = Disc(10.0, 3.0).area_mm2(0.0) / (math.pi * 25.0)
    assert 0.995 < ratio < 1.0


def test_ring_has_its_hole() -> None:
    ring = Ring(12.0, 5.0, 3.0)
    expected = Disc(12.0, 3.0).area_mm2(0.0) - Disc(5.0, 3.0).area_mm2(0.0)
    assert ring.area_mm2(1.0) == pytest.approx(expected, rel=1e-12)
    assert not ring.footprint(1.0).contains(Disc(1.0, 1.0).footprint(0.0).centroid)


def test_rounded_edge_shrinks_only_the_top() -> None:
    disc = Disc(10.0, 3.0, 1.0, "round")
    assert disc.area_mm2(1.9) == disc.area_mm2(0.0)
    assert disc.area_mm2(2.5) < disc.area_mm2(2.0)
    assert disc.area_mm2(3.0) == pytest.approx(Disc(8.0, 1.0).area_mm2(0.0), rel=1e-12)
    assert form_mesh(disc).volume < form_mesh(Disc(10.0, 3.0)).volume


def test_mini_tablets_are_separate_discs() -> None:
    form = MiniTablets(2.0, 2.0, count=6, gap_mm=1.5)
    footprint = form.footprint(0.5)
    assert len(footprint.geoms) == 6
    n = CIRCLE_SEGMENTS // 2  # mini-tablets use half the vertices of a tablet outline
    assert footprint.area == pytest.approx(6 * n / 2 * math.sin(2 * math.pi / n), rel=1e-9)
    mesh = form_mesh(form)
    assert mesh.is_watertight and _bodies(mesh.edges_unique, len(mesh.vertices)) == 6


def _bodies(edges: np.ndarray, count: int) -> int:
    """Connected groups of vertices (union-find; trimesh's own needs SciPy or networkx)."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges.tolist():
        parent[root(a)] = root(b)
    return len({root(i) for i in range(count)})


def test_inset_area_matches_shapely_mitre_offset() -> None:
    for form in FLAT_FORMS[:3]:
        for inset in (0.3, 0.8, 1.1):
            exact = form.footprint(0.0).buffer(-inset, join_style="mitre", mitre_limit=10).area
            got = sum(inset_area_mm2(o, inset) for o in form.outlines(0.0))
            assert got == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize(
    ("factory", "needle"),
    [
        (lambda: Disc(-1.0, 3.0), "diameter_mm=-1.0"),
        (lambda: Disc(10.0, 0.0), "height_mm=0.0"),
        (lambda: Disc(10.0, 3.0, 3.0, "round"), "edge_mm=3.0"),
        (lambda: Disc(10.0, 3.0, 1.0, "wavy"), "edge_style='wavy'"),  # type: ignore[arg-type]
        (lambda: Caplet(6.0, 7.0, 3.0), "length_mm=6.0 must be at least width_mm=7.0"),
        (lambda: Ring(5.0, 6.0, 3.0), "inner_diameter_mm=6.0 must be below"),
        (lambda: MiniTablets(2.0, 2.0, count=0), "count=0"),
        (lambda: Disc(float("nan"), 3.0), "diameter_mm=nan"),
    ],
)
def test_bad_dimensions_are_refused_by_name(factory: object, needle: str) -> None:
    with pytest.raises(GeometryError, match=None) as info:
        factory()  # type: ignore[operator]
    assert needle in str(info.value)


def test_footprint_outside_the_form_is_refused() -> None:
    with pytest.raises(GeometryError, match="outside the form"):
        Disc(10.0, 3.0).footprint(3.5)


def test_capsule_table_is_consistent() -> None:
    sizes = list(CAPSULE_SIZES)
    assert sizes == ["000", "00", "0", "1", "2", "3", "4", "5"]
    bodies = [capsule_body(s) for s in sizes]
    for larger, smaller in zip(bodies, bodies[1:], strict=False):
        assert larger.capacity_mm3 > smaller.capacity_mm3
        assert larger.body_outer_diameter_mm > smaller.body_outer_diameter_mm
    for body in bodies:
        inner = body.body_inner_diameter_mm
        assert inner == pytest.approx(body.body_outer_diameter_mm - 2 * SHELL_WALL_MM)
        # the capacity is below the inner cylinder of body + cap overlap, but not absurdly so
        cylinder = math.pi * inner**2 / 4 * body.body_length_mm
        assert 0.6 * cylinder < body.capacity_mm3 < 1.2 * cylinder
    with pytest.raises(GeometryError, match="capsule size '6' is unknown"):
        capsule_body("6")
