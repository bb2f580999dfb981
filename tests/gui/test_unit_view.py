"""The 3-D unit view: a real planned mesh drawn, turned by mouse and keys, zoomed within bounds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from printpharm.gui.widgets.unit_view import UnitView
from printpharm.services.station.batch import plan_for_form
from printpharm.services.station.workstation import DoseForm, MeshView, PlannedBatch, Workstation

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def batch(workstation: Workstation) -> PlannedBatch:
    """A 15 mg chewable disc planned through the workstation's planning service."""
    form = DoseForm(
        patient_id="P-2026-0147",
        prescriber="Dr Weber",
        rule="per_m2",
        amount="20",
        height_cm="110",
        weight_kg="18",
        recipe_id="cpm-chewable-disc",
        units=2,
    )
    preview = workstation.preview_dose(form)
    assert preview.ready and workstation.catalog is not None
    return plan_for_form(workstation.catalog, form, preview)


@pytest.fixture
def view(qtbot, batch: PlannedBatch) -> Iterator[UnitView]:  # type: ignore[no-untyped-def]
    widget = UnitView()
    qtbot.addWidget(widget)
    widget.resize(320, 320)
    widget.set_mesh(batch.mesh)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def _image(widget: UnitView) -> QImage:
    return widget.grab().toImage()


def _shaded_pixels(image: QImage, background: object) -> int:
    """Sampled pixels differing from the background in the central half, above and below
    the middle line (where "No plan yet" is written)."""
    w, h = image.width(), image.height()
    return sum(
        image.pixelColor(x, y) != background
        for x in range(w // 4, 3 * w // 4, 4)
        for y in range(h // 4, 3 * h // 4, 4)
        if abs(y - h // 2) > 12
    )


def test_the_mesh_is_the_planned_unit(batch: PlannedBatch) -> None:
    mesh: MeshView = batch.mesh
    dims = batch.plan.dimensions_mm
    assert len(mesh.vertices) >= 3 and len(mesh.faces) >= 1
    assert all(0 <= i < len(mesh.vertices) for face in mesh.faces for i in face)
    for k, size in enumerate((dims["diameter_mm"], dims["diameter_mm"], dims["height_mm"])):
        values = [v[k] for v in mesh.vertices]
        assert max(values) - min(values) == pytest.approx(size, rel=1e-6)


def test_the_unit_is_drawn_and_cleared(view: UnitView, batch: PlannedBatch) -> None:
    image = _image(view)
    background = image.pixelColor(10, 10)
    assert image.pixelColor(image.width() // 2, image.height() // 2) != background
    assert _shaded_pixels(image, background) > 100
    dims = batch.plan.dimensions_mm
    assert view.accessibleDescription() == (
        f"{dims['diameter_mm']:.1f} × {dims['diameter_mm']:.1f} × {dims['height_mm']:.1f} mm"
    )
    assert view.accessibleName()
    assert view.focusPolicy() == Qt.FocusPolicy.StrongFocus
    view.set_mesh(None)
    empty = _image(view)
    assert _shaded_pixels(empty, empty.pixelColor(10, 10)) == 0
    assert view.accessibleDescription() == ""


def test_dragging_turns_and_changes_the_picture(qtbot, view: UnitView) -> None:  # type: ignore[no-untyped-def]
    before = _image(view)
    yaw, pitch = view.yaw_deg, view.pitch_deg
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(view, QPoint(160, 140))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(160, 140))
    assert view.yaw_deg == pytest.approx(yaw + 30)
    assert view.pitch_deg == pytest.approx(pitch + 20)
    assert _image(view) != before
    for _ in range(3):  # pitch is clamped at straight above
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 0))
        qtbot.mouseMove(view, QPoint(100, 300))
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 300))
    assert view.pitch_deg == 90
    assert -180 <= view.yaw_deg < 180


def _wheel(widget: UnitView, notches: int) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_wheel_and_keys_zoom_within_bounds(qtbot, view: UnitView) -> None:  # type: ignore[no-untyped-def]
    before = _image(view)
    _wheel(view, 1)
    assert view.zoom > 1
    assert _image(view) != before
    for _ in range(30):
        _wheel(view, 1)
    assert view.zoom == 8
    for _ in range(30):
        qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom == pytest.approx(0.3)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert 0.3 < view.zoom < 0.5


def test_keys_turn_and_home_resets(qtbot, view: UnitView) -> None:  # type: ignore[no-untyped-def]
    first = (view.yaw_deg, view.pitch_deg, view.zoom)
    before = _image(view)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.yaw_deg == pytest.approx(first[0] + 15)
    assert view.pitch_deg == pytest.approx(first[1] + 15)
    assert view.zoom > first[2]
    assert _image(view) != before
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert (view.yaw_deg, view.pitch_deg, view.zoom) == first
    assert _image(view) == before
