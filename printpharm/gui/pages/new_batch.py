"""New batch: prescription, dose rule with live BSA and dose, recipe, number of units.

The page computes nothing: after every keystroke it hands the typed text to
:meth:`Workstation.preview_dose` and shows what comes back, including each
refusal beside the field it concerns. ``Next`` stays disabled until the
preview is ``ready``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.dose_result import DoseResultPanel
from printpharm.gui.widgets.feedback import FieldError
from printpharm.services.station.workstation import (
    BSA_FORMULA_LABELS,
    BSA_FORMULAS,
    DoseForm,
    DoseOverride,
    DosePreview,
    Workstation,
)

__all__ = ["NewBatchPage"]


#: Field names as the technician reads them in "still needed".
_FIELD_LABELS = {
    "patient_id": "patient identifier",
    "prescriber": "prescriber",
    "amount": "amount",
    "height_cm": "height",
    "weight_kg": "weight",
    "bands": "weight bands",
    "recipe_id": "recipe",
}


def _boxed(widget: QWidget, error: FieldError) -> QWidget:
    """The field with its inline error underneath (one form row, so hidden errors take no room)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget)
    layout.addWidget(error)
    return box


def _vertical_scroll(content: QWidget) -> QScrollArea:
    """``content`` in a frameless area that scrolls up and down, never sideways."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(content)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def _narrow(combo: QComboBox) -> QComboBox:
    """A combo box whose width does not grow with its longest item (it elides instead)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


def _add_row(form: QFormLayout, label: str | QLabel, widget: QWidget, error: FieldError) -> QWidget:
    """Add ``widget`` with its inline error; the label's mnemonic focuses ``widget`` itself."""
    box = _boxed(widget, error)
    form.addRow(label, box)
    buddy = form.labelForField(box)
    if isinstance(buddy, QLabel):
        buddy.setBuddy(widget)
    return box


