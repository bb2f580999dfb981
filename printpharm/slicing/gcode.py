"""G-code writers: Marlin FDM, Marlin syringe SSE, Klipper and RepRapFirmware.

A plate is written unit by unit: each unit is printed completely, delimited by
machine-readable comments and followed by a weigh point::

    ;PRINTPHARM UNIT_START n=3 of=10 target_mm3=123.4567 target_mg=...
    ...
    ;PRINTPHARM UNIT_END n=3
    G0 Z... (lift) / G0 X.. Y.. (park) / M400
    ;PRINTPHARM WEIGH n=3

Every printing move carries E = length × line width × layer height converted
to the E axis' unit; retractions (FDM) and suck-back (SSE) are restored inside
the same unit, so each unit's plunger/filament balance is its deposited volume.
Start/end code comes from ``gcode/templates/<flavour>_start.gcode`` with plain
``{name}`` substitution of named values (no evaluation). Lines are ASCII and at
most ``MAX_LINE_CHARS`` characters, so a host's ``N<n> `` prefix and ``*cs``
checksum keep them within Marlin's 96-character command buffer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from printpharm.core.flavours import FLAVOURS
from printpharm.errors import SlicingError
from printpharm.slicing.settings import MachineSettings, ProcessSettings
from printpharm.slicing.toolpaths import SlicedUnit

__all__ = ["MAX_LINE_CHARS", "TEMPLATE_DIR", "fill_template", "write_plate", "write_series"]

#: Longest line the writer emits (Marlin buffers 96 characters incl. "N123456 " and "*255").
MAX_LINE_CHARS = 80
#: Default folder of the start/end templates.
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "gcode" / "templates"
FloatArray = npt.NDArray[np.float64]
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def fill_template(text: str, values: Mapping[str, str], name: str = "template") -> list[str]:
    """Substitute ``{name}`` placeholders by named values; nothing is evaluated.

    Raises
    ------
    SlicingError
        If a placeholder has no value, the text is not ASCII, or a line is too long.
    """

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise SlicingError(f"{name}: placeholder {{{key}}} has no value")
        return values[key]

    lines = [_PLACEHOLDER.sub(sub, line.rstrip()) for line in text.splitlines()]
    for line in lines:
        _check_line(line, name)
    return lines


def _check_line(line: str, name: str) -> None:
    if not line.isascii():
        raise SlicingError(f"{name}: line {line!r} is not ASCII")
    if len(line) > MAX_LINE_CHARS:
        raise SlicingError(f"{name}: line {line[:40]!r}... is longer than {MAX_LINE_CHARS} chars")


def _num(value: float, decimals: int = 3) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _template_values(machine: MachineSettings, process: ProcessSettings) -> dict[str, str]:
    x0 = machine.margin_mm
    x1 = min(machine.bed_x_mm - machine.margin_mm, x0 + machine.purge_length_mm)
    purge_mm3 = (x1 - x0) * process.first_width_mm * process.first_height_mm
    e = machine.extrusion
    return {
        "printer": machine.name,
        "nozzle_temp_c": _num(machine.nozzle_temp_c, 0),
        "bed_temp_c": _num(machine.bed_temp_c, 0),
        "z_feed": _num(process.z_speed_mm_s * 60, 0),
        "travel_feed": _num(process.travel_speed_mm_s * 60, 0),
        "purge_feed": _num(process.first_layer_speed_mm_s * 60, 0),
        "purge_x0_mm": _num(x0),
        "purge_x1_mm": _num(x1),
        "purge_y_mm": _num(machine.margin_mm / 2),
        "purge_z_mm": _num(process.first_height_mm),
        "purge_e": _num(purge_mm3 * e.e_per_mm3, e.e_decimals),
        # a previous batch ends sucked back by up to one retraction: refill it first
        "reprime_e": _num(process.retract_mm, e.e_decimals),
        "park_x_mm": _num(machine.park_x_mm),
        "park_y_mm": _num(machine.park_y_mm),
        "park_lift_mm": _num(machine.park_lift_mm),
        "e_units": e.e_units,
        "diameter_mm": _num(e.diameter_mm, 4),
    }


def _load(template_dir: Path, name: str, values: Mapping[str, str]) -> list[str]:
    path = template_dir / name
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SlicingError(f"G-code template {path} cannot be read as ASCII: {exc}") from exc
    return fill_template(text, values, name)


class _UnitWriter:
    """Formats one unit's moves at an XY offset; E text is identical for every unit."""

    def __init__(self, unit: SlicedUnit, machine: MachineSettings, process: ProcessSettings):
        self.unit, self.machine, self.process = unit, machine, process
        ext = machine.extrusion
        self.relative = ext.relative
        self.e_dec = ext.e_decimals
        self.e_per_mm3 = ext.e_per_mm3
        self.retract = process.retract_mm
        self.travel_f = _num(process.travel_speed_mm_s * 60, 0)
        self.z_f = _num(process.z_speed_mm_s * 60, 0)
        self.retract_f = _num(process.retract_speed_mm_s * 60, 0)
        top = unit.layers[-1].z_mm if unit.layers else 0.0
        self.safe_z = top + machine.park_lift_mm
        self.program = self._compile()
        # A unit repeats its coordinates (every layer of the same outline): each distinct
        # value is formatted once per unit, and each line picks its texts by index.
        xs = dict.fromkeys(x for _, x, _, _ in self.program if not math.isnan(x))
        ys = dict.fromkeys(y for _, x, y, _ in self.program if not math.isnan(x))
        self._xs, self._ys = list(xs), list(ys)
        at_x = {v: i for i, v in enumerate(self._xs)}
        at_y = {v: i for i, v in enumerate(self._ys)}
        self._moves = [
            (head, at_x[x], at_y[y], tail) for head, x, y, tail in self.program if not math.isnan(x)
        ]
        self._plain = [head for head, x, _, _ in self.program if math.isnan(x)]
        self._is_move = [not math.isnan(x) for _, x, _, _ in self.program]

    def lines(self, dx: float, dy: float) -> list[str]:
        """The unit's G-code lines at offset (dx, dy) mm, starting with E = 0."""
        sx = [f"{x + dx:.3f}" for x in self._xs]
        sy = [f"{y + dy:.3f}" for y in self._ys]
        moves = iter([f"{head}X{sx[i]} Y{sy[j]}{tail}" for head, i, j, tail in self._moves])
        plain = iter(self._plain)
        return [next(moves) if is_move else next(plain) for is_move in self._is_move]

    def _compile(self) -> list[tuple[str, float, float, str]]:
        """The unit once, as (head, x, y, tail) pieces; x = NaN marks a line without XY."""
        nan = math.nan
        prog: list[tuple[str, float, float, str]] = [("G92 E0", nan, nan, "")]
        e = 0.0  # absolute E position (G92 E0 at the unit start)
        first = self.unit.layers[0].paths[0].points[0]
        prog.append(("G0 ", float(first[0]), float(first[1]), f" F{self.travel_f}"))
        pos = first
        for layer in self.unit.layers:
            prog.append((f";LAYER {layer.index} Z{layer.z_mm:.3f}", nan, nan, ""))
            prog.append((f"G0 Z{layer.z_mm:.3f} F{self.z_f}", nan, nan, ""))
            if layer.index == 0 and self.retract:
                e += self.retract
                prog.append(
                    (f"G1 E{self._e_text(self.retract, e)} F{self.retract_f}", nan, nan, "")
                )
            per_mm = layer.width_mm * layer.height_mm * self.e_per_mm3
            feed = f" F{_num(layer.speed_mm_s * 60, 0)}"
            kind = ""
            for path in layer.paths:
                pts = path.points
                if math.hypot(*(pts[0] - pos)) > 1e-6:
                    e = self._travel(prog, pts[0], pos, layer.z_mm, e)
                if path.kind != kind:
                    kind = path.kind
                    prog.append((f";TYPE {kind}", nan, nan, ""))
                seg = pts[1:] - pts[:-1]
                steps = (seg[:, 0] ** 2 + seg[:, 1] ** 2) ** 0.5 * per_mm
                tail = feed
                for (x, y), step in zip(pts[1:].tolist(), steps.tolist(), strict=True):
                    e += step
                    prog.append(("G1 ", x, y, f" E{self._e_text(step, e)}{tail}"))
                    tail = ""
                pos = pts[-1]
        if self.retract:
            e -= self.retract
            prog.append((f"G1 E{self._e_text(-self.retract, e)} F{self.retract_f}", nan, nan, ""))
        return prog

    def _e_text(self, step: float, absolute: float) -> str:
        return f"{step if self.relative else absolute:.{self.e_dec}f}"

    def _travel(
        self,
        prog: list[tuple[str, float, float, str]],
        to: FloatArray,
        pos: FloatArray,
        z: float,
        e: float,
    ) -> float:
        nan = math.nan
        far = math.hypot(*(to - pos)) > self.process.retract_min_travel_mm
        hop = self.process.z_hop_mm if far else 0.0
        if far and self.retract:
            e -= self.retract
            prog.append((f"G1 E{self._e_text(-self.retract, e)} F{self.retract_f}", nan, nan, ""))
        if hop:
            prog.append((f"G0 Z{z + hop:.3f} F{self.z_f}", nan, nan, ""))
        prog.append(("G0 ", float(to[0]), float(to[1]), f" F{self.travel_f}"))
        if hop:
            prog.append((f"G0 Z{z:.3f} F{self.z_f}", nan, nan, ""))
        if far and self.retract:
            e += self.retract
            prog.append((f"G1 E{self._e_text(self.retract, e)} F{self.retract_f}", nan, nan, ""))
        return e


