"""The mode banner: LOCKED (validated recipes only) or RESEARCH until hh:mm, by whom."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from printpharm.services.workstation import ModeStatus

__all__ = ["ModeBanner"]

# White on dark blue (locked) and black on amber (research): contrast > 8:1 both.
_LOCKED = "background: #0d47a1; color: #ffffff;"
_RESEARCH = "background: #ffb300; color: #000000;"


class ModeBanner(QLabel):
    """A full-width strip that always says which mode the workstation is in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modeBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.set_status(ModeStatus())

    def set_status(self, status: ModeStatus) -> None:
        """Render ``status``: the text, its colours and its tooltip."""
        style = "font-weight: bold; padding: 6px; font-size: 11pt;"
        if not status.research:
            self.setText(self.tr("LOCKED MODE — validated recipes and dose ranges only"))
            self.setStyleSheet(_LOCKED + style)
            self.setToolTip(
                self.tr(
                    "Doses and process parameters outside a recipe's validated range are "
                    "refused. A supervisor can unlock research mode for a limited time."
                )
            )
            return
        until = status.until.strftime("%H:%M") if status.until else "?"
        who = status.unlocked_by or "?"
        self.setText(
            self.tr("RESEARCH MODE until {until} — unlocked by {who}").format(until=until, who=who)
        )
        self.setStyleSheet(_RESEARCH + style)
        reason = status.reason or ""
        self.setToolTip(
            self.tr("Research mode: not for patient batches. Reason: {reason}").format(
                reason=reason
            )
        )
