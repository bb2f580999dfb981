"""A page whose service has not landed yet: it says so, and what it will do."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

__all__ = ["PendingPage"]


class PendingPage(QWidget):
    """Title, what the page is for, and why it is not available yet."""

    def __init__(
        self, title: str, purpose: str, reason: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        layout.addWidget(heading)
        text = QLabel(purpose)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.reason_label = QLabel()
        self.reason_label.setObjectName("pendingReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setFrameShape(QLabel.Shape.StyledPanel)
        self.reason_label.setMargin(12)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.reason_label)
        layout.addStretch(1)
        self.set_reason(reason)

    def set_reason(self, reason: str | None) -> None:
        """Show why the page cannot be used yet (hidden when ``None``)."""
        self.reason_label.setVisible(bool(reason))
        self.reason_label.setText(self.tr("Not available yet: {reason}.").format(reason=reason))
