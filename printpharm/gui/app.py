"""Composition root of the desktop application: build the services, open the window.

No singletons: :func:`main` builds one :class:`~printpharm.services.station.workstation.Workstation`
and one :class:`QSettings`, and passes them to the window. Tests build the
window the same way with :func:`build_main_window`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QSettings, Qt, QTranslator
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QDialog

from printpharm.gui._gc import GuiThreadCollector
from printpharm.gui._pyside_fix import repair_singleton_refcounts
from printpharm.gui.first_run import FirstRunDialog
from printpharm.gui.login import ChangePasswordDialog, LoginDialog
from printpharm.gui.main_window import MainWindow
from printpharm.services.station.workstation import (
    Workstation,
    WorkstationConfig,
    build_workstation,
)

__all__ = ["RESOURCES", "build_main_window", "create_application", "log_in", "main"]

#: The shipped icons, style sheet and translations.
RESOURCES = Path(__file__).resolve().parents[2] / "resources"

_ORG, _APP = "printpharm", "printpharm"


def create_application(argv: Sequence[str]) -> QApplication:
    """Return the QApplication (creating it once): high-DPI, style sheet, translations."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    QCoreApplication.setOrganizationName(_ORG)
    QCoreApplication.setApplicationName(_APP)
    app = QApplication(["printpharm", *argv])
    repair_singleton_refcounts()  # PySide6 6.12 on Python 3.11: see _pyside_fix
    # Planning and the print run are Python threads; a 1 ms GIL switch interval (default
    # 5 ms) lets the GUI thread in often enough to keep event-loop stalls well under 100 ms.
    sys.setswitchinterval(0.001)
    collector = GuiThreadCollector(app)  # cycles are collected on this thread only: see _gc
    collector.start()
    app.aboutToQuit.connect(collector.stop)
    app.setApplicationDisplayName("printpharm")
    _install_translator(app)
    app.setWindowIcon(QIcon(str(RESOURCES / "icons" / "printpharm.svg")))
    style = RESOURCES / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def _install_translator(app: QApplication) -> None:
    translator = QTranslator(app)
    if translator.load(QLocale(), "printpharm", "_", str(RESOURCES / "translations")):
        app.installTranslator(translator)


def build_main_window(workstation: Workstation, settings: QSettings) -> MainWindow:
    """Build the main window over ``workstation``, remembering its state in ``settings``."""
    return MainWindow(workstation, settings)


def log_in(workstation: Workstation, settings: QSettings) -> bool:
    """First run (database and administrator) if needed, then the login; ``False`` if cancelled.

    A database chosen on first run is remembered in ``settings`` (``database/url``).
    """
    session = workstation.session
    if session.needs_first_run():
        first = FirstRunDialog(session)
        if first.exec() != QDialog.DialogCode.Accepted:
            return False
        if first.chosen_url:
            settings.setValue("database/url", first.chosen_url)
    if LoginDialog(session).exec() != QDialog.DialogCode.Accepted:
        return False
    user = session.user
    if user is not None and user.must_change_password:
        if ChangePasswordDialog(session).exec() != QDialog.DialogCode.Accepted:
            session.logout()
            return False
    return session.user is not None


def main(argv: list[str]) -> int:
    """Run the desktop application until its window closes; return the exit code.

    Parameters
    ----------
    argv
        Arguments after the program name (Qt options such as ``-platform``).
    """
    app = create_application(argv)
    settings = QSettings()
    url = settings.value("database/url")
    workstation = build_workstation(
        WorkstationConfig(database_url=url if isinstance(url, str) and url else None)
    )
    try:
        if not log_in(workstation, settings):
            return 0
        window = build_main_window(workstation, settings)
        window.show()
        return int(app.exec())
    finally:
        workstation.session.close()


if __name__ == "__main__":  # pragma: no cover - `python -m printpharm.gui.app`
    sys.exit(main(sys.argv[1:]))
