"""STL export/import: round trip and clear refusals of unusable meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from stl import mesh as stl_mesh

from printpharm.errors import GeometryError
from printpharm.geometry.mesh import form_mesh
from printpharm.geometry.stl import MeshForm, load_stl, save_stl
from printpharm.geometry.tablet import Caplet, Disc, Ring


def _write_triangles(path: Path, triangles: np.ndarray) -> None:
    data = np.zeros(len(triangles), dtype=stl_mesh.Mesh.dtype)
    out = stl_mesh.Mesh(data, remove_empty_areas=False)
    out.vectors[:] = triangles
    out.save(str(path))


@pytest.mark.parametrize("form", [Disc(10, 3, 1, "round"), Caplet(14, 7, 4), Ring(12, 5, 3)])
def test_round_trip_keeps_the_solid(form: Disc, tmp_path: Path) -> None:
    mesh = form_mesh(form)
    path = save_stl(mesh, tmp_path / "unit.stl")
    back = load_stl(path)
    assert back.is_watertight
    assert back.volume == pytest.approx(mesh.volume, rel=1e-5)  # STL stores float32
    np.testing.assert_allclose(back.bounds, mesh.bounds, atol=1e-5)


def test_imported_mesh_slices_like_the_template(tmp_path: Path) -> None:
    form = Ring(12, 5, 3)
    imported = MeshForm(load_stl(save_stl(form_mesh(form), tmp_path / "ring.stl")))
    assert imported.height_mm == pytest.approx(3.0)
    assert imported.area_mm2(1.5) == pytest.approx(form.area_mm2(1.5), rel=1e-5)
    assert imported.footprint(1.5).symmetric_difference(form.footprint(1.5)).area < 1e-3


def test_open_mesh_is_refused(tmp_path: Path) -> None:
    tris = form_mesh(Disc(10, 3)).triangles[:-1]  # one triangle missing
    _write_triangles(tmp_path / "open.stl", tris)
    with pytest.raises(GeometryError, match="not watertight"):
        load_stl(tmp_path / "open.stl")


def test_degenerate_triangles_are_refused(tmp_path: Path) -> None:
    tris = form_mesh(Disc(10, 3)).triangles.copy()
    tris[0, 2] = tris[0, 1]  # a zero-area sliver
    _write_triangles(tmp_path / "degenerate.stl", tris)
    with pytest.raises(GeometryError, match="1 of .* triangles are degenerate"):
        load_stl(tmp_path / "degenerate.stl")


@pytest.mark.parametrize(("dz", "where"), [(2.0, "above"), (-0.5, "below")])
def test_off_bed_mesh_is_refused(tmp_path: Path, dz: float, where: str) -> None:
    mesh = form_mesh(Disc(10, 3))
    mesh.apply_translation([0, 0, dz])
    _write_triangles(tmp_path / "off.stl", mesh.triangles)
    with pytest.raises(GeometryError, match=f"{where} the bed"):
        load_stl(tmp_path / "off.stl")


def test_missing_and_garbage_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GeometryError, match="does not exist"):
        load_stl(tmp_path / "nope.stl")
    (tmp_path / "junk.stl").write_bytes(b"solid x\nthis is not an stl\n")
    with pytest.raises(GeometryError):
        load_stl(tmp_path / "junk.stl")


def test_save_refuses_an_open_mesh(tmp_path: Path) -> None:
    box = trimesh.creation.box()
    box.faces = box.faces[:-1]
    with pytest.raises(GeometryError, match="not watertight"):
        save_stl(box, tmp_path / "x.stl")
