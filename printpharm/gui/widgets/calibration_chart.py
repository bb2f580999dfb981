"""QPainter charts of a calibration fit: mass against volume with the fitted line and its
95 % prediction band, and each disc's residual with the band of one new unit around zero.

They draw what :func:`printpharm.services.control.calibration_plot.plot_data` gives
(the same data as the PDF/SVG plot of ``printpharm calibrate``). As the print page's
charts, they do not rely on colour alone: discs are filled circles, the line is
solid, the band is shaded (mass) or dashed (residuals).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from printpharm.gui.widgets.charts import _Chart, _ticks
from printpharm.services.control.calibration_plot import PlotData

__all__ = ["FitChart", "ResidualChart"]


def _band_colour(palette: QPalette) -> QColor:
    colour = QColor(palette.color(QPalette.ColorRole.Highlight))
    colour.setAlpha(60)
    return colour


class _FitBase(_Chart):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.data: PlotData | None = None

    def set_data(self, data: PlotData | None) -> None:
        """Show ``data`` (``None``: an empty chart saying nothing is selected)."""
        self.data = data
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Wide enough to read the volumes."""
        return QSize(560, 210)

    def _begin(self) -> tuple[QPainter, PlotData] | None:
        """An antialiased painter and the data with its volume range set, or ``None`` once
        the empty chart is drawn (nothing fitted yet)."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.data is None:
            self._empty(painter)
            return None
        self._x_range(self.data)
        return painter, self.data

    def _empty(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(
            QRectF(self.rect()),
            Qt.AlignmentFlag.AlignCenter,
            self.tr("Select a calibration to see its fit"),
        )

    def _x_range(self, data: PlotData) -> list[float]:
        volumes = [v for v, _ in data.points]
        pad = (max(volumes) - min(volumes)) * 0.05 or 1.0
        low, high, ticks = _ticks(min(volumes) - pad, max(volumes) + pad)
        self._x = (low, high)
        return ticks

    def _x_labels(self, painter: QPainter) -> None:
        area = self._plot()
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        for x in _ticks(self._x[0], self._x[1])[2]:
            p = self._point(x, self._y[0])
            box = QRectF(p.x() - 30, area.bottom() + 2, 60, 16)
            painter.drawText(box, Qt.AlignmentFlag.AlignHCenter, f"{x:g}")

    def _discs(self, painter: QPainter, values: list[tuple[float, float]]) -> None:
        text = self.palette().color(QPalette.ColorRole.Text)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(text)
        for point in (self._point(x, y) for x, y in values):
            painter.drawEllipse(point, 3.5, 3.5)
        painter.setBrush(Qt.BrushStyle.NoBrush)


class FitChart(_FitBase):
    """Weighed discs (mg) against their volume (mm³), the fitted line and its 95 % band."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Mass of each disc (mg) against its volume", parent)
        self.setObjectName("fitChart")
        self.setToolTip(self.tr("● weighed disc; line: least-squares fit; shaded: 95 % "
                                "prediction interval of one unit"))  # fmt: skip

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Band, line, discs and the legend."""
        started = self._begin()
        if started is None:
            return
        painter, data = started
        masses = [m for _, m in data.points] + [b[1] for b in data.band] + [b[2] for b in data.band]
        low, high, y_ticks = _ticks(min(masses), max(masses))
        self._y = (low, high)
        self._frame(painter, y_ticks, self.tr("deposited volume V (mm³, from the G-code)"))
        self._x_labels(painter)
        band = [self._point(v, up) for v, _, up in data.band]
        band += [self._point(v, lo) for v, lo, _ in reversed(data.band)]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_band_colour(self.palette()))
        painter.drawPolygon(QPolygonF(band))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        line = QPen(self.palette().color(QPalette.ColorRole.Highlight), 2)
        painter.setPen(line)
        painter.drawLine(self._point(*data.line[0]), self._point(*data.line[1]))
        self._discs(painter, list(data.points))
        self._legend_line(painter, self.tr("● weighed disc   — fit   ▒ 95 % prediction band"))


class ResidualChart(_FitBase):
    """Each disc's residual (weighed − fitted, mg) with the ± band of one new unit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Residual of each disc (weighed − fitted, mg)", parent)
        self.setObjectName("residualChart")
        self.setToolTip(self.tr("● residual of a disc; dashed: ± half the 95 % prediction "
                                "interval of one unit"))  # fmt: skip

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Shorter than the fit."""
        return QSize(560, 150)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Zero line, the dashed band and the residuals."""
        started = self._begin()
        if started is None:
            return
        painter, data = started
        reach = max([abs(r) for _, r in data.residuals] + [h for _, h in data.half_band]) * 1.2
        low, high, y_ticks = _ticks(-(reach or 1.0), reach or 1.0)
        self._y = (low, high)
        self._frame(painter, y_ticks, self.tr("deposited volume V (mm³)"))
        self._x_labels(painter)
        text = self.palette().color(QPalette.ColorRole.Text)
        painter.setPen(QPen(text, 1))
        painter.drawLine(self._point(self._x[0], 0.0), self._point(self._x[1], 0.0))
        dashed = QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.5)
        dashed.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(dashed)
        for sign in (1.0, -1.0):
            edge = [self._point(v, sign * h) for v, h in data.half_band]
            painter.drawPolyline(QPolygonF(edge))
        self._discs(painter, list(data.residuals))
        self._legend_line(painter, self.tr("● residual   - - ± 95 % interval of one unit"))
