"""QPainter charts of the print page: per-unit mass with its tolerance band, temperatures,
and the extrusion pressure with the ink's limits.

Neither chart relies on colour alone: an out-of-tolerance unit is a red cross
(a within-tolerance unit a filled circle), and targets are dashed lines while
measured temperatures are solid lines with square markers. Colours follow the
palette (light or dark) with two signal colours chosen per palette.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from printpharm.gui.widgets.feedback import error_colour, is_dark
from printpharm.services.run.events import Heating, Pressure, Temperatures
from printpharm.services.run.pressure import STEADY_REPORTS
from printpharm.services.run.result import UnitRecord
from printpharm.services.station.workstation import format_mass

__all__ = [
    "MassChart",
    "MassPoint",
    "PressureChart",
    "PressureSample",
    "TemperatureChart",
    "TemperatureSample",
]

_LEFT_PX, _RIGHT_PX, _TOP_PX, _BOTTOM_PX = 64, 12, 46, 36


def _ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    """A range widened to round numbers and its ticks (steps of 1, 2 or 5 × 10^k)."""
    span = (high - low) or 1.0
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start, end = math.floor(low / step) * step, math.ceil(high / step) * step
    count = round((end - start) / step)
    return start, end, [start + step * i for i in range(count + 1)]


@dataclass(frozen=True)
class MassPoint:
    """One weighed unit: its number, measured mass (mg) and whether it is within tolerance."""

    n: int
    measured_mg: Decimal
    within: bool


@dataclass(frozen=True)
class TemperatureSample:
    """Heater targets and readings (°C, None = not reported) at ``t_s`` s after the first."""

    t_s: float
    nozzle_target_c: Decimal | None
    nozzle_c: Decimal | None
    bed_target_c: Decimal | None
    bed_c: Decimal | None


@dataclass(frozen=True)
class PressureSample:
    """One pressure report (kPa) of unit ``unit``, ``t_s`` s of reports after the first."""

    t_s: float
    kpa: Decimal
    unit: int | None
    extruding: bool


def _ok_colour(palette: QPalette) -> QColor:
    return QColor("#90caf9") if is_dark(palette) else QColor("#1565c0")


def _bed_colour(palette: QPalette) -> QColor:
    return QColor("#ffcc80") if is_dark(palette) else QColor("#b45309")


class _Chart(QWidget):
    """Plot area, axes and value↔pixel mapping shared by both charts."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setMinimumSize(280, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._x = (0.0, 1.0)
        self._y = (0.0, 1.0)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A wide, short chart."""
        return QSize(420, 220)

    def _plot(self) -> QRectF:
        return QRectF(self.rect()).adjusted(_LEFT_PX, _TOP_PX, -_RIGHT_PX, -_BOTTOM_PX)

    def _point(self, x: float, y: float) -> QPointF:
        area, (x0, x1), (y0, y1) = self._plot(), self._x, self._y
        px = area.left() + (x - x0) / ((x1 - x0) or 1) * area.width()
        py = area.bottom() - (y - y0) / ((y1 - y0) or 1) * area.height()
        return QPointF(px, py)

    def _points(self, values: list[tuple[float, float]]) -> list[QPointF]:
        """``values`` mapped to the plot, at most about two per pixel (the last one kept).

        A long print reports temperatures thousands of times; drawing each as its own
        segment made every repaint of the chart cost several milliseconds.
        """
        area, (x0, x1), (y0, y1) = self._plot(), self._x, self._y
        kx, ky = area.width() / ((x1 - x0) or 1), area.height() / ((y1 - y0) or 1)
        left, bottom = area.left(), area.bottom()
        step = max(1, math.ceil(len(values) / max(1, int(area.width()) * 2)))
        kept = values[::step]
        if step > 1 and kept[-1] is not values[-1]:
            kept.append(values[-1])
        return [QPointF(left + (x - x0) * kx, bottom - (y - y0) * ky) for x, y in kept]

    def _legend_line(self, painter: QPainter, text: str) -> None:
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(QRectF(8, 22, self.width() - 16, 20), Qt.AlignmentFlag.AlignLeft, text)

    def _frame(self, painter: QPainter, y_labels: list[float], x_label: str) -> None:
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        grid = QColor(text)
        grid.setAlpha(50)
        painter.setPen(text)
        painter.drawText(
            QRectF(8, 4, self.width() - 16, 20), Qt.AlignmentFlag.AlignLeft, self.title
        )
        area = self._plot()
        for value in y_labels:
            p = self._point(self._x[0], value)
            painter.setPen(grid)
            painter.drawLine(QPointF(area.left(), p.y()), QPointF(area.right(), p.y()))
            painter.setPen(text)
            box = QRectF(2, p.y() - 8, _LEFT_PX - 6, 16)
            painter.drawText(box, Qt.AlignmentFlag.AlignRight, f"{value:g}")
        painter.drawRect(area)
        bottom = QRectF(area.left(), area.bottom() + 18, area.width(), 16)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignHCenter, x_label)


class MassChart(_Chart):
    """Measured mass per unit (mg) against the target line and the ± unit tolerance band."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Mass per unit (mg)", parent)
        self.setObjectName("massChart")
        self.setToolTip(
            self.tr("Target: dashed line; tolerance band: shaded; ● within, ✕ outside tolerance")
        )
        self.target_mg: Decimal | None = None
        self.tolerance_pct: Decimal | None = None
        self.units_total = 0
        self.points: list[MassPoint] = []

    def set_plan(
        self, target_mg: Decimal | float, tolerance_pct: Decimal | None, units: int
    ) -> None:
        """Start a new batch: target mass (mg), the recipe's ± unit tolerance (%), units."""
        target = target_mg if isinstance(target_mg, Decimal) else Decimal(str(target_mg))
        self.target_mg, self.tolerance_pct, self.units_total = target, tolerance_pct, units
        self.points = []
        self.update()

    def add_unit(self, unit: UnitRecord) -> None:
        """Add a weighed unit (an unweighed one has no point); its verdict decides the marker."""
        # The run's target is the one judged (for a drying ink: the wet mass as printed).
        self.target_mg, self.tolerance_pct = unit.target_mg, unit.tolerance_pct
        self.units_total = max(self.units_total, unit.n)
        if unit.measured_mg is not None:
            self.points.append(MassPoint(unit.n, unit.measured_mg, unit.verdict == "pass"))
        self.update()

    def band_mg(self) -> tuple[Decimal, Decimal] | None:
        """The tolerance band (lower, upper) in mg, or ``None`` before a plan."""
        if self.target_mg is None or self.tolerance_pct is None:
            return None
        delta = self.target_mg * self.tolerance_pct / 100
        return self.target_mg - delta, self.target_mg + delta

    def outside(self) -> list[int]:
        """Unit numbers outside tolerance."""
        return [p.n for p in self.points if not p.within]

    def _ranges(self) -> list[float]:
        values = [float(p.measured_mg) for p in self.points]
        band = self.band_mg()
        if band is not None:
            values += [float(band[0]), float(band[1])]
        if self.target_mg is not None:
            values.append(float(self.target_mg))
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (high - low) * 0.1 or 1.0
        start, end, ticks = _ticks(low - pad, high + pad)
        self._y = (start, end)
        self._x = (0.5, max(self.units_total, len(self.points), 1) + 0.5)
        return ticks

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Band, target line, one marker per weighed unit, and a legend."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._frame(painter, self._ranges(), self.tr("unit number"))
        palette, area = self.palette(), self._plot()
        band = self.band_mg()
        if band is not None:
            fill = QColor(_ok_colour(palette))
            fill.setAlpha(45)
            top, bottom = self._point(0.5, float(band[1])), self._point(0.5, float(band[0]))
            painter.fillRect(QRectF(area.left(), top.y(), area.width(), bottom.y() - top.y()), fill)
        if self.target_mg is not None:
            y = self._point(0.5, float(self.target_mg)).y()
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Text), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        self._unit_ticks(painter)
        for point in self.points:
            self._marker(painter, point)
        self._legend(painter)
        painter.end()

    def _unit_ticks(self, painter: QPainter) -> None:
        """Unit numbers under the axis: 1, then about ten evenly spaced."""
        total = max(self.units_total, len(self.points), 1)
        step = max(1, math.ceil(total / 10))
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        bottom = self._plot().bottom()
        for n in sorted({1, *range(step, total + 1, step)}):
            x = self._point(n, self._y[0]).x()
            painter.drawLine(QPointF(x, bottom), QPointF(x, bottom + 3))
            painter.drawText(
                QRectF(x - 15, bottom + 3, 30, 14), Qt.AlignmentFlag.AlignHCenter, str(n)
            )

    def _marker(self, painter: QPainter, point: MassPoint) -> None:
        centre = self._point(point.n, float(point.measured_mg))
        if point.within:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_ok_colour(self.palette()))
            painter.drawEllipse(centre, 4.5, 4.5)
            return
        painter.setPen(QPen(error_colour(self.palette()), 2.5))
        for dx, dy in ((6, 6), (6, -6)):
            painter.drawLine(centre + QPointF(-dx, -dy), centre + QPointF(dx, dy))

    def _legend(self, painter: QPainter) -> None:
        band = self.band_mg()
        tol = "" if band is None else f"  band {format_mass(band[0], False)}–"
        tol += "" if band is None else f"{format_mass(band[1], False)}"
        target = "" if self.target_mg is None else format_mass(self.target_mg, False)
        text = self.tr("- - target {t}{tol}   ● within   ✕ outside: {n}").format(
            t=target, tol=tol, n=len(self.outside())
        )
        self._legend_line(painter, text)