def write_plate(
    unit: SlicedUnit,
    offsets_mm: Sequence[tuple[float, float]],
    machine: MachineSettings,
    process: ProcessSettings,
    target_volume_mm3: float | None = None,
    target_mg: float | None = None,
    template_dir: Path | None = None,
) -> str:
    """Write the G-code of a plate of identical units, each followed by a weigh point.

    Parameters
    ----------
    unit : SlicedUnit
        One unit's toolpaths around its origin; each copy is translated, not re-sliced.
    offsets_mm : sequence of (x, y)
        Where each unit's origin goes on the bed (mm), in print order.
    machine, process : MachineSettings, ProcessSettings
        Flavour, E-axis meaning, temperatures, park position; speeds and retraction.
    target_volume_mm3, target_mg : float, optional
        Per-unit targets written into the ``UNIT_START`` comments.
    template_dir : Path, optional
        Folder of the start/end templates (default ``gcode/templates``).

    Returns
    -------
    str
        The G-code text (ASCII, newline-terminated lines).

    Raises
    ------
    SlicingError
        If there are no units, the unit is empty, a template is missing or bad,
        or a unit does not fit under the printer's maximum height.
    """
    if not offsets_mm:
        raise SlicingError("a plate needs at least one unit")
    _check_unit(unit, machine)
    labels = _labels(target_volume_mm3, target_mg)
    writer = _UnitWriter(unit, machine, process)
    return _write(
        [(writer, labels, dx, dy) for dx, dy in offsets_mm], machine, process, template_dir
    )


