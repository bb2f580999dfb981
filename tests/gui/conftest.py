"""GUI fixtures: a workstation over the shipped catalog and a window with throw-away settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from printpharm.gui.main_window import MainWindow  # noqa: E402
from printpharm.services.workstation import Workstation, build_workstation  # noqa: E402


@pytest.fixture(scope="session")
def workstation() -> Workstation:
    """The workstation over the shipped inks and recipes (loaded once)."""
    ws = build_workstation()
    assert ws.catalog_error is None, ws.catalog_error
    return ws


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Window settings in a temporary INI file, never the user's."""
    return QSettings(str(tmp_path / "printpharm.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, workstation: Workstation, settings: QSettings) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The main window, shown."""
    win = MainWindow(workstation, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
