"""Size a dosage form to a target volume: bounds, whole layers, then a free dimension.

The strategy of a :class:`FormSpec` gives a first guess (keep the reference
footprint and solve the height, or scale the reference uniformly), the height
is quantised to whole layers, and the *free* footprint dimension is solved so
that the volume model - by default the layered area volume, which is what the
exact-tiling slicer deposits; the slicer passes its own model - equals the
target. No solution inside the bounds raises :class:`SizingError` naming the
bound and the size that would be needed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from printpharm.core.roots import illinois
from printpharm.errors import GeometryError, SizingError
from printpharm.geometry.capsules import capsule_body
from printpharm.geometry.tablet import CapsuleFill, Form

__all__ = [
    "FormSpec",
    "Layering",
    "SizedForm",
    "Strategy",
    "VolumeModel",
    "capsule_fill_spec",
    "layered_area_volume",
    "size_form",
    "solve_increasing",
]

Strategy = Literal["solve_height", "uniform_scale"]
#: A volume model: (form whose height is a whole number of layers) -> volume (mm³).
VolumeModel = Callable[[Form], float]


@dataclass(frozen=True)
class Layering:
    """Layer heights: a first layer, then equal layers (mm)."""

    first_layer_mm: float
    layer_mm: float

    def __post_init__(self) -> None:
        for name in ("first_layer_mm", "layer_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.01 <= value <= 5.0):
                raise GeometryError(f"layering: {name}={value} must be within 0.01 to 5 mm")

    def height_of(self, layers: int) -> float:
        """Total height (mm) of ``layers`` whole layers."""
        return self.first_layer_mm + (layers - 1) * self.layer_mm

    def nearest_count(self, height_mm: float) -> int:
        """Whole number of layers (>= 1) whose height is nearest to ``height_mm``."""
        return max(1, round((height_mm - self.first_layer_mm) / self.layer_mm) + 1)

    def layers_within(self, low_mm: float, high_mm: float) -> tuple[int, int]:
        """Smallest and largest layer counts whose height lies in [low, high] (mm)."""
        eps = 1e-9
        lo = max(1, math.ceil((low_mm - self.first_layer_mm) / self.layer_mm - eps) + 1)
        hi = math.floor((high_mm - self.first_layer_mm) / self.layer_mm + eps) + 1
        return lo, hi

    def slabs(self, layers: int) -> list[tuple[float, float]]:
        """(mid-height, thickness) of each layer from the bed up (mm)."""
        out = [(self.first_layer_mm / 2, self.first_layer_mm)]
        for i in range(1, layers):
            out.append((self.first_layer_mm + (i - 0.5) * self.layer_mm, self.layer_mm))
        return out


@dataclass(frozen=True)
class FormSpec:
    """A template with its reference size, bounds and sizing strategy.

    Attributes
    ----------
    reference : Form
        The shape at a reference size (its proportions and fixed dimensions).
    bounds : Mapping[str, tuple[float, float]]
        Allowed (min, max) of dimensions by field name (mm); ``height_mm`` and
        the free dimension should be bounded.
    strategy : {"solve_height", "uniform_scale"}
        Keep the reference footprint and solve the height, or scale every
        dimension except ``fixed`` by the same factor.
    free_dimension : str
        The footprint dimension solved last so that the volume hits the target.
    fixed : tuple of str
        Dimensions never scaled (e.g. the gap between mini-tablets).
    max_volume_mm3 : float or None
        A hard volume limit (capsule capacity).
    label : str
        Name used in messages (default: the template name).
    linked : Mapping[str, tuple[str, float]]
        Dimensions kept proportional to another: ``{"length_mm": ("width_mm", 2.0)}``
        keeps a caplet's length twice its width while the width is solved.
    """

    reference: Form
    bounds: Mapping[str, tuple[float, float]]
    strategy: Strategy = "solve_height"
    free_dimension: str = "diameter_mm"
    fixed: tuple[str, ...] = ("gap_mm", "count")
    max_volume_mm3: float | None = None
    label: str = field(default="")
    linked: Mapping[str, tuple[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dims = self.reference.dimensions()
        if self.free_dimension not in dims or self.free_dimension == "height_mm":
            raise GeometryError(
                f"{self.reference.template}: free_dimension={self.free_dimension!r} must be a "
                f"footprint dimension of the form ({', '.join(sorted(dims))} but not height_mm)"
            )
        for name, (low, high) in self.bounds.items():
            if name not in dims or not 0.0 <= low <= high:
                raise GeometryError(
                    f"{self.reference.template}: bound {name}=({low}, {high}) is not a valid "
                    "range of one of the form's dimensions"
                )

    def bound(self, name: str) -> tuple[float, float]:
        """(min, max) of a dimension; unbounded dimensions give (0, inf)."""
        return self.bounds.get(name, (0.0, math.inf))


@dataclass(frozen=True)
class SizedForm:
    """A form sized to a target: its layers and the model volume it yields."""

    form: Form
    layers: int
    model_volume_mm3: float
    target_volume_mm3: float


def layered_area_volume(layering: Layering) -> VolumeModel:
    """The volume model of an exactly tiled slice: Σ layer thickness × area at mid-height."""

    def model(form: Form) -> float:
        layers = layering.nearest_count(form.height_mm)
        uniform_below = form.uniform_below_mm()
        base_area = form.area_mm2(0.0)
        total = 0.0
        for z_mid, thickness in layering.slabs(layers):
            area = base_area if z_mid <= uniform_below else form.area_mm2(z_mid)
            total += thickness * area
        return total

    return model


def solve_increasing(
    fn: Callable[[float], float], target: float, low: float, high: float, rel_tol: float = 1e-9
) -> float:
    """Solve ``fn(x) = target`` for an increasing ``fn`` bracketed by [low, high]."""
    return illinois(
        lambda x: fn(x) - target,
        low,
        high,
        f_tol=rel_tol * abs(target),
        x_tol=1e-12 * max(1.0, abs(high)),
    )


def _first_guess(spec: FormSpec, target: float, layering: Layering, model: VolumeModel) -> Form:
    ref = spec.reference
    ref_layers = layering.nearest_count(ref.height_mm)
    ref = dataclasses.replace(ref, height_mm=layering.height_of(ref_layers))  # type: ignore[type-var]
    ref_volume = model(ref)
    if spec.strategy == "solve_height":
        return dataclasses.replace(ref, height_mm=ref.height_mm * target / ref_volume)  # type: ignore[type-var]
    scale = (target / ref_volume) ** (1.0 / 3.0)
    changes: dict[str, float] = {}
    for name, value in ref.dimensions().items():
        if name in spec.fixed:
            continue
        low, high = spec.bound(name)
        scaled = value * scale
        changes[name] = scaled if name == spec.free_dimension else min(max(scaled, low), high)
    return _with_links(spec, ref, changes)


def _with_links(spec: FormSpec, base: Form, changes: dict[str, float]) -> Form:
    """``base`` with ``changes``, then every linked dimension set from its source."""
    values = {**base.dimensions(), **changes}
    for name, (source, factor) in spec.linked.items():
        changes[name] = values[source] * factor
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


def size_form(
    spec: FormSpec,
    target_volume_mm3: float,
    layering: Layering,
    model: VolumeModel | None = None,
) -> SizedForm:
    """Dimensions of ``spec``'s form whose model volume equals the target.

    Parameters
    ----------
    spec : FormSpec
        Template, bounds and strategy.
    target_volume_mm3 : float
        Volume the unit must hold (mm³).
    layering : Layering
        Layer heights; the height is a whole number of layers.
    model : callable, optional
        Volume model (form -> mm³); default :func:`layered_area_volume`.

    Raises
    ------
    SizingError
        If no whole number of layers and free dimension inside the bounds hold
        the target; the message names the bound and what would be needed.
    """
    name = spec.label or spec.reference.template
    if not (math.isfinite(target_volume_mm3) and target_volume_mm3 > 0):
        raise SizingError(f"{name}: target volume {target_volume_mm3} mm³ must be positive")
    if spec.max_volume_mm3 is not None and target_volume_mm3 > spec.max_volume_mm3:
        raise SizingError(
            f"a {target_volume_mm3:.1f} mm³ unit exceeds the {spec.max_volume_mm3:.1f} mm³ "
            f"that the {name} can hold"
        )
    volume = model or layered_area_volume(layering)
    guess = _first_guess(spec, target_volume_mm3, layering, volume)
    n_lo, n_hi = layering.layers_within(*spec.bound("height_mm"))
    if n_lo > n_hi or n_hi > 100000:
        raise SizingError(
            f"{name}: the height bounds {spec.bound('height_mm')} mm hold no whole "
            f"number of {layering.layer_mm} mm layers"
        )
    n0 = min(max(layering.nearest_count(guess.height_mm), n_lo), n_hi)
    f_lo, f_hi = spec.bound(spec.free_dimension)

    def build(free: float, layers: int) -> Form:
        changes = {spec.free_dimension: free, "height_mm": layering.height_of(layers)}
        return _with_links(spec, guess, changes)

    f_lo = _lowest_valid(build, f_lo, f_hi, n0)
    for layers in sorted(range(n_lo, n_hi + 1), key=lambda n: (abs(n - n0), n)):
        v_lo, v_hi = volume(build(f_lo, layers)), volume(build(f_hi, layers))
        if v_lo <= target_volume_mm3 <= v_hi:
            free = solve_increasing(
                functools.partial(_volume_at, volume, build, layers), target_volume_mm3, f_lo, f_hi
            )
            form = build(free, layers)
            return SizedForm(form, layers, volume(form), target_volume_mm3)
    raise _no_fit(spec, name, target_volume_mm3, layering, volume, build, (n_lo, n_hi))


def _volume_at(
    volume: VolumeModel, build: Callable[[float, int], Form], layers: int, free: float
) -> float:
    return volume(build(free, layers))


def _lowest_valid(
    build: Callable[[float, int], Form], low: float, high: float, layers: int
) -> float:
    """Smallest free value in [low, high] that builds a valid form (e.g. caplet length >= width)."""
    try:
        build(low, layers)
        return low
    except GeometryError:
        pass
    try:
        build(high, layers)
    except GeometryError:
        return low  # nothing valid: let the caller report the bounds
    for _ in range(60):
        mid = 0.5 * (low + high)
        try:
            build(mid, layers)
            high = mid
        except GeometryError:
            low = mid
    return high


def _no_fit(
    spec: FormSpec,
    name: str,
    target: float,
    layering: Layering,
    volume: VolumeModel,
    build: Callable[[float, int], Form],
    layer_range: tuple[int, int],
) -> SizingError:
    free = spec.free_dimension
    f_lo, f_hi = spec.bound(free)
    n_lo, n_hi = layer_range
    too_big = volume(build(f_hi, n_hi)) < target
    layers, edge = (n_hi, f_hi) if too_big else (n_lo, f_lo)
    height = layering.height_of(layers)
    which = "maximum" if too_big else "minimum"
    try:
        wide = f_hi * 10 if too_big else max(f_lo, 1e-3)
        low = f_hi if too_big else _lowest_valid(build, 1e-3, f_lo, layers)
        need = solve_increasing(lambda f: volume(build(f, layers)), target, low, wide)
        need_text = f"a {need:.1f} mm {name} ({free})"
    except GeometryError:
        need_text = f"a {name} with a different {free}"
    limit = "at most" if too_big else "at least"
    if not too_big and volume(build(f_lo, n_lo)) <= target:
        return SizingError(
            f"a {target:.1f} mm³ unit falls between two whole layer counts of the {name} within "
            f"the bounds ({free} {f_lo:.1f} to {f_hi:.1f} mm); widen the {free} bounds"
        )
    return SizingError(
        f"a {target:.1f} mm³ unit needs {need_text} at the {which} height {height:.2f} mm; "
        f"the bounds allow {limit} {edge:.1f} mm"
    )


def capsule_fill_spec(
    size: str, clearance_mm: float = 0.2, min_diameter_mm: float | None = None
) -> FormSpec:
    """Sizing spec of a fill column for a hard capsule body of ``size``.

    The column's diameter is at most the body's inner diameter minus
    ``clearance_mm``, its height at most the body length, its volume at most
    the capsule capacity (see :mod:`printpharm.geometry.capsules`).

    Raises
    ------
    GeometryError
        For an unknown capsule size or a clearance that leaves no diameter.
    """
    body = capsule_body(size)
    d_max = body.body_inner_diameter_mm - clearance_mm
    if d_max <= 0.5:
        raise GeometryError(f"capsule size {size}: clearance_mm={clearance_mm} leaves no diameter")
    d_min = min_diameter_mm if min_diameter_mm is not None else 0.8 * d_max
    return FormSpec(
        reference=CapsuleFill(diameter_mm=d_max, height_mm=body.body_length_mm / 2),
        bounds={"diameter_mm": (d_min, d_max), "height_mm": (0.5, body.body_length_mm)},
        strategy="solve_height",
        free_dimension="diameter_mm",
        max_volume_mm3=body.capacity_mm3,
        label=f"size {size} capsule fill",
    )