def write_series(
    units: Sequence[tuple[SlicedUnit, float, float]],
    offsets_mm: Sequence[tuple[float, float]],
    machine: MachineSettings,
    process: ProcessSettings,
    template_dir: Path | None = None,
) -> str:
    """Write a plate of *different* units (a calibration series), each with its weigh point.

    ``units`` are ``(toolpaths, target volume mm³, target mg)`` in print order, placed
    at ``offsets_mm``; everything else is as :func:`write_plate`.

    Raises
    ------
    SlicingError
        As :func:`write_plate`, or when units and offsets do not pair up.
    """
    if not units or len(units) != len(offsets_mm):
        raise SlicingError(f"{len(units)} units for {len(offsets_mm)} places on the bed")
    writers: dict[int, _UnitWriter] = {}
    entries = []
    for (sliced, volume, mass), (dx, dy) in zip(units, offsets_mm, strict=True):
        if id(sliced) not in writers:
            _check_unit(sliced, machine)
            writers[id(sliced)] = _UnitWriter(sliced, machine, process)
        entries.append((writers[id(sliced)], _labels(volume, mass), dx, dy))
    return _write(entries, machine, process, template_dir)


def _check_unit(unit: SlicedUnit, machine: MachineSettings) -> None:
    if not unit.layers or not unit.layers[0].paths:
        raise SlicingError("the unit has no toolpaths")
    if unit.layers[-1].z_mm + machine.park_lift_mm > machine.max_z_mm:
        raise SlicingError(
            f"the unit ({unit.layers[-1].z_mm:.2f} mm) plus the {machine.park_lift_mm} mm lift "
            f"exceeds the printer's max_z_mm={machine.max_z_mm}"
        )


