"""Plain typed settings of the slicer and the G-code writer (no catalog needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from printpharm.core.flavours import FLAVOURS, FlavourName
from printpharm.errors import SlicingError
from printpharm.geometry.sizing import Layering

__all__ = [
    "EUnits",
    "Extrusion",
    "Flavour",
    "InfillPattern",
    "MachineSettings",
    "ProcessSettings",
]

EUnits = Literal["filament_mm", "plunger_mm", "mm3"]
Flavour = FlavourName  # the registry: printpharm.core.flavours
InfillPattern = Literal["rectilinear", "grid", "concentric"]


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise SlicingError(what)


@dataclass(frozen=True)
class Extrusion:
    """What the E axis means.

    Attributes
    ----------
    e_units : {"filament_mm", "plunger_mm", "mm3"}
        Millimetres of filament, millimetres of syringe plunger travel, or
        volumetric mm³ (firmware volumetric mode).
    diameter_mm : float
        Filament diameter or syringe inner diameter (mm); informative for mm3.
    relative : bool
        Relative E (M83) instead of absolute E (M82).
    """

    e_units: EUnits
    diameter_mm: float
    relative: bool = False

    def __post_init__(self) -> None:
        _require(
            self.e_units in ("filament_mm", "plunger_mm", "mm3"),
            f"extrusion: e_units={self.e_units!r} must be filament_mm, plunger_mm or mm3",
        )
        _require(
            math.isfinite(self.diameter_mm) and 0.1 <= self.diameter_mm <= 60.0,
            f"extrusion: diameter_mm={self.diameter_mm} must be within 0.1 to 60 mm",
        )

    @property
    def e_per_mm3(self) -> float:
        """E-axis units per mm³ of material."""
        if self.e_units == "mm3":
            return 1.0
        return 1.0 / (math.pi * self.diameter_mm**2 / 4.0)

    @property
    def e_decimals(self) -> int:
        """Decimals written for E so that one step is below 1e-4 mm³."""
        step_mm3 = 1e-4
        return max(3, min(8, math.ceil(-math.log10(step_mm3 * self.e_per_mm3))))


@dataclass(frozen=True)
class ProcessSettings:
    """How a unit is sliced and extruded (mm, mm/s; retraction in E-axis units)."""

    layer_height_mm: float = 0.2
    line_width_mm: float = 0.4
    first_layer_height_mm: float | None = None
    first_layer_line_width_mm: float | None = None
    perimeters: int = 2
    infill_pattern: InfillPattern = "rectilinear"
    infill_density: float = 1.0
    solid_bottom_layers: int = 0
    solid_top_layers: int = 0
    print_speed_mm_s: float = 10.0
    first_layer_speed_mm_s: float = 5.0
    travel_speed_mm_s: float = 50.0
    z_speed_mm_s: float = 5.0
    retract_mm: float = 0.0
    retract_speed_mm_s: float = 5.0
    retract_min_travel_mm: float = 1.0
    z_hop_mm: float = 0.0

    def __post_init__(self) -> None:
        h, w = self.layer_height_mm, self.line_width_mm
        _require(0.02 <= h <= 2.0, f"process: layer_height_mm={h} must be within 0.02 to 2 mm")
        _require(0.05 <= w <= 5.0, f"process: line_width_mm={w} must be within 0.05 to 5 mm")
        _require(h <= w, f"process: layer_height_mm={h} must not exceed line_width_mm={w}")
        _require(0 <= self.perimeters <= 20, f"process: perimeters={self.perimeters} not 0-20")
        _require(
            0.05 <= self.infill_density <= 1.0,
            f"process: infill_density={self.infill_density} must be within 0.05 to 1",
        )
        _require(
            self.infill_pattern in ("rectilinear", "grid", "concentric"),
            f"process: infill_pattern={self.infill_pattern!r} is unknown",
        )
        for name in (
            "print_speed_mm_s",
            "first_layer_speed_mm_s",
            "travel_speed_mm_s",
            "z_speed_mm_s",
            "retract_speed_mm_s",
        ):
            value = getattr(self, name)
            _require(0.1 <= value <= 1000, f"process: {name}={value} must be 0.1 to 1000 mm/s")
        _require(
            self.retract_mm >= 0 and self.z_hop_mm >= 0,
            "process: retract_mm and z_hop_mm must not be negative",
        )

    @property
    def first_height_mm(self) -> float:
        """Height of the first layer (mm)."""
        return self.first_layer_height_mm or self.layer_height_mm

    @property
    def first_width_mm(self) -> float:
        """Line width of the first layer (mm)."""
        return self.first_layer_line_width_mm or self.line_width_mm

    @property
    def layering(self) -> Layering:
        """The layer heights as geometry sees them."""
        return Layering(self.first_height_mm, self.layer_height_mm)


@dataclass(frozen=True)
class MachineSettings:
    """The printer: firmware flavour, bed, E axis, temperatures and motion limits.

    ``start_template``/``end_template`` name files in the template folder; empty
    means ``<flavour>_start.gcode`` / ``<flavour>_end.gcode``.
    """

    flavour: Flavour
    extrusion: Extrusion
    bed_x_mm: float = 200.0
    bed_y_mm: float = 200.0
    max_z_mm: float = 150.0
    nozzle_temp_c: float = 0.0
    bed_temp_c: float = 0.0
    acceleration_mm_s2: float = 1000.0
    park_x_mm: float = 0.0
    park_y_mm: float = 0.0
    park_lift_mm: float = 10.0
    purge_length_mm: float = 30.0
    clearance_mm: float = 5.0
    margin_mm: float = 5.0
    name: str = "printer"
    start_template: str = ""
    end_template: str = ""

    def __post_init__(self) -> None:
        _require(
            self.flavour in FLAVOURS,
            f"machine: flavour={self.flavour!r} is unknown; known: {', '.join(FLAVOURS)}",
        )
        _require(
            self.bed_x_mm > 0 and self.bed_y_mm > 0 and self.max_z_mm > 0,
            "machine: bed_x_mm, bed_y_mm and max_z_mm must be positive",
        )
        _require(self.acceleration_mm_s2 > 0, "machine: acceleration_mm_s2 must be positive")
        if self.extrusion.e_units == "mm3":
            _require(
                FLAVOURS[self.flavour].volumetric_e,
                f"machine: {FLAVOURS[self.flavour].label} has no volumetric E mode (M200); "
                "use filament_mm or plunger_mm",
            )
