"""Library: the recipe and ink versions of this database, their status, hash and signers.

Anyone may read the list. Supervisors import the shipped files as versions and
validate, then lock, a version with an electronic signature; the library
service enforces the roles and the order (draft → validated → locked), and any
refusal is shown as text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.gui.widgets.signature import SignatureDialog
from printpharm.gui.widgets.tables import record_table
from printpharm.services.access.permissions import Operation
from printpharm.services.station.workstation import LibraryRow, Workstation

__all__ = ["LibraryPage"]

_COLUMNS = ("Kind", "ID", "Version", "Status", "Content SHA-256", "Signed")
#: The status a version must have for each signature step.
_NEEDS = {"validate": "draft", "lock": "validated"}


class LibraryPage(QWidget):
    """Version list; import, validate and lock for supervisors (read-only for others)."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.rows: list[LibraryRow] = []
        self.dialog: SignatureDialog | None = None
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Recipe and ink library"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addLayout(self._buttons())
        self.error = FieldError()
        layout.addWidget(self.error)
        self.message = QLabel()
        self.message.setObjectName("libraryMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.table = record_table(self, "libraryVersions", _COLUMNS)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.import_button = QPushButton(self.tr("&Import shipped files"))
        self.import_button.setObjectName("importButton")
        self.import_button.setToolTip(
            self.tr("Store the shipped recipe and ink files as library versions (drafts).")
        )
        self.import_button.clicked.connect(self.import_shipped)
        self.validate_button = QPushButton(self.tr("&Validate…"))
        self.validate_button.setObjectName("validateButton")
        self.validate_button.clicked.connect(lambda: self.ask_signature("validate"))
        self.lock_button = QPushButton(self.tr("&Lock…"))
        self.lock_button.setObjectName("lockButton")
        self.lock_button.clicked.connect(lambda: self.ask_signature("lock"))
        for button in (self.import_button, self.validate_button, self.lock_button):
            row.addWidget(button)
        row.addStretch(1)
        return row

    def refresh(self) -> None:
        """Reload the versions (no database: say so)."""
        self.error.show_reason(None)
        try:
            self.rows = self._ws.library_rows()
        except PrintpharmError as exc:
            self.rows = []
            self.error.show_reason(str(exc))
        self.table.setRowCount(0)
        for row in self.rows:
            self._add(row)
        locked = sum(1 for r in self.rows if r.status == "locked" and r.kind == "recipe")
        if not self.rows:
            text = self.tr(
                "The library of this database is empty: batches use the shipped files, "
                "treated as locked. A supervisor can import them to validate and lock them."
            )
        else:
            text = self.tr("{n} versions; {locked} recipe(s) locked.").format(
                n=len(self.rows), locked=locked
            )
        if not self._ws.session.may(Operation.EDIT_LIBRARY):
            text += " " + self.tr("Read-only: only a supervisor can import, validate or lock.")
        self.summary.setText(text)
        self._update_buttons()

    def _add(self, row: LibraryRow) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        cells = (
            row.kind,
            row.item_id,
            f"v{row.version}",
            row.status,
            row.content_sha256[:16] + "…",
            row.signed or "—",
        )
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col == 4:
                item.setToolTip(row.content_sha256)
            self.table.setItem(index, col, item)

    def selected(self) -> LibraryRow | None:
        """The selected version, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def select(self, kind: str, item_id: str, version: int) -> None:
        """Select a version by kind, id and number (keyboard users and tests)."""
        for index, row in enumerate(self.rows):
            if (row.kind, row.item_id, row.version) == (kind, item_id, version):
                self.table.selectRow(index)
                return

    def _update_buttons(self) -> None:
        session, row = self._ws.session, self.selected()
        self.import_button.setEnabled(session.may(Operation.EDIT_LIBRARY))
        for step, button, operation in (
            ("validate", self.validate_button, Operation.VALIDATE_LIBRARY),
            ("lock", self.lock_button, Operation.LOCK_LIBRARY),
        ):
            allowed = session.may(operation)
            fits = row is not None and row.status == _NEEDS[step]
            button.setEnabled(allowed and fits)
            button.setToolTip(
                self.tr("Only a supervisor may do this.")
                if not allowed
                else self.tr("Select a {status} version.").format(status=_NEEDS[step])
            )

    def import_shipped(self) -> None:
        """Import the shipped recipe and ink files (refusals shown as text)."""
        self.message.clear()
        if self._ws.catalog is None:
            self.error.show_reason(self._ws.catalog_error or "the catalog is not loaded")
            return
        try:
            outcomes = self._ws.import_library()
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.refresh()
        new = sum(1 for o in outcomes if o.action != "unchanged")
        self.message.setText(
            self.tr("Imported {n} file(s): {new} new version(s), the rest unchanged.").format(
                n=len(outcomes), new=new
            )
        )

    def ask_signature(self, step: str) -> None:
        """Open the e-signature dialog to validate or lock the selected version."""
        row = self.selected()
        if row is None:
            return
        verb = self.tr("Validate") if step == "validate" else self.tr("Lock")
        what = f"{verb} {row.kind} {row.item_id} v{row.version} (sha256 {row.content_sha256[:16]}…)"
        user = self._ws.session.user
        dialog = SignatureDialog(
            what,
            lambda uid, pw, comment: self._ws.sign_library(step, row, uid, pw, comment),
            user.user_id if user else "",
            self,
        )
        dialog.accepted.connect(lambda: self._signed(dialog))
        self.dialog = dialog
        dialog.open()

    def _signed(self, dialog: SignatureDialog) -> None:
        self.dialog = None
        self.refresh()
        self.message.setText(self.tr("Signed: {m}").format(m=dialog.manifestation or ""))
