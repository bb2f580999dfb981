"""The mode banner: LOCKED (validated recipes only) or RESEARCH until hh:mm, by whom."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from printpharm.services.station.workstation import ModeStatus, PrintAuthorisation

__all__ = ["IntegrityBanner", "ModeBanner", "PatientUseBanner"]

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


# White on dark red: contrast > 7:1; the words carry the meaning, not the colour.
_NOT_FOR_PATIENT = "background: #b71c1c; color: #ffffff; font-weight: bold; padding: 6px;"


class PatientUseBanner(QLabel):
    """``NOT FOR PATIENT USE`` and why, and any ``DOSE OVERRIDE`` the batch prints under.

    Shown on the plan, print and QC pages whenever either applies.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientUseBanner")
        self.setWordWrap(True)
        self.setStyleSheet(_NOT_FOR_PATIENT)
        self.hide()

    def set_authorisation(self, authorisation: PrintAuthorisation | None) -> None:
        """Show why the batch is not for patient use and its dose override; hide if neither."""
        lines = []
        if authorisation is not None and authorisation.allowed:
            if authorisation.dose_override is not None:
                lines.append(authorisation.dose_override.describe())
            if not authorisation.patient_use:
                why = "; ".join(authorisation.problems)
                lines.append(self.tr("NOT FOR PATIENT USE — {why}").format(why=why))
        self.setText("\n".join(lines))
        self.setVisible(bool(lines))


# The first problem inside the message of a failed check (see RecordsServices._fail).
_FIRST = re.compile(r"first: (.*)\)\. Production is read-only", re.S)

# White on near-black red: contrast > 10:1; the words carry the meaning, not the colour.
_INTEGRITY = "background: #7f0000; color: #ffffff; font-weight: bold; padding: 8px;"


class IntegrityBanner(QLabel):
    """Shown while the records failed their integrity check: production is read-only.

    It says what happened and what the administrator does; it stays until the
    program is restarted on records that verify.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrityBanner")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(_INTEGRITY)
        self.hide()

    def set_problem(self, problem: str | None) -> None:
        """Show ``problem`` (the failed check's message), or hide the banner when ``None``."""
        if problem is None:
            self.clear()
            self.hide()
            return
        found = _FIRST.search(problem)
        self.setText(
            self.tr(
                "⚠ RECORDS INTEGRITY CHECK FAILED — production is read-only: printing, "
                "signing and changes are refused; records can still be viewed and exported. "
                "Call the administrator.\nFound: {found}\nAdministrator: run `printpharm "
                "audit verify`, compare with the last verified backup and the anchor log, "
                "and follow docs/SECURITY.md ('Integrity failure')."
            ).format(found=found.group(1) if found else problem)
        )
        self.setToolTip(problem)
        self.setAccessibleName(self.tr("Records integrity alarm"))
        self.show()
