"""The calibration plot: weighed discs, fitted line, 95 % prediction band, and the residuals.

Drawn with reportlab's graphics (already the batch record's PDF library): two
panels sharing the volume axis — mass against volume with the line and its 95 %
prediction band, then each disc's residual (weighed − fitted) with the band of
a single new unit around zero. Written as PDF or SVG (by the file's suffix; a
PNG would need a raster backend reportlab does not ship).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printpharm.core.calibration import LinearCalibration
from printpharm.errors import InputError

__all__ = ["PLOT_FORMATS", "PlotData", "plot_data", "write_plot"]

#: File suffixes the plot can be written as.
PLOT_FORMATS = (".pdf", ".svg")
_W, _H = 520.0, 560.0
_LEFT, _RIGHT = 70.0, 20.0
_TOP_PANEL = (250.0, 250.0)  # (bottom y, height) of the mass panel
_RES_PANEL = (60.0, 130.0)  # of the residual panel
_BAND_STEPS = 60


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low or abs(high) or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class _Panel:
    """A linear mapping of data (x, y) to drawing coordinates inside one panel."""

    def __init__(self, x: tuple[float, float], y: tuple[float, float], box: tuple[float, float]):
        self.x0, self.x1 = x
        self.y0, self.y1 = y
        self.bottom, self.height = box
        self.width = _W - _LEFT - _RIGHT

    def px(self, x: float) -> float:
        return _LEFT + (x - self.x0) / (self.x1 - self.x0) * self.width

    def py(self, y: float) -> float:
        return self.bottom + (y - self.y0) / (self.y1 - self.y0) * self.height


def _axes(drawing: Any, panel: _Panel, y_label: str, x_label: str | None) -> None:
    from reportlab.graphics.shapes import Group, Line, Rect, String
    from reportlab.lib import colors

    drawing.add(Rect(_LEFT, panel.bottom, panel.width, panel.height, fillColor=None,
                     strokeColor=colors.black, strokeWidth=0.6))  # fmt: skip
    for x in _ticks(panel.x0, panel.x1):
        drawing.add(Line(panel.px(x), panel.bottom, panel.px(x), panel.bottom - 3))
        drawing.add(String(panel.px(x), panel.bottom - 12, f"{x:g}", fontSize=7,
                           textAnchor="middle"))  # fmt: skip
    for y in _ticks(panel.y0, panel.y1, 6):
        drawing.add(Line(_LEFT - 3, panel.py(y), _LEFT, panel.py(y)))
        drawing.add(String(_LEFT - 5, panel.py(y) - 2.5, f"{y:g}", fontSize=7, textAnchor="end"))
    label = Group(String(0, 0, y_label, fontSize=8, textAnchor="middle"))
    label.transform = (0, 1, -1, 0, 24, panel.bottom + panel.height / 2)  # rotated 90°
    drawing.add(label)
    if x_label:
        drawing.add(String(_LEFT + panel.width / 2, panel.bottom - 26, x_label, fontSize=8,
                           textAnchor="middle"))  # fmt: skip


def _band(line: LinearCalibration, lo: float, hi: float) -> list[tuple[float, float, float]]:
    """(V, lower, upper) of the 95 % prediction band over [lo, hi] mm³."""
    out = []
    for i in range(_BAND_STEPS + 1):
        v = lo + (hi - lo) * i / _BAND_STEPS
        low, high = line.prediction_interval(v, allow_extrapolation=True)
        out.append((v, low, high))
    return out


@dataclass(frozen=True)
class PlotData:
    """What the plot draws, for a screen that draws it itself (volumes mm³, masses mg).

    ``band``: ``(V, lower, upper)`` of the 95 % prediction band over the series;
    ``residuals``: ``(V, weighed − fitted)`` of each disc; ``half_band``: ``(V, half
    width)`` of the interval of one new unit, the residual panel's band around zero.
    """

    points: tuple[tuple[float, float], ...]
    line: tuple[tuple[float, float], tuple[float, float]]
    band: tuple[tuple[float, float, float], ...]
    residuals: tuple[tuple[float, float], ...]
    half_band: tuple[tuple[float, float], ...]


def plot_data(line: LinearCalibration, points: Sequence[tuple[float, float]]) -> PlotData:
    """The points, line, 95 % prediction band and residuals the plot shows."""
    volumes = [v for v, _ in points]
    lo, hi = min(volumes), max(volumes)
    band = _band(line, lo, hi)
    return PlotData(
        tuple(points),
        ((lo, line.mass_for_volume(lo)), (hi, line.mass_for_volume(hi))),
        tuple(band),
        tuple((v, m - line.mass_for_volume(v, allow_extrapolation=True)) for v, m in points),
        tuple((v, (u - low) / 2) for v, low, u in band),
    )


def _mass_panel(
    d: Any, line: LinearCalibration, points: Sequence[tuple[float, float]], panel: _Panel,
    band: list[tuple[float, float, float]],
) -> None:  # fmt: skip
    from reportlab.graphics.shapes import Circle, Line, Polygon, String
    from reportlab.lib import colors

    lo, hi = band[0][0], band[-1][0]
    outline = [(panel.px(v), panel.py(u)) for v, _, u in band]
    outline += [(panel.px(v), panel.py(low)) for v, low, _ in reversed(band)]
    shade = colors.Color(0.75, 0.85, 1.0)
    d.add(Polygon([c for xy in outline for c in xy], fillColor=shade, strokeColor=None))
    ends = [(panel.px(v), panel.py(line.mass_for_volume(v))) for v in (lo, hi)]
    d.add(Line(*ends[0], *ends[1], strokeColor=colors.darkblue, strokeWidth=1))
    for v, m in points:
        d.add(Circle(panel.px(v), panel.py(m), 2.2, fillColor=colors.black, strokeColor=None))
    _axes(d, panel, "mass (mg)", None)
    legend = "points: weighed discs; line: fit; band: 95 % prediction interval"
    d.add(String(panel.px(lo) + 4, panel.bottom + panel.height - 12, legend, fontSize=7))


def _residual_panel(
    d: Any, line: LinearCalibration, points: Sequence[tuple[float, float]], x: tuple[float, float],
    band: list[tuple[float, float, float]],
) -> None:  # fmt: skip
    from reportlab.graphics.shapes import Circle, Line, PolyLine, String
    from reportlab.lib import colors

    residuals = [m - line.mass_for_volume(v, allow_extrapolation=True) for v, m in points]
    half = [(b[2] - b[1]) / 2 for b in band]
    reach = max([abs(r) for r in residuals] + half) * 1.2 or 1.0
    panel = _Panel(x, (-reach, reach), _RES_PANEL)
    upper = [(panel.px(v), panel.py(h)) for (v, _, _), h in zip(band, half, strict=True)]
    lower = [(px, panel.py(-h)) for (px, _), h in zip(upper, half, strict=True)]
    for edge in (upper, lower):
        d.add(PolyLine([c for xy in edge for c in xy], strokeColor=colors.steelblue,
                       strokeDashArray=[3, 2], strokeWidth=0.8))  # fmt: skip
    d.add(Line(panel.px(x[0]), panel.py(0), panel.px(x[1]), panel.py(0), strokeColor=colors.grey))
    for (v, _), r in zip(points, residuals, strict=True):
        d.add(Circle(panel.px(v), panel.py(r), 2.2, fillColor=colors.black, strokeColor=None))
    _axes(d, panel, "residual (mg)", "deposited volume V (mm³, from the G-code)")
    legend = "weighed − fitted; dashed: 95 % prediction interval of one unit"
    d.add(String(panel.px(x[0]) + 4, panel.bottom + panel.height - 12, legend, fontSize=7))


def _drawing(line: LinearCalibration, points: Sequence[tuple[float, float]], title: str) -> Any:
    from reportlab.graphics.shapes import Drawing, String

    volumes = [v for v, _ in points]
    lo, hi = min(volumes), max(volumes)
    pad = (hi - lo) * 0.05 or 1.0
    band = _band(line, lo, hi)
    masses = [m for _, m in points] + [b[1] for b in band] + [b[2] for b in band]
    x = (lo - pad, hi + pad)
    d = Drawing(_W, _H)
    d.add(String(_LEFT, _H - 22, title, fontSize=10))
    stats = (f"mass = {line.a_mg_per_mm3:.5g} mg/mm³ · V {'+' if line.b_mg >= 0 else '−'} "
             f"{abs(line.b_mg):.4g} mg   n = {line.n}   R² = {line.r2:.6f}   "
             f"residual SD = {line.residual_sd_mg:.4g} mg")  # fmt: skip
    d.add(String(_LEFT, _H - 38, stats, fontSize=8))
    relative = line.weighting == "relative"
    fit = "fit: " + ("least squares weighted 1/mass² (relative noise)" if relative
                     else "ordinary least squares (unweighted)")  # fmt: skip
    if line.residual_sd_rel is not None:
        fit += f"   relative residual SD = {line.residual_sd_rel * 100:.3g} %"
    d.add(String(_LEFT, _H - 50, fit, fontSize=8))
    _mass_panel(d, line, points, _Panel(x, (min(masses) * 0.95, max(masses) * 1.05), _TOP_PANEL),
                band)  # fmt: skip
    _residual_panel(d, line, points, x, band)
    return d


def write_plot(
    line: LinearCalibration, points: Sequence[tuple[float, float]], title: str, path: Path
) -> Path:
    """Write the calibration plot to ``path`` (``.pdf`` or ``.svg``).

    Raises
    ------
    InputError
        Another suffix, or the file cannot be written.
    CalibrationError
        The line has no fit statistics (no prediction band).
    """
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise InputError(f"plot {path}: write a {' or '.join(PLOT_FORMATS)} file")
    drawing = _drawing(line, points, title)
    try:
        if suffix == ".pdf":
            from reportlab.graphics import renderPDF

            renderPDF.drawToFile(drawing, str(path), title)
        else:
            from reportlab.graphics import renderSVG

            renderSVG.drawToFile(drawing, str(path))
    except OSError as exc:
        raise InputError(f"plot {path}: cannot write: {exc}") from exc
    return path
