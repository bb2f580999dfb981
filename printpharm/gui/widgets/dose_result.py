"""The live result of the new-batch form: BSA, dose per unit, how it was reached, warnings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from printpharm.gui.widgets.feedback import error_colour
from printpharm.services.station.workstation import (
    BSA_FORMULA_LABELS,
    DosePreview,
    describe_dose,
    flag_lines,
    format_bsa,
    format_mg,
)

__all__ = ["DoseResultPanel"]


class DoseResultPanel(QGroupBox):
    """Shows a :class:`DosePreview`; a dose the recipe refuses is marked as refused."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Result (updates as you type)"))
        column = QVBoxLayout(self)
        self.bsa_label = QLabel("—")
        self.bsa_label.setObjectName("bsaLabel")
        self.dose_label = QLabel("—")
        self.dose_label.setObjectName("doseLabel")
        self.trail_label = QLabel()
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("warningsLabel")
        rows = (
            (self.tr("Body surface area"), self.bsa_label),
            (self.tr("Dose per unit"), self.dose_label),
            (self.tr("How it was reached"), self.trail_label),
            (self.tr("Flags and warnings"), self.warnings_label),
        )
        for caption, label in rows:
            heading = QLabel(caption)
            heading.setObjectName("resultCaption")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            column.addWidget(heading)
            column.addWidget(label)

    def show_preview(self, preview: DosePreview) -> None:
        """Render the BSA, the dose (or why there is none), how it was reached and every flag."""
        if preview.bsa_m2 is not None and preview.bsa_formula is not None:
            self.bsa_label.setText(
                f"{format_bsa(preview.bsa_m2)}  ({BSA_FORMULA_LABELS[preview.bsa_formula]})"
            )
        elif preview.result is not None and preview.result.bsa_m2 is None:
            self.bsa_label.setText(self.tr("— (not used by this dose rule)"))
        elif {"height_cm", "weight_kg"} & preview.errors.keys():
            self.bsa_label.setText(self.tr("— (height or weight refused, see ⚠)"))
        else:
            self.bsa_label.setText(self.tr("— (enter height and weight)"))
        notes = [f"• {n}" for n in preview.notes]
        result = preview.result
        if result is None:
            self._set_dose_text("—", refused=False)
            self.trail_label.setText("")
            self.warnings_label.setText("\n".join(notes))
            return
        doses = " + ".join(format_mg(d) for d in result.unit_doses_mg)
        if "recipe_id" in preview.errors:
            text, refused = self.tr("{doses} — refused by the recipe"), True
        elif preview.refusal is not None and preview.override is None:
            text, refused = self.tr("{doses} — refused: outside the rounding tolerance"), True
        elif preview.override is not None:
            text, refused = self.tr("{doses} — printed under a pharmacist's override"), True
        else:
            text, refused = "{doses}", False
        self._set_dose_text(text.format(doses=doses), refused)
        self.trail_label.setText("\n".join(describe_dose(result, flags=False)))
        lines = [f"⚑ {line}" for line in flag_lines(result)] + notes
        self.warnings_label.setText("\n".join(lines))

    def _set_dose_text(self, text: str, refused: bool) -> None:
        colour = f"color: {error_colour(self.palette()).name()};" if refused else ""
        self.dose_label.setStyleSheet(f"font-size: 14pt; font-weight: bold; {colour}")
        self.dose_label.setText(("⚠ " if refused else "") + text)