class TemperatureChart(_Chart):
    """Nozzle and bed: targets (dashed) and readings (solid, squares) over the run's time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Temperatures (°C)", parent)
        self.setObjectName("temperatureChart")
        self.samples: list[TemperatureSample] = []
        self._t0: float | None = None

    def clear(self) -> None:
        """Forget the samples (a new batch)."""
        self.samples, self._t0 = [], None
        self.update()

    def add_heating(self, event: Heating, now_s: float) -> None:
        """Add the targets and readings a :class:`Heating` event carries at ``now_s`` (s)."""
        if self._t0 is None:
            self._t0 = now_s
        self.samples.append(
            TemperatureSample(
                now_s - self._t0,
                event.hotend_c,
                event.hotend_actual_c,
                event.bed_c,
                event.bed_actual_c,
            )
        )
        self.update()

    def add_reading(self, event: Temperatures, now_s: float) -> None:
        """Add readings taken while printing (targets carried from the last heating event)."""
        if self._t0 is None:
            self._t0 = now_s
        last = self.samples[-1] if self.samples else None
        self.samples.append(
            TemperatureSample(
                now_s - self._t0,
                last.nozzle_target_c if last else None,
                event.hotend_c,
                last.bed_target_c if last else None,
                event.bed_c,
            )
        )
        self.update()

    def last_known(self) -> str:
        """The last readings as text, or why there are none."""
        if not self.samples:
            return str(self.tr("no temperatures reported yet"))
        s = self.samples[-1]

        def one(name: str, actual: Decimal | None, target: Decimal | None) -> str:
            if target is None or target == 0:
                return f"{name} not heated"
            shown = "not read yet" if actual is None else f"{actual} °C"
            return f"{name} {shown} (target {target} °C)"

        return ", ".join(
            (one("nozzle", s.nozzle_c, s.nozzle_target_c), one("bed", s.bed_c, s.bed_target_c))
        )

    def _series(self) -> dict[str, list[tuple[float, float]]]:
        keys = ("nozzle_target_c", "nozzle_c", "bed_target_c", "bed_c")
        return {
            key: [
                (s.t_s, float(value))
                for s in self.samples
                if (value := getattr(s, key)) is not None
            ]
            for key in keys
        }

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Axes, targets as full-width dashed lines, readings as solid lines with squares."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        series = self._series()
        values = [v for points in series.values() for _, v in points] or [0.0, 100.0]
        times = [t for points in series.values() for t, _ in points] or [0.0]
        start, end, ticks = _ticks(min(0.0, min(values)), max(values) * 1.1 or 1.0)
        self._y = (start, end)
        self._x = (0.0, max(max(times), 1.0))
        self._frame(
            painter, ticks, self.tr("0 … {s:.0f} s since heating began").format(s=self._x[1])
        )
        palette, area = self.palette(), self._plot()
        colours = {"nozzle": error_colour(palette), "bed": _bed_colour(palette)}
        placed: list[QRectF] = []  # label boxes drawn so far: equal readings must not overlap
        for key, points in series.items():
            colour = colours["nozzle" if key.startswith("nozzle") else "bed"]
            if key.endswith("target_c"):
                if points:
                    y = self._point(0.0, points[-1][1]).y()
                    painter.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
                    painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
                continue
            painter.setPen(QPen(colour, 2))
            mapped = self._points(points) if points else []
            painter.drawPolyline(QPolygonF(mapped))
            painter.setBrush(colour)
            for p in mapped if len(mapped) <= 40 else mapped[-1:]:  # squares, unless crowded
                painter.drawRect(QRectF(p.x() - 4, p.y() - 4, 8, 8))
            if mapped:  # name the series above its line: not by colour alone
                name = self.tr("nozzle") if key.startswith("nozzle") else self.tr("bed")
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                box = QRectF(area.left(), mapped[-1].y() - 20, area.width() - 8, 14)
                if any(box.intersects(other) for other in placed):  # below the line instead
                    box.moveTop(mapped[-1].y() + 6)
                placed.append(box)
                painter.drawText(box, Qt.AlignmentFlag.AlignRight, f"{name} {points[-1][1]:g} °C")
        self._legend_line(painter, self.tr("red: nozzle   orange: bed   - - target   ■ reading"))
        painter.end()


class PressureChart(_Chart):
    """Extrusion pressure at the plunger (kPa) while extruding, with the ink's limits (dashed).

    A report above the over-pressure limit is drawn as a cross (not by colour alone).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Extrusion pressure (kPa)", parent)
        self.setObjectName("pressureChart")
        self.points: list[PressureSample] = []
        self.limits: tuple[Decimal | None, Decimal] | None = None
        self._pushing = 0

    def clear(self) -> None:
        """Forget the reports (a new batch)."""
        self.points, self.limits, self._pushing = [], None, 0
        self.update()

    def add(self, event: Pressure, interval_s: float = 0.5) -> None:
        """Add the reports of one :class:`Pressure` event that the run judges: those of
        steady extrusion (as the run counts it) and any above the over-pressure limit. A
        travel, the weighing or the rise after a start let the pressure fall for reasons
        that are no alarm. One report every ``interval_s`` s: the time axis is the
        printer's extrusion time."""
        self.limits = event.limits_kpa
        high = event.limits_kpa[1]
        for kpa, flow in zip(event.readings_kpa, event.flows_mm3_s, strict=True):
            self._pushing = self._pushing + 1 if flow > 0 else 0
            if self._pushing >= STEADY_REPORTS or kpa > high:
                t = len(self.points) * interval_s
                self.points.append(PressureSample(t, kpa, event.unit, flow > 0))
        self.update()

    def last_known(self) -> str:
        """The last report and the limits, or that none came."""
        if not self.points or self.limits is None:
            return str(self.tr("no extrusion pressure reported"))
        low, high = self.limits
        limits = f"alarm above {high} kPa" + (f", below {low} kPa while extruding" if low else "")
        return f"{self.points[-1].kpa} kPa while extruding; {limits}"

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Axes, the limits as dashed lines, the reports as a line; crosses above the limit."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        values = [float(p.kpa) for p in self.points]
        bounds = [float(v) for v in self.limits or () if v is not None]
        start, end, ticks = _ticks(0.0, max([*values, *bounds, 1.0]) * 1.1)
        self._y = (start, end)
        self._x = (0.0, max([p.t_s for p in self.points] + [1.0]))
        self._frame(painter, ticks, self.tr("0 … {s:.0f} s of extrusion").format(s=self._x[1]))
        palette, area = self.palette(), self._plot()
        alarm, ok = error_colour(palette), _ok_colour(palette)
        if self.limits is not None:
            for name, limit in zip((self.tr("min"), self.tr("max")), self.limits, strict=True):
                if limit is None:
                    continue
                y = self._point(0.0, float(limit)).y()
                painter.setPen(QPen(alarm, 1.5, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
                box = QRectF(area.left() + 4, y - 16, area.width() - 8, 14)
                painter.drawText(box, Qt.AlignmentFlag.AlignLeft, f"{name} {limit} kPa")
        mapped = self._points([(p.t_s, float(p.kpa)) for p in self.points])
        painter.setPen(QPen(ok, 2))
        painter.drawPolyline(QPolygonF(mapped))
        high = self.limits[1] if self.limits is not None else None
        painter.setPen(QPen(alarm, 2))
        for p in self.points:
            if high is not None and p.kpa > high:
                c = self._point(p.t_s, float(p.kpa))
                painter.drawLine(c + QPointF(-5, -5), c + QPointF(5, 5))
                painter.drawLine(c + QPointF(-5, 5), c + QPointF(5, -5))
        self._legend_line(painter, self.tr("— steady extrusion   - - ink limits   × over"))
        painter.end()
