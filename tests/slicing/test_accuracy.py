"""The dose IS the volume: every unit of every template, analysed from the written G-code.

For each template, with SSE-like and FDM-like settings, at 20 volumes across
its range: each unit's deposited volume (read back from the G-code by the
independent analyser) is within ±0.5 % of the target, the units of a plate
agree within ±0.1 %, the dimensions stay inside the bounds, and above the first
layer ≥ 95 % of printing moves carry line width × layer height per mm (±5 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from printpharm.geometry.plate import layout_plate
from printpharm.slicing.analysis import analyse_gcode
from printpharm.slicing.fit import fit_unit
from printpharm.slicing.gcode import write_plate
from printpharm.slicing.settings import MachineSettings, ProcessSettings

from .conftest import FDM_MACHINE, FDM_PROCESS, SPECS, SSE_MACHINE, SSE_PROCESS

DOSES = 20
SETTINGS = {"sse": (SSE_PROCESS, SSE_MACHINE), "fdm": (FDM_PROCESS, FDM_MACHINE)}


@pytest.mark.parametrize("kind", list(SETTINGS))
@pytest.mark.parametrize("template", list(SPECS))
def test_every_unit_deposits_its_target(template: str, kind: str) -> None:
    spec, low, high = SPECS[template]
    process, machine = SETTINGS[kind]
    if kind == "fdm":
        high *= 0.55  # sparse infill: the same bounds hold about half the volume
    for target in np.linspace(low, high, DOSES):
        fitted = fit_unit(spec, float(target), process)
        dims = fitted.sized.form.dimensions()
        for name, (lo, hi) in spec.bounds.items():
            assert lo - 1e-9 <= dims[name] <= hi + 1e-9, (template, target, name, dims[name])
        footprint = fitted.sized.form.footprint(0.0)
        layout = layout_plate(footprint, 2, machine.bed_x_mm, machine.bed_y_mm)
        text = write_plate(fitted.sliced, layout.offsets_mm, machine, process, float(target))
        analysis = analyse_gcode(text)
        volumes = [analysis.units[n].volume_mm3 for n in (1, 2)]
        for volume in volumes:
            assert abs(volume / target - 1) <= 0.005, (template, kind, target, volume)
        assert (max(volumes) - min(volumes)) / target <= 0.001
        _assert_flow_from_geometry(analysis.printing, process)


def _assert_flow_from_geometry(printing: np.ndarray, process: ProcessSettings) -> None:
    z = printing[:, 1]
    above = printing[z > process.first_height_mm + 1e-6]
    per_mm = above[:, 3] / above[:, 2]
    nominal = process.line_width_mm * process.layer_height_mm
    within = np.abs(per_mm / nominal - 1) <= 0.05
    assert within.mean() >= 0.95, within.mean()


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_first_layer_uses_its_own_bead(kind: str) -> None:
    process, machine = SETTINGS[kind]
    fitted = fit_unit(SPECS["disc"][0], 200.0, process)
    analysis = analyse_gcode(write_plate(fitted.sliced, [(100.0, 100.0)], machine, process))
    first = analysis.printing[np.isclose(analysis.printing[:, 1], process.first_height_mm)]
    per_mm = np.median(first[:, 3] / first[:, 2])
    assert per_mm == pytest.approx(process.first_width_mm * process.first_height_mm, rel=0.01)


def test_machine_types_are_plain_settings() -> None:
    # phase 1 takes no catalog: the settings are ordinary frozen dataclasses
    assert isinstance(SSE_MACHINE, MachineSettings) and isinstance(SSE_PROCESS, ProcessSettings)
