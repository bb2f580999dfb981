"""Settings and specs shared by the slicing tests: SSE-like and FDM-like processes."""

from __future__ import annotations

from printpharm.geometry.sizing import FormSpec, capsule_fill_spec
from printpharm.geometry.tablet import Caplet, Disc, MiniTablets, Ring
from printpharm.slicing.settings import Extrusion, MachineSettings, ProcessSettings

SSE_PROCESS = ProcessSettings(
    layer_height_mm=0.25,
    first_layer_height_mm=0.3,
    line_width_mm=0.6,
    first_layer_line_width_mm=0.7,
    perimeters=2,
    infill_density=1.0,
    print_speed_mm_s=10,
    first_layer_speed_mm_s=5,
    retract_mm=0.2,
    z_hop_mm=1.0,
)
FDM_PROCESS = ProcessSettings(
    layer_height_mm=0.2,
    line_width_mm=0.45,
    perimeters=2,
    infill_pattern="grid",
    infill_density=0.4,
    solid_bottom_layers=2,
    solid_top_layers=2,
    print_speed_mm_s=30,
    first_layer_speed_mm_s=15,
    retract_mm=0.8,
    retract_speed_mm_s=35,
    z_hop_mm=0.2,
)
SSE_MACHINE = MachineSettings("marlin_sse", Extrusion("plunger_mm", 4.78, relative=True))
FDM_MACHINE = MachineSettings(
    "marlin_fdm",
    Extrusion("filament_mm", 1.75, relative=False),
    nozzle_temp_c=190,
    bed_temp_c=60,
    bed_x_mm=220,
    bed_y_mm=220,
)

#: (spec, smallest and largest volume the bounds can hold comfortably, mm³)
SPECS: dict[str, tuple[FormSpec, float, float]] = {
    "disc": (FormSpec(Disc(10, 3), {"diameter_mm": (5, 14), "height_mm": (1.5, 6)}), 60, 600),
    "disc_round_edge": (
        FormSpec(
            Disc(10, 3, 0.8, "round"),
            {"diameter_mm": (5, 14), "height_mm": (1.5, 6)},
            strategy="uniform_scale",
        ),
        60,
        600,
    ),
    "caplet": (
        FormSpec(
            Caplet(14, 7, 4, 1, "round"),
            {"length_mm": (8, 20), "width_mm": (4, 9), "height_mm": (2, 6)},
            strategy="uniform_scale",
            free_dimension="length_mm",
        ),
        70,
        600,
    ),
    "ring": (
        FormSpec(
            Ring(12, 5, 3),
            {"outer_diameter_mm": (8, 16), "inner_diameter_mm": (2.5, 6), "height_mm": (1.5, 5)},
            strategy="uniform_scale",
            free_dimension="outer_diameter_mm",
        ),
        80,
        500,
    ),
    "mini_tablets": (
        FormSpec(
            MiniTablets(2.5, 2, 5),
            {"diameter_mm": (1.5, 4.5), "height_mm": (1, 4)},
            strategy="uniform_scale",
        ),
        30,
        200,
    ),
    "capsule_fill": (capsule_fill_spec("1"), 60, 480),
}
