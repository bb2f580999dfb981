"""Draw one layer of a unit's toolpaths (QPainter), the layer below faintly for context."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from printpharm.services.station.workstation import LayerView

__all__ = ["ToolpathView"]

_MARGIN_PX = 16


class ToolpathView(QWidget):
    """Top view of one layer, scaled to fit; perimeters and infill in two palette colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolpathView")
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(self.tr("Toolpaths of the selected layer, seen from above"))
        self._layers: tuple[LayerView, ...] = ()
        self._index = 0

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A square view."""
        return QSize(360, 360)

    def set_layers(self, layers: tuple[LayerView, ...]) -> None:
        """Show a new unit's layers, starting at the first."""
        self._layers = layers
        self._index = 0
        self.update()

    def set_layer(self, index: int) -> None:
        """Show layer ``index`` (0 = first)."""
        self._index = max(0, min(index, len(self._layers) - 1))
        self.update()

    def _bounds(self) -> QRectF:
        xs = [x for layer in self._layers for p in layer.paths for x, _ in p.points]
        ys = [y for layer in self._layers for p in layer.paths for _, y in p.points]
        if not xs:
            return QRectF(-1, -1, 2, 2)
        pad = max(layer.width_mm for layer in self._layers) / 2  # the drawn line's half width
        return QRectF(
            min(xs) - pad,
            min(ys) - pad,
            (max(xs) - min(xs) or 1) + 2 * pad,
            (max(ys) - min(ys) or 1) + 2 * pad,
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Draw the layer below (faint) and the selected layer, in mm scaled to the widget."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if not self._layers:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No plan yet"))
            return
        box = self._bounds()
        side = min(self.width(), self.height()) - 2 * _MARGIN_PX
        scale = side / max(box.width(), box.height())
        ox = (self.width() - box.width() * scale) / 2
        oy = (self.height() - box.height() * scale) / 2

        def to_px(x: float, y: float) -> QPointF:  # y up in mm, down on screen
            return QPointF(ox + (x - box.left()) * scale, oy + (box.bottom() - y) * scale)

        layer = self._layers[self._index]
        if self._index > 0:
            faint = QColor(palette.color(QPalette.ColorRole.Text))
            faint.setAlpha(40)
            self._draw(painter, self._layers[self._index - 1], faint, faint, scale, to_px)
        perimeter = palette.color(QPalette.ColorRole.Highlight)
        infill = palette.color(QPalette.ColorRole.Text)
        self._draw(painter, layer, perimeter, infill, scale, to_px)
        painter.end()

    @staticmethod
    def _draw(
        painter: QPainter,
        layer: LayerView,
        perimeter: QColor,
        infill: QColor,
        scale: float,
        to_px: Callable[[float, float], QPointF],
    ) -> None:
        for path in layer.paths:
            colour = perimeter if path.kind == "perimeter" else infill
            pen = QPen(colour, max(1.0, layer.width_mm * scale * 0.8))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF([to_px(x, y) for x, y in path.points]))