class NewBatchPage(QWidget):
    """The prescription form. Emits ``plan_requested(form, preview)`` on Next."""

    plan_requested = Signal(object, object)

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._preview = DosePreview()
        self._override: DoseOverride | None = None
        self.errors: dict[str, FieldError] = {}
        self._build()
        self._connect()
        self._on_rule_changed()

    # -- construction ------------------------------------------------------------------------

    def _line(self, name: str, placeholder: str, tip: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setToolTip(tip)
        edit.setClearButtonEnabled(True)
        self.errors[name] = FieldError()
        return edit

    def _build(self) -> None:
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 4, 0)
        column.addWidget(self._prescription_group())
        column.addWidget(self._dose_group())
        column.addWidget(self._recipe_group())
        column.addStretch(1)
        self.next_button = QPushButton(self.tr("&Next: plan the batch  ›"))
        self.next_button.setObjectName("nextButton")
        self.next_button.setEnabled(False)
        self.blocker = QLabel()
        self.blocker.setWordWrap(True)
        self.blocker.setObjectName("blocker")
        self.result_panel = DoseResultPanel()
        self.bsa_label = self.result_panel.bsa_label
        self.dose_label = self.result_panel.dose_label
        self.trail_label = self.result_panel.trail_label
        self.warnings_label = self.result_panel.warnings_label
        results = QWidget()
        side = QVBoxLayout(results)
        side.setContentsMargins(0, 0, 4, 0)
        side.addWidget(self.result_panel)
        side.addWidget(self._override_group())
        side.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(_vertical_scroll(results), 1)
        right.addWidget(self.blocker)
        right.addWidget(self.next_button)
        body = QHBoxLayout()  # both columns scroll vertically only: nothing is cut at the right
        body.addWidget(_vertical_scroll(inner), 1)
        body.addLayout(right, 1)
        outer = QVBoxLayout(self)
        title = QLabel(self.tr("New batch"))
        title.setObjectName("pageTitle")
        outer.addWidget(title)
        outer.addLayout(body, 1)

    def _prescription_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Prescription"))
        form = QFormLayout(group)
        self.patient = self._line(
            "patient_id",
            self.tr("pseudonym, e.g. P-2026-0147"),
            self.tr("The pseudonymised patient identifier from the prescription — never a name."),
        )
        self.prescriber = self._line(
            "prescriber", self.tr("name or registration number"), self.tr("Who prescribed it.")
        )
        self.drug = _narrow(QComboBox())
        self.drug.setObjectName("drug")
        self.drug.setToolTip(
            self.tr("The active substance; the recipe list shows only its recipes.")
        )
        for api in self._ws.drugs():
            self.drug.addItem(api.capitalize(), api)
        _add_row(form, self.tr("&Patient identifier:"), self.patient, self.errors["patient_id"])
        _add_row(form, self.tr("P&rescriber:"), self.prescriber, self.errors["prescriber"])
        form.addRow(self.tr("&Drug:"), self.drug)
        return group

    def _dose_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Dose rule"))
        self.dose_form = form = QFormLayout(group)
        self.rule = _narrow(QComboBox())
        self.rule.setObjectName("rule")
        self.rule.setToolTip(self.tr("How the prescribed amount becomes the dose of one unit."))
        for label, value in (
            (self.tr("mg per m² (body surface area)"), "per_m2"),
            (self.tr("mg per kg body weight"), "per_kg"),
            (self.tr("fixed mg per unit"), "fixed"),
            (self.tr("weight band table"), "weight_band"),
        ):
            self.rule.addItem(label, value)
        self.amount = self._line("amount", "", self.tr("The prescribed amount in the rule's unit."))
        self.height_cm = self._line("height_cm", self.tr("cm"), self.tr("Patient height in cm."))
        self.weight_kg = self._line("weight_kg", self.tr("kg"), self.tr("Patient weight in kg."))
        self.formula = _narrow(QComboBox())
        self.formula.setObjectName("formula")
        self.formula.setToolTip(
            self.tr("Body-surface-area formula (Mosteller unless the protocol says otherwise).")
        )
        for name in BSA_FORMULAS:
            self.formula.addItem(BSA_FORMULA_LABELS[name], name)
        self.bands = self._line(
            "bands",
            self.tr("e.g. ≤10: 5; ≤20: 10; >20: 20"),
            self.tr("Bands by ';': ≤ (<=) up to and incl., < below, > or ≥ last, * any above."),
        )
        self.cap = self._line(
            "cap_mg",
            self.tr("optional, mg"),
            self.tr("Maximum dose in mg, applied before rounding."),
        )
        self.step = self._line(
            "dose_step_mg",
            self.tr("default: the recipe's step"),
            self.tr("Round the dose half-up to a multiple of this step (mg)."),
        )
        self.amount_label = QLabel(self.tr("&Amount:"))
        self.amount_label.setBuddy(self.amount)
        form.addRow(self.tr("Dose r&ule:"), self.rule)
        _add_row(form, self.amount_label, self.amount, self.errors["amount"])
        _add_row(form, self.tr("He&ight (cm):"), self.height_cm, self.errors["height_cm"])
        _add_row(form, self.tr("&Weight (kg):"), self.weight_kg, self.errors["weight_kg"])
        form.addRow(self.tr("BSA f&ormula:"), self.formula)
        _add_row(form, self.tr("Weight &bands:"), self.bands, self.errors["bands"])
        _add_row(form, self.tr("&Cap (mg):"), self.cap, self.errors["cap_mg"])
        _add_row(form, self.tr("Rounding s&tep (mg):"), self.step, self.errors["dose_step_mg"])
        return group

    def _recipe_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Recipe and units"))
        form = QFormLayout(group)
        self.recipe = _narrow(QComboBox())
        self.recipe.setObjectName("recipe")
        self.recipe.setToolTip(
            self.tr("Validated, locked recipes for this drug, with their dose range.")
        )
        self.errors["recipe_id"] = FieldError()
        self.recipe_info = QLabel()
        self.recipe_info.setWordWrap(True)
        self.units = QSpinBox()
        self.units.setObjectName("units")
        self.units.setRange(1, 200)
        self.units.setValue(20)
        self.units.setToolTip(self.tr("How many units to print (Ph. Eur. 2.9.5 needs 20)."))
        self.errors["units"] = FieldError()
        box = _add_row(form, self.tr("R&ecipe:"), self.recipe, self.errors["recipe_id"])
        box_layout = box.layout()
        if box_layout is not None:
            box_layout.addWidget(self.recipe_info)
        _add_row(form, self.tr("Nu&mber of units:"), self.units, self.errors["units"])
        if self._ws.catalog_error:
            self.errors["recipe_id"].show_reason(self._ws.catalog_error)
        return group

    def _override_group(self) -> QGroupBox:
        """A pharmacist's signed override of a dose that rounding moved outside its tolerance."""
        self.override_group = group = QGroupBox(self.tr("Dose override (pharmacist)"))
        group.setObjectName("doseOverride")
        form = QFormLayout(group)
        note = QLabel(
            self.tr(
                "Refused: the rounded dose is outside the rounding tolerance. A pharmacist (not "
                "you) may sign an override: own user ID, password and a reason (on the record)."
            )
        )
        note.setWordWrap(True)
        form.addRow(note)
        self.override_user = QLineEdit()
        self.override_user.setObjectName("override_user")
        self.override_password = QLineEdit()
        self.override_password.setObjectName("override_password")
        self.override_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.override_reason = QLineEdit()
        self.override_reason.setObjectName("override_reason")
        self.override_reason.setPlaceholderText(self.tr("e.g. protocol allows ±35 % for this age"))
        self.override_button = QPushButton(self.tr("Si&gn override"))
        self.override_button.setObjectName("overrideButton")
        self.override_error = FieldError()
        for text, edit in (
            (self.tr("Pharmacist's user &ID:"), self.override_user),
            (self.tr("Pass&word:"), self.override_password),
            (self.tr("Rea&son:"), self.override_reason),
        ):
            form.addRow(text, edit)
        form.addRow(self.override_error)
        form.addRow(self.override_button)
        self.override_button.clicked.connect(self._sign_override)
        self.override_reason.returnPressed.connect(self.override_button.click)
        self.override_status = QLabel()
        self.override_status.setObjectName("overrideStatus")
        self.override_status.setWordWrap(True)
        form.addRow(self.override_status)
        group.hide()
        return group

    def _sign_override(self) -> None:
        """The pharmacist's override: the service judges the credentials, role and reason."""
        password = self.override_password.text()
        self.override_password.clear()
        try:
            self._override = self._ws.sign_override(
                self.form(),
                self._preview,
                self.override_user.text().strip(),
                password,
                self.override_reason.text(),
            )
        except PrintpharmError as exc:
            self.override_error.show_reason(self.tr("Not signed: {why}").format(why=exc))
            return
        self.override_error.show_reason(None)
        self.override_user.clear()
        self.override_reason.clear()
        self.refresh()
        if self.next_button.isEnabled():
            self.next_button.setFocus()

    def _show_override(self, preview: DosePreview) -> None:
        refused = preview.refusal is not None and preview.result is not None
        self.override_group.setVisible(refused)
        for widget in (self.override_user, self.override_password, self.override_reason):
            widget.setEnabled(preview.override is None)
        self.override_button.setVisible(preview.override is None)
        self.override_status.setText(
            preview.override.describe() if preview.override is not None else ""
        )

    def _connect(self) -> None:
        edits = (self.patient, self.prescriber, self.amount, self.height_cm, self.weight_kg)
        for edit in (*edits, self.bands, self.cap, self.step):
            edit.textChanged.connect(self.refresh)
            edit.returnPressed.connect(self._on_enter)
        self.drug.currentIndexChanged.connect(self._fill_recipes)
        self.rule.currentIndexChanged.connect(self._on_rule_changed)
        for combo in (self.formula, self.recipe):
            combo.currentIndexChanged.connect(self.refresh)
        self.units.valueChanged.connect(self.refresh)
        self.next_button.clicked.connect(self._on_next)
        self._fill_recipes()
        order = [self.patient, self.prescriber, self.drug, self.rule, self.amount, self.height_cm]
        order += [self.weight_kg, self.formula, self.bands, self.cap, self.step, self.recipe]
        order += [self.units, self.override_user, self.override_password, self.override_reason]
        order += [self.override_button, self.next_button]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # -- behaviour ---------------------------------------------------------------------------

    def form(self) -> DoseForm:
        """The form as typed (text, untouched)."""
        return DoseForm(
            patient_id=self.patient.text(),
            prescriber=self.prescriber.text(),
            rule=str(self.rule.currentData()),
            amount=self.amount.text(),
            height_cm=self.height_cm.text(),
            weight_kg=self.weight_kg.text(),
            formula=str(self.formula.currentData()),
            bands=self.bands.text(),
            cap_mg=self.cap.text(),
            dose_step_mg=self.step.text(),
            units=self.units.value(),
            recipe_id=self.recipe.currentData(),
        )

    @property
    def preview(self) -> DosePreview:
        """The last preview shown."""
        return self._preview

    def _fill_recipes(self) -> None:
        self.recipe.blockSignals(True)
        self.recipe.clear()
        for option in self._ws.recipes(self.drug.currentData()):
            self.recipe.addItem(f"{option.name}  [{option.range_text}]", option.id)
        self.recipe.blockSignals(False)
        self.refresh()

    def _on_rule_changed(self) -> None:
        rule = str(self.rule.currentData())
        unit = {"per_m2": "mg/m²", "per_kg": "mg/kg", "fixed": "mg", "weight_band": "mg"}[rule]
        self.amount_label.setText(self.tr("&Amount ({unit}):").format(unit=unit))
        self.amount.setPlaceholderText(unit)
        self.dose_form.setRowVisible(self.formula, rule == "per_m2")
        self.dose_form.setRowVisible(self.amount_label, rule != "weight_band")
        bands_row = self.bands.parentWidget()
        if bands_row is not None:
            self.dose_form.setRowVisible(bands_row, rule == "weight_band")
        self.refresh()

    def refresh(self) -> None:
        """Recompute the preview from the typed text and show it."""
        preview = self._ws.preview_dose(self.form(), self._override)
        self._preview = preview
        for name, label in self.errors.items():
            if name == "recipe_id" and self._ws.catalog_error:
                continue
            label.show_reason(preview.errors.get(name))
        self._show_result(preview)
        self._show_override(preview)
        self.next_button.setEnabled(preview.ready)
        self._show_blocker(preview)

    def _show_result(self, preview: DosePreview) -> None:
        recipe = preview.recipe
        self.recipe_info.setText(
            self.tr("Validated range {range}. {status}").format(
                range=recipe.range_text, status=recipe.validation_status
            )
            if recipe is not None
            else ""
        )
        self.result_panel.show_preview(preview)

    def _show_blocker(self, preview: DosePreview) -> None:
        if preview.ready:
            self.blocker.setText(self.tr("Ready: press Enter or Alt+N to plan the batch."))
        elif preview.errors:
            self.blocker.setText(self.tr("Not ready: correct the fields marked ⚠ above."))
        elif preview.refusal is not None and preview.override is None and not preview.missing:
            self.blocker.setText(
                self.tr(
                    "Not ready: the rounded dose is outside the rounding tolerance. Change the "
                    "prescription, or a pharmacist signs an override above."
                )
            )
        else:
            names = ", ".join(self.tr(_FIELD_LABELS.get(m, m)) for m in preview.missing)
            self.blocker.setText(self.tr("Not ready: still needed — {names}.").format(names=names))

    def _on_enter(self) -> None:
        if self._preview.ready:
            self._on_next()
        else:
            self.focusNextChild()

    def _on_next(self) -> None:
        if self._preview.ready:
            self.plan_requested.emit(self.form(), self._preview)
