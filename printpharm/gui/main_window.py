"""The main window: a thin shell with the mode banner, page navigation and status bar.

Pages are built by the composition root (``services.station.workstation.Workstation``)
and hosted in a :class:`QStackedWidget`; the navigation list and the ``Go``
menu (Ctrl+1 … Ctrl+9, Ctrl+0) switch between them. Window geometry and the last page
are remembered in the ``QSettings`` the caller passes in.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from printpharm import __version__
from printpharm.gui.login import LoginDialog
from printpharm.gui.pages.admin import AdminPage
from printpharm.gui.pages.calibration import CalibrationPage
from printpharm.gui.pages.equipment import EquipmentPage
from printpharm.gui.pages.history import HistoryPage
from printpharm.gui.pages.library import LibraryPage
from printpharm.gui.pages.lots import LotsPage
from printpharm.gui.pages.new_batch import NewBatchPage
from printpharm.gui.pages.plan import PlanPage
from printpharm.gui.pages.print_run import PrintPage
from printpharm.gui.pages.qc import QcPage
from printpharm.gui.pages.research import ResearchPage
from printpharm.gui.session_guard import SessionGuard
from printpharm.gui.widgets.banner import IntegrityBanner, ModeBanner
from printpharm.gui.workers import TaskRunner
from printpharm.services.station.workstation import (
    DeviceStatus,
    DoseForm,
    DosePreview,
    PlannedBatch,
    Workstation,
)

__all__ = ["PAGE_KEYS", "MainWindow"]

#: Page keys in navigation order.
PAGE_KEYS: tuple[str, ...] = (
    "new_batch",
    "plan",
    "print",
    "qc",
    "history",
    "library",
    "lots",
    "calibration",
    "research",
    "equipment",
    "admin",
)

# Navigation title and tooltip of each page (translated where used).
_NAV: dict[str, tuple[object, object]] = {
    "new_batch": (
        QT_TRANSLATE_NOOP("MainWindow", "New batch"),
        QT_TRANSLATE_NOOP("MainWindow", "Prescription and dose"),
    ),
    "plan": (
        QT_TRANSLATE_NOOP("MainWindow", "Plan"),
        QT_TRANSLATE_NOOP("MainWindow", "Tablet size, toolpaths, G-code"),
    ),
    "print": (
        QT_TRANSLATE_NOOP("MainWindow", "Print"),
        QT_TRANSLATE_NOOP("MainWindow", "Print and weigh"),
    ),
    "qc": (
        QT_TRANSLATE_NOOP("MainWindow", "QC and release"),
        QT_TRANSLATE_NOOP("MainWindow", "Ph. Eur. verdicts, release"),
    ),
    "history": (
        QT_TRANSLATE_NOOP("MainWindow", "History and audit"),
        QT_TRANSLATE_NOOP("MainWindow", "Batch records, audit trail"),
    ),
    "library": (
        QT_TRANSLATE_NOOP("MainWindow", "Library"),
        QT_TRANSLATE_NOOP("MainWindow", "Recipe and ink versions, validation, lock"),
    ),
    "lots": (
        QT_TRANSLATE_NOOP("MainWindow", "Ink lots"),
        QT_TRANSLATE_NOOP("MainWindow", "Prepared lots: record, scan, release, reject"),
    ),
    "calibration": (
        QT_TRANSLATE_NOOP("MainWindow", "Calibrations"),
        QT_TRANSLATE_NOOP("MainWindow", "Mass–volume fits per ink and printer: series, lock"),
    ),
    "research": (
        QT_TRANSLATE_NOOP("MainWindow", "Research mode"),
        QT_TRANSLATE_NOOP("MainWindow", "Supervisor unlock"),
    ),
    "equipment": (
        QT_TRANSLATE_NOOP("MainWindow", "Equipment and training"),
        QT_TRANSLATE_NOOP("MainWindow", "Register, balance check, cleaning, training records"),
    ),
    "admin": (
        QT_TRANSLATE_NOOP("MainWindow", "Administration"),
        QT_TRANSLATE_NOOP("MainWindow", "Users and roles, site settings, registered balances"),
    ),
}


def _scrolling(page: QWidget) -> QScrollArea:
    """Host a page in a frameless scroll area, so small screens can still reach everything."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(page)
    return area


