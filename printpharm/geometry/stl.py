"""STL export (numpy-stl) and checked STL import for research mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import trimesh
from shapely.geometry.polygon import orient
from stl import mesh as stl_mesh
from trimesh.intersections import mesh_plane

from printpharm.errors import GeometryError
from printpharm.geometry.mesh import check_solid
from printpharm.geometry.tablet import Form, Outline

__all__ = ["BED_TOLERANCE_MM", "MeshForm", "load_stl", "save_stl"]

#: How far (mm) the lowest point of an imported mesh may sit from the bed plane z = 0.
BED_TOLERANCE_MM = 1e-3
_MIN_FACE_AREA_MM2 = 1e-12
#: Section points are snapped to this many decimals of a mm, so that the two faces
#: sharing an edge give the same point (trimesh merges vertices at 1e-8 mm).
_SNAP_DECIMALS = 9


def save_stl(mesh: trimesh.Trimesh, path: Path | str) -> Path:
    """Write a mesh as a binary STL file (units: mm).

    Raises
    ------
    GeometryError
        If the mesh is not a closed solid or the file cannot be written.
    """
    check_solid(mesh, str(path))
    data = np.zeros(len(mesh.faces), dtype=stl_mesh.Mesh.dtype)
    out = stl_mesh.Mesh(data, remove_empty_areas=False)
    out.vectors[:] = mesh.triangles
    out.update_normals()
    target = Path(path)
    try:
        out.save(str(target))
    except OSError as exc:
        raise GeometryError(f"cannot write STL {target}: {exc}") from exc
    return target


def _read_triangles(target: Path) -> np.ndarray:
    if not target.is_file():
        raise GeometryError(f"STL file {target} does not exist")
    try:
        data = stl_mesh.Mesh.from_file(str(target), calculate_normals=False)
    except (OSError, ValueError, AssertionError, RuntimeError, TypeError) as exc:
        raise GeometryError(f"STL file {target} cannot be read: {exc}") from exc
    tris = np.asarray(data.vectors, dtype=np.float64)
    if tris.size == 0:
        raise GeometryError(f"STL file {target} holds no triangles")
    if not np.all(np.isfinite(tris)):
        raise GeometryError(f"STL file {target} has non-finite vertex coordinates")
    return tris


def load_stl(path: Path | str) -> trimesh.Trimesh:
    """Read an STL (ASCII or binary, mm) and refuse anything that is not a printable solid.

    Raises
    ------
    GeometryError
        If the file cannot be read, has degenerate (zero-area) triangles, is not
        watertight or consistently wound, encloses no volume, or does not rest
        on the bed (lowest point not at z = 0 within ``BED_TOLERANCE_MM``).
    """
    target = Path(path)
    tris = _read_triangles(target)
    areas = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    degenerate = int(np.count_nonzero(areas <= _MIN_FACE_AREA_MM2))
    if degenerate:
        raise GeometryError(
            f"STL file {target}: {degenerate} of {len(tris)} triangles are degenerate "
            "(zero area); repair the mesh before importing it"
        )
    mesh = trimesh.Trimesh(
        tris.reshape(-1, 3), np.arange(len(tris) * 3).reshape(-1, 3), process=True
    )
    check_solid(mesh, f"STL file {target}")
    z_min = float(mesh.bounds[0][2])
    if abs(z_min) > BED_TOLERANCE_MM:
        where = "below" if z_min < 0 else "above"
        raise GeometryError(
            f"STL file {target}: the lowest point is at z={z_min:.3f} mm, {where} the bed; "
            "a unit must rest on the bed (z = 0)"
        )
    return mesh


@dataclass(frozen=True, eq=False)
class MeshForm(Form):
    """An imported solid treated as a form: footprints are mesh sections.

    ``mesh`` must already be checked (see :func:`load_stl`). The footprint at a
    height is the planar section of the mesh there, centred like the mesh.
    """

    template = "mesh"
    mesh: trimesh.Trimesh

    @property
    def height_mm(self) -> float:  # type: ignore[override]
        """Height of the mesh above the bed (mm)."""
        return float(self.mesh.bounds[1][2])

    def outlines(self, z_mm: float) -> list[Outline]:
        """The planar section at ``z_mm``: shells counter-clockwise, holes clockwise.

        The mesh's triangles are cut by the plane (trimesh), the cut segments are
        joined into areas by shapely's ``build_area`` (outlines nested in outlines
        are holes, as in an even-odd fill); no graph library or SciPy is needed.
        """
        segments = mesh_plane(  # type: ignore[no-untyped-call]
            self.mesh, plane_normal=[0.0, 0.0, 1.0], plane_origin=[0.0, 0.0, z_mm]
        )
        if len(segments) == 0:
            return []
        lines = shapely.multilinestrings(np.round(segments[:, :, :2], _SNAP_DECIMALS))
        area = shapely.build_area(lines)
        result: list[Outline] = []
        for poly in getattr(area, "geoms", [area]):
            if poly.is_empty:
                continue
            poly = orient(poly, 1.0)
            shell = np.asarray(poly.exterior.coords)[:-1]
            holes = tuple(np.asarray(h.coords)[:-1] for h in poly.interiors)
            result.append((shell, holes))
        return result

    def uniform_below_mm(self) -> float:
        """A mesh may change at every height: no layer can reuse another's section."""
        return 0.0

    def dimensions(self) -> dict[str, float]:
        extent = self.mesh.extents
        return {"x_mm": float(extent[0]), "y_mm": float(extent[1]), "height_mm": self.height_mm}
