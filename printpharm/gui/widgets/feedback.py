"""Inline error text beside a field, and PASS/FAIL verdict badges.

Colours come from the palette, except the two signal colours (error text and
verdict badges) which are chosen per light/dark palette for a contrast ratio of
at least 4.5:1 (WCAG AA) against the window background.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

__all__ = ["FieldError", "VerdictLabel", "error_colour", "is_dark"]

# Verdict badges: white on dark green / dark red (contrast > 7:1 both).
_PASS_BG, _FAIL_BG, _NEUTRAL_BG = "#1b5e20", "#b71c1c", "#455a64"


def is_dark(palette: QPalette) -> bool:
    """Whether the palette is a dark theme (window darker than its text)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_colour(palette: QPalette) -> QColor:
    """Error text colour readable on the palette's window background."""
    return QColor("#ff8a80") if is_dark(palette) else QColor("#b00020")


class FieldError(QLabel):
    """A one-line (wrapping) reason shown under a refused field; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("fieldError")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_reason(self, reason: str | None) -> None:
        """Show ``reason`` (prefixed by a warning sign), or hide when ``None``/empty."""
        if not reason:
            self.clear()
            self.hide()
            return
        self._recolour()
        self.setText("⚠ " + reason)
        self.setAccessibleDescription(reason)
        self.show()

    def _recolour(self) -> None:
        sheet = f"color: {error_colour(self.palette()).name()};"
        if sheet != self.styleSheet():  # restyling sends a palette change: only when needed
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        """Keep the error colour readable when the desktop switches light/dark."""
        if event.type() == QEvent.Type.PaletteChange and self.text():
            self._recolour()
        super().changeEvent(event)


class VerdictLabel(QLabel):
    """A coloured badge: PASS (green), FAIL (red) or a neutral state (grey)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdict")
        self.set_verdict(None, "—")

    def set_verdict(self, passed: bool | None, text: str) -> None:
        """Show ``text`` on green (``True``), red (``False``) or grey (``None``)."""
        bg = _NEUTRAL_BG if passed is None else (_PASS_BG if passed else _FAIL_BG)
        self.setStyleSheet(
            f"background: {bg}; color: #ffffff; font-weight: bold; padding: 4px 10px;"
            "border-radius: 4px;"
        )
        self.setText(text)