class MainWindow(QMainWindow):
    """The application shell. ``pages`` maps a key of :data:`PAGE_KEYS` to its widget."""

    def __init__(
        self, workstation: Workstation, settings: QSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._settings = settings
        self.setWindowTitle(self.tr("printpharm — personalised tablets"))
        self.banner = ModeBanner()
        self.integrity = IntegrityBanner()
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        self._build_pages()
        self._build_central()
        self._build_menus()
        self._build_status_bar()
        self.guard = SessionGuard(workstation.session)
        self.guard.locked.connect(self._on_locked)
        self.guard.tick.connect(self._on_tick)
        self._ticks = 0
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.guard)
        self.lock_dialog: LoginDialog | None = None
        self.on_session_changed()
        self._restore()
        # Import the planning stack in the background while the technician types.
        self._warm = TaskRunner(self)
        self._warm.start(workstation.warm_up)

    # -- construction ------------------------------------------------------------------------

    def _build_pages(self) -> None:
        ws = self._ws
        self.new_batch = NewBatchPage(ws)
        self.plan = PlanPage(ws)
        self.qc = QcPage(ws)
        widgets: dict[str, QWidget] = {"new_batch": self.new_batch, "plan": self.plan}
        self.print_page = PrintPage(ws)
        self.research = ResearchPage(ws)
        self.history = HistoryPage(ws)
        self.admin = AdminPage(ws)
        self.library = LibraryPage(ws)
        self.lots = LotsPage(ws)
        self.calibration = CalibrationPage(ws)
        self.equipment = EquipmentPage(ws)
        widgets["equipment"] = self.equipment
        widgets.update(qc=self.qc, research=self.research, history=self.history, admin=self.admin)
        widgets.update(library=self.library, lots=self.lots, calibration=self.calibration)
        widgets["print"] = self.print_page
        for index, key in enumerate(PAGE_KEYS):
            title, tip = _NAV[key]
            item = QListWidgetItem(f"{index + 1}  {self.tr(str(title))}")
            item.setToolTip(self.tr(str(tip)))
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.nav.addItem(item)
            widget = widgets[key]
            self.stack.addWidget(_scrolling(widget))
            self.pages[key] = widget
        self.new_batch.plan_requested.connect(self._on_plan_requested)
        self.plan.print_requested.connect(self._on_print_requested)
        self.print_page.finished.connect(self.qc.set_run_result)
        self.print_page.finished.connect(
            lambda *_: self.qc.patient_banner.set_authorisation(self.print_page.authorisation)
        )
        self.print_page.devices_changed.connect(self._on_devices_changed)
        self.print_page.qc_button.clicked.connect(lambda: self.show_page("qc"))
        self.research.mode_changed.connect(self.refresh_mode)
        self.nav.currentRowChanged.connect(self._on_page_shown)

    def _build_central(self) -> None:
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + 32)
        self.nav.setToolTip(self.tr("Pages (Ctrl+1 … Ctrl+9, Ctrl+0)"))
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        central = QWidget()
        self.body = central
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.integrity)
        column.addWidget(self._recovery_notice())
        column.addLayout(body, 1)
        self.setCentralWidget(central)

    def _recovery_notice(self) -> QWidget:
        """A one-time strip naming the batches a crash left printing (closed as interrupted)."""
        self.recovery = QLabel()
        self.recovery.setObjectName("recoveryNotice")
        self.recovery.setWordWrap(True)
        self.recovery.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recovery.setStyleSheet("background: #ffe082; color: #000000; padding: 6px;")
        self.recovery_close = QPushButton(self.tr("&Dismiss"))
        self.recovery_close.setStyleSheet("color: #000000;")
        strip = QWidget()
        strip.setStyleSheet("background: #ffe082;")
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 6, 0)
        row.addWidget(self.recovery, 1)
        row.addWidget(self.recovery_close)
        self.recovery_close.clicked.connect(strip.hide)
        self.recovery_strip = strip
        session = self._ws.session
        recovered, session.recovered = session.recovered, []  # shown once
        self.show_recovered(recovered)
        return strip

    def show_recovered(self, batch_ids: list[str]) -> None:
        """Name the batches start-up recovery marked interrupted (hidden when there are none)."""
        if not batch_ids:
            self.recovery_strip.hide()
            return
        self.recovery.setText(
            self.tr(
                "The last session ended while printing. These batches were marked INTERRUPTED "
                "(recorded in the audit trail; their weighed units are kept): {ids}. "
                "Review them on History and audit before deciding what to do with them."
            ).format(ids=", ".join(batch_ids))
        )
        self.recovery_strip.show()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        logout = QAction(self.tr("&Log out"), self)
        logout.setShortcut(QKeySequence("Ctrl+Shift+L"))
        logout.triggered.connect(self.log_out)
        file_menu.addAction(logout)
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        go_menu = self.menuBar().addMenu(self.tr("&Go"))
        for index, key in enumerate(PAGE_KEYS):
            item = self.nav.item(index)
            action = QAction(item.text().split("  ", 1)[1], self)
            if index < 10:  # the tenth is Ctrl+0; the pages after it are in the menu only
                action.setShortcut(QKeySequence(f"Ctrl+{(index + 1) % 10}"))
            action.triggered.connect(lambda _=False, k=key: self.show_page(k))
            go_menu.addAction(action)
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        about = QAction(self.tr("&About printpharm"), self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        self.printer_status = QLabel()
        self.balance_status = QLabel()
        self.user_status = QLabel(self.tr("not logged in"))
        for label in (self.printer_status, self.balance_status, self.user_status):
            label.setContentsMargins(10, 0, 10, 0)
            self.statusBar().addPermanentWidget(label)
        printer, balance = self._ws.device_status()
        self.set_device_status(printer)
        self.set_device_status(balance)

    # -- behaviour ---------------------------------------------------------------------------

    def set_device_status(self, status: DeviceStatus) -> None:
        """Show a printer's or balance's state in the status bar."""
        label = self.printer_status if status.kind == "printer" else self.balance_status
        name = self.tr("Printer") if status.kind == "printer" else self.tr("Balance")
        label.setText(f"{name}: {status.state}")
        label.setToolTip(status.url)

    def show_page(self, key: str) -> None:
        """Switch to the page ``key`` (one of :data:`PAGE_KEYS`)."""
        self.nav.setCurrentRow(PAGE_KEYS.index(key))

    def current_page(self) -> str:
        """The key of the page shown."""
        return PAGE_KEYS[self.stack.currentIndex()]

    def on_session_changed(self) -> None:
        """Show who is logged in, the mode, and what the role may do; watch for idleness."""
        user = self._ws.session.user
        if user is None:
            self.user_status.setText(self.tr("not logged in"))
            self.guard.stop()
        else:
            self.user_status.setText(
                self.tr("{name} ({role})").format(name=user.full_name, role=user.role.value)
            )
            self.guard.start()
        for page in (
            self.research,
            self.history,
            self.admin,
            self.library,
            self.lots,
            self.calibration,
            self.equipment,
        ):
            page.refresh()
        self.qc.release.refresh()
        self.qc.cu.refresh()
        self.refresh_mode()

    def refresh_mode(self) -> None:
        """Re-read locked/research mode (closes an expired period) and update the banners."""
        self.banner.set_status(self._ws.mode_status())
        self.integrity.set_problem(self._ws.session.integrity_problem)
        if self.current_page() == "research":
            self.research.refresh()

    def log_out(self) -> None:
        """End the session and ask for a login; close the window if none is given."""
        self._ws.session.logout()
        self.on_session_changed()
        dialog = LoginDialog(self._ws.session, parent=self)
        dialog.accepted.connect(self.on_session_changed)
        dialog.rejected.connect(self.close)
        dialog.open()

    def _on_locked(self, reason: str) -> None:
        user = self._ws.session.user
        self.body.setEnabled(False)
        self.statusBar().showMessage(reason)
        dialog = LoginDialog(self._ws.session, user.user_id if user else None, parent=self)
        dialog.accepted.connect(self._on_unlocked)
        dialog.rejected.connect(self.log_out)
        self.lock_dialog = dialog
        dialog.open()

    def _on_unlocked(self) -> None:
        self.body.setEnabled(True)
        self.statusBar().clearMessage()
        self.lock_dialog = None
        self.on_session_changed()

    def _on_tick(self) -> None:
        self.integrity.set_problem(self._ws.session.integrity_problem)  # a gate may have failed
        self._ticks += 1
        if self._ticks % 10 == 0:
            self.refresh_mode()

    def _on_page_shown(self, row: int) -> None:
        page = self.pages[PAGE_KEYS[row]]
        if page in (
            self.research,
            self.history,
            self.admin,
            self.library,
            self.lots,
            self.calibration,
            self.equipment,
        ):
            page.refresh()

    def _on_devices_changed(self, printer: str, balance: str) -> None:
        for label, name, state in (
            (self.printer_status, self.tr("Printer"), printer),
            (self.balance_status, self.tr("Balance"), balance),
        ):
            label.setText(f"{name}: {state}")

    def _on_print_requested(self, batch: PlannedBatch) -> None:
        self.print_page.set_batch(batch, self.plan.authorisation)
        self.qc.patient_banner.set_authorisation(self.plan.authorisation)
        self.show_page("print")

    def _on_plan_requested(self, form: DoseForm, preview: DosePreview) -> None:
        self.plan.set_batch(form, preview)
        self.show_page("plan")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About printpharm"),
            self.tr(
                "printpharm {version}\nPoint-of-care 3D printing of personalised tablets.\n"
                "Licensed under the GPL 3.0 or later."
            ).format(version=__version__),
        )

    def _restore(self) -> None:
        geometry = self._settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 760)
        state = self._settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        last = self._settings.value("window/page", "new_batch")
        self.show_page(last if last in PAGE_KEYS else "new_batch")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Remember geometry, state and page, then close."""
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/state", self.saveState())
        self._settings.setValue("window/page", self.current_page())
        self._settings.sync()
        self.guard.stop()
        self.print_page.wait()
        self.plan.runner.wait()
        self.calibration.runner.wait()
        self._warm.wait()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.guard)
        super().closeEvent(event)
