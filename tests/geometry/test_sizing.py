"""Sizing: bounds, whole layers, the free dimension, and errors naming the bound."""

from __future__ import annotations

import math

import pytest

from printpharm.errors import GeometryError, SizingError
from printpharm.geometry.sizing import (
    FormSpec,
    Layering,
    capsule_fill_spec,
    layered_area_volume,
    size_form,
)
from printpharm.geometry.tablet import Caplet, Disc, MiniTablets, Ring

LAYERING = Layering(0.3, 0.25)
DISC = FormSpec(Disc(10, 3), {"diameter_mm": (6, 12), "height_mm": (1.5, 5)})
CAPLET = FormSpec(
    Caplet(14, 7, 4, 1, "round"),
    {"length_mm": (8, 20), "width_mm": (4, 9), "height_mm": (2, 6)},
    strategy="uniform_scale",
    free_dimension="length_mm",
)
RING = FormSpec(
    Ring(12, 5, 3),
    {"outer_diameter_mm": (8, 16), "inner_diameter_mm": (2.5, 6), "height_mm": (1.5, 5)},
    strategy="uniform_scale",
    free_dimension="outer_diameter_mm",
)
MINI = FormSpec(
    MiniTablets(2.5, 2, 5), {"diameter_mm": (1.5, 4), "height_mm": (1, 4)}, strategy="uniform_scale"
)


def _whole_layers(height_mm: float) -> bool:
    n = (height_mm - LAYERING.first_layer_mm) / LAYERING.layer_mm
    return abs(n - round(n)) < 1e-9


@pytest.mark.parametrize("spec", [DISC, CAPLET, RING, MINI], ids=lambda s: s.reference.template)
@pytest.mark.parametrize("volume", [80.0, 120.0, 200.0, 300.0])
def test_sized_form_holds_the_volume_inside_its_bounds(spec: FormSpec, volume: float) -> None:
    if spec is MINI:
        volume /= 2  # five discs of at most 4 mm hold less
    sized = size_form(spec, volume, LAYERING)
    assert layered_area_volume(LAYERING)(sized.form) == pytest.approx(volume, rel=1e-9)
    assert _whole_layers(sized.form.height_mm)
    dims = sized.form.dimensions()
    for name, (low, high) in spec.bounds.items():
        assert low - 1e-9 <= dims[name] <= high + 1e-9, (name, dims[name])


def test_solve_height_keeps_the_footprint_close_to_the_reference() -> None:
    sized = size_form(DISC, 235.0, LAYERING)
    assert sized.form.diameter_mm == pytest.approx(10.0, abs=0.5)  # type: ignore[attr-defined]


def test_uniform_scale_keeps_the_aspect() -> None:
    sized = size_form(CAPLET, 300.0, LAYERING).form
    assert sized.width_mm / sized.height_mm == pytest.approx(7 / 4, rel=0.1)  # type: ignore[attr-defined]


def test_too_large_a_dose_names_the_bound_and_the_need() -> None:
    with pytest.raises(SizingError) as info:
        size_form(DISC, 720.0, LAYERING)
    text = str(info.value)
    assert text.startswith("a 720.0 mm³ unit needs a 13.8 mm disc (diameter_mm)")
    assert "the bounds allow at most 12.0 mm" in text
    # the need is real: a 13.8 mm disc at the maximum height holds the dose
    assert layered_area_volume(LAYERING)(Disc(13.8, 4.8)) == pytest.approx(720, rel=0.01)


def test_too_small_a_dose_names_the_lower_bound() -> None:
    with pytest.raises(SizingError, match=r"minimum height .* at least 6.0 mm"):
        size_form(DISC, 30.0, LAYERING)


def test_capsule_fill_is_bounded_by_the_capsule() -> None:
    spec = capsule_fill_spec("0")
    sized = size_form(spec, 400.0, LAYERING)
    assert sized.form.diameter_mm <= 7.34 - 0.2 - 0.2 + 1e-9  # type: ignore[attr-defined]
    assert sized.form.height_mm <= 18.44
    with pytest.raises(SizingError, match="exceeds the 680.0 mm³ that the size 0 capsule fill"):
        size_form(spec, 700.0, LAYERING)


@pytest.mark.parametrize("volume", [-1.0, 0.0, math.nan, math.inf])
def test_nonsense_targets_are_refused(volume: float) -> None:
    with pytest.raises(SizingError, match="must be positive"):
        size_form(DISC, volume, LAYERING)


def test_spec_refuses_a_bad_free_dimension_or_bound() -> None:
    with pytest.raises(GeometryError, match="free_dimension='height_mm'"):
        FormSpec(Disc(10, 3), {}, free_dimension="height_mm")
    with pytest.raises(GeometryError, match="bound width_mm"):
        FormSpec(Disc(10, 3), {"width_mm": (1, 2)})


def test_height_bounds_without_a_whole_layer_are_refused() -> None:
    spec = FormSpec(Disc(10, 3), {"diameter_mm": (6, 12), "height_mm": (1.56, 1.7)})
    with pytest.raises(SizingError, match="no whole number"):
        size_form(spec, 100.0, LAYERING)


def test_layering_arithmetic() -> None:
    assert LAYERING.height_of(4) == pytest.approx(1.05)
    assert LAYERING.nearest_count(1.05) == 4
    assert LAYERING.layers_within(1.0, 1.6) == (4, 6)
    slabs = LAYERING.slabs(3)
    assert slabs[0] == (0.15, 0.3) and slabs[2] == pytest.approx((0.675, 0.25))
    with pytest.raises(GeometryError, match="layer_mm=0"):
        Layering(0.2, 0.0)


def test_linked_dimensions_keep_their_ratio() -> None:
    spec = FormSpec(
        Caplet(14, 7, 4),
        {"width_mm": (6, 8), "height_mm": (0.5, 8.5)},
        free_dimension="width_mm",
        linked={"length_mm": ("width_mm", 2.0)},
    )
    for volume in (80.0, 300.0, 650.0):
        form = size_form(spec, volume, LAYERING).form
        assert form.length_mm == pytest.approx(2 * form.width_mm)  # type: ignore[attr-defined]
        assert layered_area_volume(LAYERING)(form) == pytest.approx(volume, rel=1e-9)
