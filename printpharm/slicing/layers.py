"""Layer regions of a form: exact template footprints, or mesh sections for imported STLs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

from printpharm.errors import SlicingError
from printpharm.geometry.sizing import Layering
from printpharm.geometry.tablet import Form

__all__ = ["LayerRegion", "slice_layers"]


@dataclass(frozen=True, eq=False)
class LayerRegion:
    """One layer: the nozzle height at its top, its thickness and its region (mm).

    Layers whose cross-section equals the bed's share the same ``region``
    object, so toolpaths can be computed once and reused.
    """

    index: int
    z_mm: float
    height_mm: float
    region: BaseGeometry


def slice_layers(form: Form, layering: Layering) -> list[LayerRegion]:
    """Cut a form into whole layers; each region is the section at mid-layer.

    A parametric form must be a whole number of layers high. An imported mesh
    (``template == "mesh"``) gets the whole layers that fit under its top.

    Raises
    ------
    SlicingError
        If the form's height is not a whole number of layers, or a layer is empty.
    """
    layers = layering.nearest_count(form.height_mm)
    if form.template == "mesh":  # an imported solid: whole layers that fit inside it
        layers = max(
            1, math.floor((form.height_mm - layering.first_layer_mm) / layering.layer_mm + 1e-9) + 1
        )
    elif abs(layering.height_of(layers) - form.height_mm) > 1e-6:
        raise SlicingError(
            f"{form.template}: height {form.height_mm:.4f} mm is not a whole number of layers "
            f"({layering.first_layer_mm} mm first layer, then {layering.layer_mm} mm)"
        )
    base = form.footprint(0.0)
    uniform_below = form.uniform_below_mm()
    out: list[LayerRegion] = []
    bottom = 0.0
    for index, (z_mid, thickness) in enumerate(layering.slabs(layers)):
        region = base if z_mid <= uniform_below else form.footprint(z_mid)
        if region.is_empty or region.area <= 0.0:
            raise SlicingError(f"{form.template}: layer {index} at z={z_mid:.3f} mm is empty")
        bottom += thickness
        out.append(LayerRegion(index, bottom, thickness, region))
    return out
