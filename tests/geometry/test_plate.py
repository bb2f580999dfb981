"""Plate layout: clearance, bed limits, refusal with the count that fits."""

from __future__ import annotations

import itertools

import pytest
import shapely
from shapely import affinity

from printpharm.errors import GeometryError
from printpharm.geometry.plate import layout_plate
from printpharm.geometry.tablet import Caplet, Disc


def test_units_keep_their_clearance_and_stay_on_the_bed() -> None:
    footprint = Caplet(14, 7, 3).footprint(0.0)
    layout = layout_plate(footprint, 30, 200, 200, clearance_mm=5, margin_mm=5)
    placed = [affinity.translate(footprint, dx, dy) for dx, dy in layout.offsets_mm]
    bed = shapely.box(5, 5, 195, 195)
    assert all(bed.covers(p) for p in placed)
    for a, b in itertools.combinations(placed, 2):
        assert a.distance(b) >= 5 - 1e-9


def test_too_many_units_are_refused_saying_how_many_fit() -> None:
    footprint = Disc(20, 3).footprint(0.0)
    with pytest.raises(GeometryError, match=r"do not fit .* 49 fit") as info:
        layout_plate(footprint, 50, 200, 200)
    assert "50 units" in str(info.value)
    assert layout_plate(footprint, 49, 200, 200).capacity == 49


def test_keepout_is_respected() -> None:
    footprint = Disc(10, 3).footprint(0.0)
    keepout = shapely.box(0, 0, 200, 40)
    layout = layout_plate(footprint, 10, 200, 200, keepout=keepout)
    for dx, dy in layout.offsets_mm:
        assert affinity.translate(footprint, dx, dy).distance(keepout) >= 5 - 1e-9


def test_bad_counts_are_refused() -> None:
    with pytest.raises(GeometryError, match="units=0"):
        layout_plate(Disc(10, 3).footprint(0.0), 0, 200, 200)
