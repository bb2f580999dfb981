"""printpharm needs neither SciPy nor trimesh's graph helpers (networkx, rtree).

They are not dependencies (the bundle is 70 MB smaller without SciPy), but a
developer's environment may still have them, and trimesh uses them when they are
there. So every feature that touches meshes or statistics runs here in a fresh
interpreter in which importing them fails, as on a machine without them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ABSENT = ("scipy", "networkx", "rtree")

_BLOCKER = f"""
import sys
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {ABSENT!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Absent())
"""


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = (
        _BLOCKER
        + textwrap.dedent(code)
        + f"\nassert not [m for m in sys.modules if m.split('.')[0] in {ABSENT!r}]\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_plan_with_stl_export_and_the_3d_view_need_no_scipy(tmp_path: Path) -> None:
    proc = _run(
        """
        from printpharm.cli import main
        from printpharm.catalog import load_catalog
        from printpharm.services.run.planning import plan_batch
        from printpharm.services.station.batch import unit_mesh
        from printpharm.geometry.stl import load_stl
        assert main(["plan", "--recipe", "propranolol-ring", "--dose-mg", "10", "--units", "3",
                     "--out", "p.gcode", "--stl", "u.stl"]) == 0
        assert load_stl("u.stl").is_watertight
        view = unit_mesh(plan_batch(load_catalog(), "sildenafil-caplet", "10", 1))
        assert len(view.faces) > 100
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_imported_stl_sections_and_fit_need_no_scipy(tmp_path: Path) -> None:
    proc = _run(
        """
        from printpharm.geometry.mesh import form_mesh
        from printpharm.geometry.stl import MeshForm, load_stl, save_stl
        from printpharm.geometry.tablet import Caplet, Ring
        from printpharm.slicing.fit import fit_mesh
        from printpharm.slicing.settings import ProcessSettings
        ring = Ring(10.0, 4.0, 3.0)
        section = MeshForm(load_stl(save_stl(form_mesh(ring), "r.stl"))).footprint(1.5)
        assert len(section.interiors) == 1
        assert abs(section.area - ring.area_mm2(1.5)) < 1e-6
        mesh = load_stl(save_stl(form_mesh(Caplet(14, 7, 4, 1, "round")), "c.stl"))
        fitted = fit_mesh(mesh, 250.0, ProcessSettings(layer_height_mm=0.4, line_width_mm=0.8))
        assert abs(fitted.volume_mm3 / 250.0 - 1) < 2e-4
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_calibration_prediction_interval_needs_no_scipy(tmp_path: Path) -> None:
    proc = _run(
        """
        from printpharm.core.calibration import fit_calibration
        fit = fit_calibration([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
        low, high = fit.prediction_interval(2.0, confidence=0.95)
        half = 12.706204736174703 * 1.5 ** 0.5 * (4 / 3) ** 0.5
        assert abs(low - (2.0 - half)) < 1e-9 and abs(high - (2.0 + half)) < 1e-9
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
