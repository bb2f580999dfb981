"""A turnable 3-D view of one planned unit, drawn with QPainter (no OpenGL).

The mesh comes from the services as plain numbers (:class:`MeshView`); this
widget only projects it for the screen: a turn about the vertical axis (yaw)
and a tilt towards the viewer (pitch), an orthographic projection, back faces
culled and the rest painted far to near (painter's algorithm), each triangle
flat-shaded from its normal and one fixed light. The outline (silhouette and
sharp edges) is drawn in the text colour so the shape reads in light and dark
palettes alike.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from printpharm.gui.widgets.feedback import is_dark
from printpharm.services.station.workstation import MeshView

__all__ = ["UnitView"]

_MARGIN_PX = 28
_DEFAULT_YAW, _DEFAULT_PITCH = 30.0, 35.0  # seen from the front right, a little above
_PITCH_LIMIT = 90.0  # straight down onto the top, or straight up onto the bottom
_ZOOM_MIN, _ZOOM_MAX = 0.3, 8.0
_DEG_PER_PX = 0.5  # mouse drag
_KEY_STEP_DEG = 15.0
_ZOOM_STEP = 1.25  # one key press or one wheel notch
_CREASE_COS = math.cos(math.radians(30))  # sharper edges than this are outlined
# Towards the light in view space (x right, y up, z away from the viewer): upper left, in front.
_LIGHT = (-0.35, 0.55, -0.76)
_AMBIENT = 0.35

Vec = tuple[float, float, float]


def _unit(v: Vec) -> Vec:
    length = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return (0.0, 0.0, 0.0) if length == 0 else (v[0] / length, v[1] / length, v[2] / length)


def _normal(a: Vec, b: Vec, c: Vec) -> Vec:
    u = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
    v = (c[0] - a[0], c[1] - a[1], c[2] - a[2])
    return _unit((u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]))


class UnitView(QWidget):
    """One unit, shaded; drag or arrow keys turn it, the wheel or +/- zoom, Home resets."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitView")
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(self.tr("3-D view of the planned unit"))
        self.setToolTip(
            self.tr(
                "The planned unit in 3-D. Drag with the left mouse button or use the arrow "
                "keys to turn it; mouse wheel or the + and - keys to zoom; Home to reset the view."
            )
        )
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._mesh: MeshView | None = None
        self._centre: Vec = (0.0, 0.0, 0.0)
        self._radius = 1.0
        self._normals: list[Vec] = []
        self._neighbours: list[tuple[int, int, int]] = []  # face across each edge, -1 if open
        self._creases: list[tuple[bool, bool, bool]] = []
        self._caption = ""
        self._drag: QPointF | None = None
        self._yaw, self._pitch, self._zoom = _DEFAULT_YAW, _DEFAULT_PITCH, 1.0

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A square view."""
        return QSize(360, 360)

    @property
    def yaw_deg(self) -> float:
        """Turn about the vertical axis, degrees in [-180, 180)."""
        return self._yaw

    @property
    def pitch_deg(self) -> float:
        """Tilt towards the viewer, degrees in [-90, 90] (90 = seen from straight above)."""
        return self._pitch

    @property
    def zoom(self) -> float:
        """Magnification over the fitted size, within 0.3 to 8."""
        return self._zoom

    def set_mesh(self, mesh: MeshView | None) -> None:
        """Show a unit (``None``: nothing planned); the view angle and zoom are kept."""
        self._mesh = mesh if mesh is not None and mesh.faces else None
        self._normals, self._neighbours, self._creases = [], [], []
        self._caption = ""
        if self._mesh is not None:
            self._prepare(self._mesh)
        self.setAccessibleDescription(self._caption)
        self.update()

    def _prepare(self, mesh: MeshView) -> None:
        verts = mesh.vertices
        lows = [min(v[k] for v in verts) for k in range(3)]
        highs = [max(v[k] for v in verts) for k in range(3)]
        centre = ((lows[0] + highs[0]) / 2, (lows[1] + highs[1]) / 2, (lows[2] + highs[2]) / 2)
        self._centre = centre
        self._radius = max(math.dist(v, centre) for v in verts) or 1.0
        self._caption = self.tr("{x:.1f} × {y:.1f} × {z:.1f} mm").format(
            x=highs[0] - lows[0], y=highs[1] - lows[1], z=highs[2] - lows[2]
        )
        self._normals = [_normal(verts[a], verts[b], verts[c]) for a, b, c in mesh.faces]
        owner = {}
        for f, (a, b, c) in enumerate(mesh.faces):
            owner[(a, b)], owner[(b, c)], owner[(c, a)] = f, f, f
        for f, (a, b, c) in enumerate(mesh.faces):
            across = tuple(owner.get(edge, -1) for edge in ((b, a), (c, b), (a, c)))
            n = self._normals[f]
            self._neighbours.append((across[0], across[1], across[2]))
            self._creases.append(
                (
                    self._is_crease(n, across[0]),
                    self._is_crease(n, across[1]),
                    self._is_crease(n, across[2]),
                )
            )

    def _is_crease(self, n: Vec, other: int) -> bool:
        if other < 0:
            return True
        m = self._normals[other]
        return n[0] * m[0] + n[1] * m[1] + n[2] * m[2] < _CREASE_COS

    def reset_view(self) -> None:
        """Back to the first view: from the front right, a little above, fitted."""
        self._yaw, self._pitch, self._zoom = _DEFAULT_YAW, _DEFAULT_PITCH, 1.0
        self.update()

    def _turn(self, d_yaw: float, d_pitch: float) -> None:
        self._yaw = (self._yaw + d_yaw + 180.0) % 360.0 - 180.0
        self._pitch = max(-_PITCH_LIMIT, min(_PITCH_LIMIT, self._pitch + d_pitch))
        self.update()

    def _scale_zoom(self, factor: float) -> None:
        self._zoom = max(_ZOOM_MIN, min(_ZOOM_MAX, self._zoom * factor))
        self.update()

    # -- interaction --------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Start turning with the left button."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Left/right turns about the vertical axis, up/down tilts."""
        if self._drag is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        pos = event.position()
        delta = pos - self._drag
        self._drag = pos
        self._turn(delta.x() * _DEG_PER_PX, delta.y() * _DEG_PER_PX)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Stop turning."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        """One wheel notch (120 eighths of a degree) zooms by a quarter."""
        notches = event.angleDelta().y() / 120
        if notches:
            self._scale_zoom(_ZOOM_STEP**notches)
            event.accept()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Arrow keys turn, + and - zoom, Home resets."""
        key = Qt.Key(event.key())
        turns = {
            Qt.Key.Key_Left: (-_KEY_STEP_DEG, 0.0),
            Qt.Key.Key_Right: (_KEY_STEP_DEG, 0.0),
            Qt.Key.Key_Up: (0.0, -_KEY_STEP_DEG),
            Qt.Key.Key_Down: (0.0, _KEY_STEP_DEG),
        }
        if key in turns:
            self._turn(*turns[key])
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self._scale_zoom(_ZOOM_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self._scale_zoom(1 / _ZOOM_STEP)
        elif key == Qt.Key.Key_Home:
            self.reset_view()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- drawing ------------------------------------------------------------------------------

    def _fill_colour(self, palette: QPalette) -> QColor:
        """A neutral blue-grey, a little lighter on a dark palette."""
        return QColor("#c5d0da") if is_dark(palette) else QColor("#a9b8c6")

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Project, cull, sort far to near and paint the shaded triangles with their outline."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if self.hasFocus():
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        if self._mesh is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No plan yet"))
            painter.end()
            return
        self._paint_mesh(painter, self._mesh, palette)
        text = palette.color(QPalette.ColorRole.Text)
        painter.setPen(text)
        box = QRectF(self.rect()).adjusted(8, 4, -8, -6)
        painter.drawText(
            box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, self._caption
        )
        painter.end()

    def _paint_mesh(self, painter: QPainter, mesh: MeshView, palette: QPalette) -> None:
        yaw, pitch = math.radians(self._yaw), math.radians(self._pitch)
        cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)

        def view(v: Vec) -> Vec:  # x right, y up, z away from the viewer
            x1 = v[0] * cy - v[1] * sy
            y1 = v[0] * sy + v[1] * cy
            return (x1, v[2] * cp + y1 * sp, y1 * cp - v[2] * sp)

        scale = (min(self.width(), self.height()) / 2 - _MARGIN_PX) / self._radius * self._zoom
        ox, oy = self.width() / 2, self.height() / 2
        c = self._centre
        points: list[QPointF] = []
        depths: list[float] = []
        for v in mesh.vertices:
            x, y, z = view((v[0] - c[0], v[1] - c[1], v[2] - c[2]))
            points.append(QPointF(ox + x * scale, oy - y * scale))
            depths.append(z)
        normals = [view(n) for n in self._normals]
        facing = [n[2] < -1e-9 for n in normals]
        order = sorted(
            (f for f in range(len(mesh.faces)) if facing[f]),
            key=lambda f: -sum(depths[i] for i in mesh.faces[f]),
        )
        base = self._fill_colour(palette)
        outline_colour = QColor(palette.color(QPalette.ColorRole.Text))
        outline_colour.setAlpha(170)
        outline = QPen(outline_colour, 1.2)
        outline.setCapStyle(Qt.PenCapStyle.RoundCap)
        light = _unit(_LIGHT)
        for f in order:
            n = normals[f]
            lit = n[0] * light[0] + n[1] * light[1] + n[2] * light[2]
            shade = _AMBIENT + (1 - _AMBIENT) * max(0.0, lit)
            colour = QColor.fromRgbF(
                base.redF() * shade, base.greenF() * shade, base.blueF() * shade
            )
            # aliased: adjacent triangles share their edge pixels, no hairline seams
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            a, b, cc = mesh.faces[f]
            painter.drawPolygon(QPolygonF([points[a], points[b], points[cc]]))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(outline)
            for k, (i, j) in enumerate(((a, b), (b, cc), (cc, a))):
                across = self._neighbours[f][k]
                if self._creases[f][k] or across < 0 or not facing[across]:
                    painter.drawLine(points[i], points[j])
