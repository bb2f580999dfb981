"""The ink-lot field of the plan page: type the lot number or scan its label.

A USB barcode scanner in keyboard-wedge mode types the GS1 code followed by
Enter; Enter (or "Use this lot") emits :attr:`LotField.chosen` with the text,
and the page shows the service's check (released, in date, same ink and ink
version, enough ink left) with :meth:`LotField.show_check`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from printpharm.gui.widgets.feedback import VerdictLabel

__all__ = ["GS", "LotField", "ScanEdit"]

#: The GS1 group separator (FNC1) a scanner sends between variable-length fields.
GS = "\x1d"


class ScanEdit(QLineEdit):
    """A line edit that keeps the GS1 group separator a keyboard-wedge scanner types.

    A plain QLineEdit drops control characters; a scanner sends the separator (ASCII 29)
    as Ctrl+], and without it a lot number followed by an expiry would run together.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if event.text() == GS or (ctrl and event.key() == Qt.Key.Key_BracketRight):
            self.insert(GS)
            return
        super().keyPressEvent(event)


class LotField(QGroupBox):
    """Lot number or scanned code; emits ``chosen(str)``."""

    chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Ink lot"))
        self.setObjectName("lotField")
        column = QVBoxLayout(self)
        row = QHBoxLayout()
        self.code = ScanEdit()
        self.code.setObjectName("batchLot")
        self.code.setPlaceholderText(self.tr("scan the syringe or spool label, or type the lot"))
        self.code.setToolTip(
            self.tr("A released lot of this ink version with enough ink left for the batch.")
        )
        self.code.returnPressed.connect(self._emit)
        self.use_button = QPushButton(self.tr("&Use this lot"))
        self.use_button.setObjectName("useLotButton")
        self.use_button.clicked.connect(self._emit)
        row.addWidget(self.code, 1)
        row.addWidget(self.use_button)
        column.addLayout(row)
        self.verdict = VerdictLabel()
        self.verdict.setObjectName("lotVerdict")
        self.detail = QLabel()
        self.detail.setObjectName("lotDetail")
        self.detail.setWordWrap(True)
        column.addWidget(self.verdict)
        column.addWidget(self.detail)
        self.reset()

    def _emit(self) -> None:
        self.chosen.emit(self.code.text().strip())

    def reset(self) -> None:
        """No lot chosen yet."""
        self.code.clear()
        self.verdict.set_verdict(None, self.tr("no lot yet"))
        self.detail.setText(
            self.tr(
                "Without a released lot the batch records the ink file's example lot and is "
                "not for patient use."
            )  # fmt: skip
        )

    def show_check(self, passed: bool, detail: str) -> None:
        """Show the service's check of the lot."""
        self.verdict.set_verdict(passed, self.tr("lot accepted") if passed else self.tr("REFUSED"))
        self.detail.setText(detail)
