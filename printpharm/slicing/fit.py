"""Size a form so that its *sliced* toolpaths deposit the target volume.

:func:`printpharm.geometry.sizing.size_form` solves the dimensions on the
layered-area model, which is what the exact-tiling slicer deposits up to
rounding; this module slices the result, measures Σ length × width × height and
corrects the target of the geometric solve (secant steps) until the sliced
volume is within ``rel_tol`` of the target.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from printpharm.errors import SizingError
from printpharm.geometry.sizing import FormSpec, SizedForm, VolumeModel, size_form
from printpharm.geometry.tablet import Form, Outline, inset_area_mm2, polygon_area_mm2
from printpharm.slicing.infill import MIN_INFILL_GAP_MM
from printpharm.slicing.settings import ProcessSettings
from printpharm.slicing.toolpaths import SlicedUnit, slice_form

if TYPE_CHECKING:  # trimesh is imported only when a mesh is fitted (research mode)
    import trimesh

__all__ = ["FittedUnit", "fit_mesh", "fit_unit", "sliced_volume_model"]


@dataclass(frozen=True, eq=False)
class FittedUnit:
    """A sized form, its toolpaths and how close the sliced volume is to the target."""

    sized: SizedForm
    sliced: SlicedUnit
    target_volume_mm3: float

    @property
    def volume_mm3(self) -> float:
        """Deposited volume of the sliced unit (mm³)."""
        return self.sliced.volume_mm3

    @property
    def error_fraction(self) -> float:
        """(sliced − target) / target."""
        return self.sliced.volume_mm3 / self.target_volume_mm3 - 1.0


def fit_unit(
    spec: FormSpec,
    target_volume_mm3: float,
    process: ProcessSettings,
    rel_tol: float = 2e-4,
    max_rounds: int = 8,
) -> FittedUnit:
    """Size and slice a unit whose deposited volume matches ``target_volume_mm3``.

    Parameters
    ----------
    spec : FormSpec
        Template, bounds and strategy.
    target_volume_mm3 : float
        Volume the unit must deposit (mm³).
    process : ProcessSettings
        Layer height, line width, perimeters and infill.
    rel_tol : float
        Accepted relative error of the sliced volume.
    max_rounds : int
        Slicing rounds before giving up.

    Raises
    ------
    SizingError
        If no size inside the bounds holds the target, or the sliced volume
        cannot be brought within ``rel_tol`` (never a plausible wrong unit).
    """
    layering = process.layering
    name = spec.label or spec.reference.template
    if spec.max_volume_mm3 is not None and target_volume_mm3 > spec.max_volume_mm3:
        raise SizingError(
            f"a {target_volume_mm3:.1f} mm³ unit exceeds the {spec.max_volume_mm3:.1f} mm³ "
            f"that the {name} can hold"
        )
    spec = dataclasses.replace(spec, max_volume_mm3=None)
    model = sliced_volume_model(process)
    goal = target_volume_mm3
    best: FittedUnit | None = None
    history: list[tuple[float, float]] = []  # (geometric target, sliced volume)
    for _ in range(max_rounds):
        sized = size_form(spec, goal, layering, model)
        sliced = slice_form(sized.form, process)
        fitted = FittedUnit(sized, sliced, target_volume_mm3)
        if best is None or abs(fitted.error_fraction) < abs(best.error_fraction):
            best = fitted
        if abs(fitted.error_fraction) <= rel_tol:
            return fitted
        history.append((goal, sliced.volume_mm3))
        goal = _next_goal(history, target_volume_mm3)
    assert best is not None
    raise SizingError(
        f"the sliced volume of the {name} stays "
        f"{best.error_fraction * 100:+.3f} % from the {target_volume_mm3:.3f} mm³ target after "
        f"{max_rounds} rounds (accepted: ±{rel_tol * 100:.3f} %); change the line width, layer "
        "height or bounds"
    )


def sliced_volume_model(process: ProcessSettings) -> VolumeModel:
    """Volume the slicer deposits for a form: per layer, h × (A − A_infill × (1 − density)).

    ``A_infill`` is the area left inside the perimeters (Steiner's formula for
    the mitre inset, :func:`printpharm.geometry.tablet.inset_area_mm2`); with
    100 % infill this is the layered area volume.
    """
    layering = process.layering

    def model(form: Form) -> float:
        layers = layering.nearest_count(form.height_mm)
        uniform_below = form.uniform_below_mm()
        cache: dict[tuple[bool, float], float] = {}
        total = 0.0
        for index, (z_mid, thickness) in enumerate(layering.slabs(layers)):
            density = _layer_density(index, layers, process)
            width = process.first_width_mm if index == 0 else process.line_width_mm
            key = (z_mid <= uniform_below, width)
            z = 0.0 if key[0] else z_mid
            if key[0] and key in cache:
                area, inner = cache[key], cache[(True, -width)]
            else:
                outlines = form.outlines(z)
                area = form.area_mm2(z)
                inner = sum(_inner_area(o, process.perimeters, width) for o in outlines)
                if key[0]:
                    cache[key], cache[(True, -width)] = area, inner
            total += thickness * (area - inner * (1.0 - density))
        return total

    return model


def _inner_area(outline: Outline, perimeters: int, width: float) -> float:
    """Area left for infill inside the perimeters that fit (as the slicer chooses them:
    the most that leave a region at least ``MIN_INFILL_GAP_MM`` wide)."""
    for k in range(perimeters, 0, -1):
        if inset_area_mm2(outline, k * width + MIN_INFILL_GAP_MM / 2) > 0:
            return inset_area_mm2(outline, k * width)
    return polygon_area_mm2(outline[0]) + sum(polygon_area_mm2(h) for h in outline[1])


def _layer_density(index: int, layers: int, process: ProcessSettings) -> float:
    solid = index < process.solid_bottom_layers or index >= layers - process.solid_top_layers
    return 1.0 if solid else process.infill_density


def _next_goal(history: list[tuple[float, float]], target: float) -> float:
    goal, sliced = history[-1]
    if len(history) >= 2:
        prev_goal, prev_sliced = history[-2]
        if sliced != prev_sliced and goal != prev_goal:
            slope = (sliced - prev_sliced) / (goal - prev_goal)
            if slope > 0.2:
                return goal + (target - sliced) / slope
    return goal * target / sliced


def fit_mesh(
    mesh: trimesh.Trimesh,
    target_volume_mm3: float,
    process: ProcessSettings,
    rel_tol: float = 2e-4,
) -> FittedUnit:
    """Scale an imported solid (research mode) so that its sliced toolpaths hold the target.

    The mesh is scaled uniformly to the target volume, sliced into the whole
    layers that fit under its top, then scaled in x and y only (areas scale with
    the square of that factor) until the sliced volume is within ``rel_tol``.

    Raises
    ------
    GeometryError
        If the mesh is not a closed solid standing on the bed.
    SizingError
        If the sliced volume cannot be brought within ``rel_tol``.
    """
    from printpharm.geometry.mesh import check_solid
    from printpharm.geometry.stl import MeshForm

    check_solid(mesh, "imported mesh")
    if not (math.isfinite(target_volume_mm3) and target_volume_mm3 > 0):
        raise SizingError(f"target volume {target_volume_mm3} mm³ must be positive")
    scaled = mesh.copy()
    factor = (target_volume_mm3 / float(mesh.volume)) ** (1.0 / 3.0)
    scaled.apply_transform(np.diag([factor, factor, factor, 1.0]))
    scaled.apply_translation([0.0, 0.0, -float(scaled.bounds[0][2])])
    for _ in range(6):
        sliced = slice_form(MeshForm(scaled), process)
        ratio = target_volume_mm3 / sliced.volume_mm3
        if abs(ratio - 1.0) <= rel_tol:
            form = MeshForm(scaled)
            sized = SizedForm(form, len(sliced.layers), sliced.volume_mm3, target_volume_mm3)
            return FittedUnit(sized, sliced, target_volume_mm3)
        xy = math.sqrt(ratio)
        scaled.apply_transform(np.diag([xy, xy, 1.0, 1.0]))
    raise SizingError(
        f"the sliced volume of the imported mesh stays {(1 / ratio - 1) * 100:+.3f} % from "
        f"the {target_volume_mm3:.3f} mm³ target"
    )