def _labels(target_volume_mm3: float | None, target_mg: float | None) -> str:
    labels = ""
    if target_volume_mm3 is not None:
        labels += f" target_mm3={target_volume_mm3:.4f}"
    if target_mg is not None:
        labels += f" target_mg={target_mg:.4f}"
    return labels


def _write(
    entries: Sequence[tuple[_UnitWriter, str, float, float]],
    machine: MachineSettings,
    process: ProcessSettings,
    template_dir: Path | None,
) -> str:
    """The plate: header, start code, each unit with its weigh point, end code."""
    folder = template_dir or TEMPLATE_DIR
    values = _template_values(machine, process)
    ext = machine.extrusion
    writer = max((e[0] for e in entries), key=lambda w: w.safe_z)  # clears the tallest unit
    out: list[str] = [
        f";PRINTPHARM PLAN units={len(entries)} flavour={machine.flavour}",
        f";PRINTPHARM EXTRUSION e_units={ext.e_units} diameter_mm={_num(ext.diameter_mm, 4)}",
        f";PRINTPHARM BEAD line_width_mm={_num(process.line_width_mm, 4)} "
        f"layer_height_mm={_num(process.layer_height_mm, 4)}",
        "M83 ; relative E" if ext.relative else "M82 ; absolute E",
    ]
    if ext.e_units == "mm3":
        out.append(f"M200 D{_num(ext.diameter_mm, 4)} ; volumetric E: mm3")
    start = machine.start_template or FLAVOURS[machine.flavour].start_template
    out.extend(_load(folder, start, values))
    out.append("M83 ; relative E" if ext.relative else "M82 ; absolute E")
    if process.retract_mm:
        out.append(f"G1 E{-process.retract_mm:.{ext.e_decimals}f} F{writer.retract_f}")
    out.append(f"G0 Z{writer.safe_z:.3f} F{writer.z_f}")
    total = len(entries)
    for n, (unit_writer, labels, dx, dy) in enumerate(entries, start=1):
        out.append(f";PRINTPHARM UNIT_START n={n} of={total}{labels}")
        out.extend(unit_writer.lines(dx, dy))
        out.append(f";PRINTPHARM UNIT_END n={n}")
        out.append(f"G0 Z{writer.safe_z:.3f} F{writer.z_f}")
        out.append(f"G0 X{machine.park_x_mm:.3f} Y{machine.park_y_mm:.3f} F{writer.travel_f}")
        out.append("M400")
        out.append(f";PRINTPHARM WEIGH n={n}")
    if ext.e_units == "mm3":
        out.append("M200 D0 ; volumetric E off")
    end = machine.end_template or FLAVOURS[machine.flavour].end_template
    out.extend(_load(folder, end, values))
    longest = max(out, key=len)
    _check_line(longest, "the plate's G-code")  # e.g. huge targets in a UNIT_START comment
    return "\n".join(out) + "\n"
