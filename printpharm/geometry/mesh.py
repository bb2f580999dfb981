"""Watertight triangle meshes of the parametric forms (trimesh)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import trimesh

from printpharm.errors import GeometryError
from printpharm.geometry.tablet import Form

__all__ = ["check_solid", "form_mesh"]

IntArray = npt.NDArray[np.int64]


def _side_faces(lower: int, upper: int, n: int) -> IntArray:
    i = np.arange(n)
    j = (i + 1) % n
    a = np.column_stack((lower + i, lower + j, upper + j))
    b = np.column_stack((lower + i, upper + j, upper + i))
    return np.vstack((a, b))


def _fan(centre: int, start: int, n: int, up: bool) -> IntArray:
    i = np.arange(n)
    j = (i + 1) % n
    c = np.full(n, centre)
    return np.column_stack((c, start + i, start + j) if up else (c, start + j, start + i))


def _strip(outer: int, inner: int, n: int, up: bool) -> IntArray:
    """Annular cap between an outer ring (ccw) and an inner ring stored clockwise."""
    i = np.arange(n)
    j = (i + 1) % n
    # the hole ring is clockwise: vertex k of the hole matches vertex n-1-k of the shell
    hi = inner + (n - 1 - i)
    hj = inner + (n - 1 - j)
    a = np.column_stack((outer + i, outer + j, hj))
    b = np.column_stack((outer + i, hj, hi))
    faces = np.vstack((a, b))
    return faces if up else faces[:, ::-1]


def _body_mesh(form: Form, index: int, levels: list[float]) -> trimesh.Trimesh:
    verts: list[npt.NDArray[np.float64]] = []
    faces: list[IntArray] = []
    shell_starts: list[int] = []
    hole_starts: list[list[int]] = []
    count = 0
    for z in levels:
        shell, holes = form.outlines(z)[index]
        shell_starts.append(count)
        verts.append(np.column_stack((shell, np.full(len(shell), z))))
        count += len(shell)
        starts = []
        for hole in holes:
            starts.append(count)
            verts.append(np.column_stack((hole, np.full(len(hole), z))))
            count += len(hole)
        hole_starts.append(starts)
    n = len(form.outlines(levels[0])[index][0])
    for k in range(len(levels) - 1):
        faces.append(_side_faces(shell_starts[k], shell_starts[k + 1], n))
        for h0, h1 in zip(hole_starts[k], hole_starts[k + 1], strict=True):
            faces.append(_side_faces(h0, h1, n))
    if hole_starts[0]:
        if len(hole_starts[0]) != 1:
            raise GeometryError(f"{form.template}: only one hole per outline is supported")
        faces.append(_strip(shell_starts[0], hole_starts[0][0], n, up=False))
        faces.append(_strip(shell_starts[-1], hole_starts[-1][0], n, up=True))
    else:
        for start, z, up in (
            (shell_starts[0], levels[0], False),
            (shell_starts[-1], levels[-1], True),
        ):
            shell = form.outlines(z)[index][0]
            verts.append(np.array([[*shell.mean(axis=0), z]]))
            faces.append(_fan(count, start, n, up))
            count += 1
    return trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=True)


def check_solid(mesh: trimesh.Trimesh, name: str) -> None:
    """Refuse a mesh that is not a closed, consistently wound, positive solid.

    Raises
    ------
    GeometryError
        If the mesh is not watertight, not winding-consistent, or has no volume.
    """
    if len(mesh.faces) == 0:
        raise GeometryError(f"{name}: the mesh has no triangles")
    if not mesh.is_watertight:
        raise GeometryError(f"{name}: the mesh is not watertight; its volume is undefined")
    if not mesh.is_winding_consistent:
        raise GeometryError(f"{name}: the mesh's triangles are not consistently wound")
    if not mesh.volume > 1e-9:
        raise GeometryError(f"{name}: the mesh encloses no volume ({mesh.volume:.3g} mm³)")


def form_mesh(form: Form) -> trimesh.Trimesh:
    """Build the watertight triangle mesh of a parametric form (mm, standing on z = 0).

    Raises
    ------
    GeometryError
        If the mesh that results is not a closed solid.
    """
    levels = form.mesh_levels()
    bodies = [_body_mesh(form, i, levels) for i in range(len(form.outlines(0.0)))]
    mesh: trimesh.Trimesh = bodies[0] if len(bodies) == 1 else trimesh.util.concatenate(bodies)  # type: ignore[assignment]
    if mesh.volume < 0:
        mesh.invert()
    check_solid(mesh, form.template)
    return mesh
