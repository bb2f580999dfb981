"""Ink lots: the prepared lots of this database, recorded, released and rejected.

Technicians and up record a lot in quarantine; the lot number (and GTIN and
expiry) may be typed or read by a USB barcode scanner into the "Scan" field (a
keyboard wedge types the GS1 code and Enter). Pharmacists release a lot, or
reject it, with an electronic signature; the preparer cannot release their own
lot. Everybody who may read records sees the list. The services decide; a
refusal is shown as text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError
from printpharm.gui.widgets.lot_field import ScanEdit
from printpharm.gui.widgets.signature import SignatureDialog
from printpharm.gui.widgets.tables import record_table
from printpharm.services.station.lots import LotForm, LotRow
from printpharm.services.station.workstation import Workstation

__all__ = ["LotsPage"]

_COLUMNS = ("Lot", "Ink", "Status", "Left", "Beyond-use date", "Assay", "Prepared", "By", "GTIN")


class LotsPage(QWidget):
    """Lot list; record (technicians and up), release and reject (pharmacists)."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self.rows: list[LotRow] = []
        self.dialog: SignatureDialog | None = None
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Ink lots"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addWidget(self._add_group())
        layout.addLayout(self._buttons())
        self.error = FieldError()
        layout.addWidget(self.error)
        self.message = QLabel()
        self.message.setObjectName("lotsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.table = record_table(self, "lotsTable", _COLUMNS)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

    # -- construction -------------------------------------------------------------------
    def _edit(self, name: str, tip: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setToolTip(tip)
        edit.setPlaceholderText(placeholder)
        return edit

    def _add_group(self) -> QGroupBox:
        self.add_group = QGroupBox(self.tr("Record a prepared lot (it starts in quarantine)"))
        form = QFormLayout(self.add_group)
        self.scan = ScanEdit()
        self.scan.setObjectName("lotScan")
        self.scan.setToolTip(
            self.tr("Click here and scan the label (GS1 DataMatrix or GS1-128), or type.")
        )
        self.scan.setPlaceholderText(self.tr("scan the label or type the lot number, then Enter"))
        self.scan.returnPressed.connect(self.read_scan)
        self.scanned = QLabel()
        self.scanned.setObjectName("scannedCode")
        self.ink = QComboBox()
        self.ink.setObjectName("lotInk")
        self.prepared = self._edit("lotPrepared", self.tr("Preparation date"), "YYYY-MM-DD")
        self.quantity = self._edit("lotQuantity", self.tr("Quantity prepared"), "e.g. 20")
        self.unit = QComboBox()
        self.unit.setObjectName("lotUnit")
        self.unit.addItems(["mL", "g"])
        self.container = self._edit(
            "lotContainer", self.tr("Syringe size or spool"), self.tr("e.g. 2 × 10 mL syringes")
        )
        self.beyond_use = self._edit(
            "lotBeyondUse",
            self.tr("Leave empty for preparation + the ink's stability; only earlier is allowed."),
            self.tr("from the ink's stability"),
        )
        self.assay = self._edit("lotAssay", self.tr("Bulk assay of the lot"), "e.g. 49.2")
        self.assay_basis = QComboBox()
        self.assay_basis.setObjectName("lotAssayBasis")
        self.assay_basis.addItem("mg/g", "mg_per_g")
        self.assay_basis.addItem(self.tr("% of label claim"), "pct_label_claim")
        self.uncertainty = self._edit("lotUncertainty", self.tr("Expanded uncertainty"), "± …")
        self.method = self._edit("lotMethod", self.tr("Analytical method"), "e.g. HPLC-UV, SOP 12")
        self.analyst = self._edit("lotAnalyst", self.tr("Who assayed the lot"))
        self.density = self._edit("lotDensity", self.tr("Measured density, g/mL (optional)"))
        assay = QHBoxLayout()
        for widget in (self.assay, self.assay_basis, QLabel("±"), self.uncertainty):
            assay.addWidget(widget)
        amount = QHBoxLayout()
        amount.addWidget(self.quantity)
        amount.addWidget(self.unit)
        form.addRow(self.tr("&Scan or type:"), self.scan)
        form.addRow("", self.scanned)
        form.addRow(self.tr("&Ink:"), self.ink)
        form.addRow(self.tr("&Prepared on:"), self.prepared)
        form.addRow(self.tr("Quantity:"), amount)
        form.addRow(self.tr("&Container:"), self.container)
        form.addRow(self.tr("&Beyond-use date:"), self.beyond_use)
        form.addRow(self.tr("Bulk assay:"), assay)
        form.addRow(self.tr("Method / analyst:"), self._pair(self.method, self.analyst))
        form.addRow(self.tr("&Density:"), self.density)
        self.add_button = QPushButton(self.tr("&Record lot"))
        self.add_button.setObjectName("addLotButton")
        self.add_button.clicked.connect(self.add_lot)
        form.addRow("", self.add_button)
        return self.add_group

    @staticmethod
    def _pair(left: QWidget, right: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(left, 2)
        row.addWidget(right, 1)
        return row

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.release_button = QPushButton(self.tr("Re&lease…"))
        self.release_button.setObjectName("releaseLotButton")
        self.release_button.clicked.connect(lambda: self.ask_signature("release"))
        self.reject_button = QPushButton(self.tr("Re&ject…"))
        self.reject_button.setObjectName("rejectLotButton")
        self.reject_button.clicked.connect(lambda: self.ask_signature("reject"))
        row.addWidget(self.release_button)
        row.addWidget(self.reject_button)
        row.addStretch(1)
        return row

    # -- state --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the lots and the inks a lot may be recorded for."""
        self.error.show_reason(None)
        lots = self._ws.lots
        try:
            self.rows = lots.rows()
            inks = lots.inks()
        except PrintpharmError as exc:
            self.rows, inks = [], []
            self.error.show_reason(str(exc))
        self.ink.clear()
        self.ink.addItems(inks)
        if not self.prepared.text():
            try:
                self.prepared.setText(lots.today().isoformat())
            except PrintpharmError:
                pass
        self.table.setRowCount(0)
        for row in self.rows:
            self._add_row(row)
        text = self.tr("{n} lot(s).").format(n=len(self.rows))
        if not inks:
            text += " " + self.tr(
                "No ink is locked in the library yet: a lot belongs to a locked ink version."
            )
        if not lots.may_add():
            text += " " + self.tr("Read-only: technicians and pharmacists record lots.")
        self.summary.setText(text)
        self.add_group.setEnabled(lots.may_add())
        self._update_buttons()

    def _add_row(self, row: LotRow) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        cells = (
            row.lot_number,
            row.ink,
            row.status,
            row.left,
            row.beyond_use,
            row.assay,
            row.prepared,
            row.preparer,
            row.gtin,
        )
        for col, text in enumerate(cells):
            self.table.setItem(index, col, QTableWidgetItem(text))

    def selected(self) -> LotRow | None:
        """The selected lot, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def select(self, lot_number: str) -> None:
        """Select a lot by number (keyboard users and tests)."""
        for index, row in enumerate(self.rows):
            if row.lot_number == lot_number:
                self.table.selectRow(index)
                return

    def _update_buttons(self) -> None:
        may, row = self._ws.lots.may_release(), self.selected()
        self.release_button.setEnabled(may and row is not None and row.status == "quarantine")
        self.reject_button.setEnabled(
            may and row is not None and row.status in ("quarantine", "released", "in use")
        )
        tip = self.tr("Select a lot.") if may else self.tr("Only a pharmacist may do this.")
        self.release_button.setToolTip(tip)
        self.reject_button.setToolTip(tip)

    # -- actions ------------------------------------------------------------------------
    def read_scan(self) -> None:
        """Read the scanned or typed code; fill in its beyond-use date and say what it holds."""
        self.error.show_reason(None)
        try:
            code = self._ws.lots.read_code(self.scan.text())
        except PrintpharmError as exc:
            self.scanned.clear()
            self.error.show_reason(str(exc))
            return
        parts = [self.tr("lot {n}").format(n=code.lot_number or "—")]
        if code.gtin:
            parts.append(f"GTIN {code.gtin}")
        if code.expiry:
            parts.append(self.tr("expiry {d}").format(d=code.expiry.isoformat()))
            self.beyond_use.setText(code.expiry.isoformat())
        kind = self.tr("GS1 code") if code.gs1 else self.tr("typed lot number")
        self.scanned.setText(f"{kind}: " + ", ".join(parts))
        self.quantity.setFocus()

    def form(self) -> LotForm:
        """The add-lot form as typed."""
        return LotForm(
            code=self.scan.text(),
            ink_id=self.ink.currentText(),
            prepared=self.prepared.text(),
            quantity=self.quantity.text(),
            unit=self.unit.currentText(),
            container=self.container.text(),
            beyond_use=self.beyond_use.text(),
            assay=self.assay.text(),
            assay_basis=str(self.assay_basis.currentData()),
            method=self.method.text(),
            analyst=self.analyst.text(),
            uncertainty=self.uncertainty.text(),
            density=self.density.text(),
        )

    def add_lot(self) -> None:
        """Record the lot (refusals shown as text)."""
        self.message.clear()
        self.error.show_reason(None)
        try:
            row = self._ws.lots.add(self.form())
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            return
        self.refresh()
        self.select(row.lot_number)
        for edit in (self.scan, self.quantity, self.beyond_use, self.assay, self.uncertainty):
            edit.clear()
        self.scanned.clear()
        self.message.setText(
            self.tr("Lot {n} recorded in quarantine; beyond-use date {d}.").format(
                n=row.lot_number, d=row.beyond_use
            )
        )

    def ask_signature(self, step: str) -> None:
        """Open the e-signature dialog to release or reject the selected lot."""
        row = self.selected()
        if row is None:
            return
        lots = self._ws.lots
        if step == "release":
            what = self.tr("Release ink lot {n} ({ink}); assay {a}").format(
                n=row.lot_number, ink=row.ink, a=row.assay
            )
            sign = lambda uid, pw, c: lots.release(row.lot_number, uid, pw, c)  # noqa: E731
        else:
            what = self.tr("Reject ink lot {n} ({ink}); the comment is the reason").format(
                n=row.lot_number, ink=row.ink
            )
            sign = lambda uid, pw, c: lots.reject(row.lot_number, uid, pw, c)  # noqa: E731
        user = self._ws.session.user
        dialog = SignatureDialog(what, sign, user.user_id if user else "", self)
        dialog.accepted.connect(lambda: self._signed(dialog))
        self.dialog = dialog
        dialog.open()

    def _signed(self, dialog: SignatureDialog) -> None:
        self.dialog = None
        self.refresh()
        self.message.setText(self.tr("Signed: {m}").format(m=dialog.manifestation or ""))
