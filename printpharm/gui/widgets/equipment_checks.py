"""Equipment — the guided routine balance check, and the cleaning log."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from printpharm.errors import PrintpharmError
from printpharm.gui.widgets.feedback import FieldError, VerdictLabel
from printpharm.gui.workers import TaskRunner
from printpharm.services.access.permissions import Operation
from printpharm.services.jobs import CancelToken
from printpharm.services.station.equipment_desk import EquipmentDesk

__all__ = ["BalanceCheckPanel", "CleaningPanel"]


class _Prompts(QObject):
    """Carries the check's instructions from the worker thread to the GUI thread."""

    said = Signal(str)


class BalanceCheckPanel(QWidget):
    """Runs the Ph. Eur. 2.1.7 / USP <41> routine check over the balance's MT-SICS link."""

    def __init__(self, desk: EquipmentDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self._cancel = CancelToken()
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "The routine check (daily, or as the site setting says): printpharm zeroes the "
                "balance, then asks you to put the certified check weight on and take it off at "
                "least 10 times, reading each weighing itself. It judges repeatability (2·s/m ≤ "
                "0.10 %) and accuracy (0.05 % Ph. Eur., 0.10 % USP) and finds the balance's "
                "minimum "
                "weight; a recorded batch needs a passed check today and no unit below that weight."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.port = QLabel()
        self.weight = QComboBox()
        self.weight.setObjectName("checkWeight")
        form.addRow(self.tr("Balance:"), self.port)
        form.addRow(self.tr("Check &weight:"), self.weight)
        layout.addLayout(form)
        self.start_button = QPushButton(self.tr("Start the &check"))
        self.start_button.setObjectName("startCheck")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(self.tr("Ca&ncel"))
        self.cancel_button.clicked.connect(lambda: self._cancel.cancel("cancelled by the operator"))
        layout.addWidget(self.start_button)
        layout.addWidget(self.cancel_button)
        self.instruction = QLabel()
        self.instruction.setObjectName("checkInstruction")
        self.instruction.setWordWrap(True)
        self.instruction.setStyleSheet("font-size: 14pt;")
        layout.addWidget(self.instruction)
        self.verdict = VerdictLabel()
        layout.addWidget(self.verdict)
        self.result = QLabel()
        self.result.setObjectName("checkResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)
        self.error = FieldError()
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.prompts = _Prompts(self)
        self.prompts.said.connect(self.instruction.setText)
        self.runner = TaskRunner(self)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)

    def refresh(self) -> None:
        """Reload the check weights and what the user may do."""
        self.port.setText(self.desk.balance_url)
        allowed = self.desk.may(Operation.CHECK_BALANCE)
        self.start_button.setEnabled(allowed and not self.runner.busy)
        self.weight.clear()
        if not self.desk.may(Operation.VIEW_RECORDS):
            return
        try:
            for w in self.desk.weights():
                self.weight.addItem(
                    f"{w.weight_id} — {w.nominal_g} g {w.weight_class}, "
                    f"certificate {w.certificate}",
                    w.weight_id,
                )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))

    def start(self) -> None:
        """Start the guided check in a worker thread."""
        weight = self.weight.currentData()
        if weight is None:
            self.error.show_reason(self.tr("register a check weight first"))
            return
        self._cancel = CancelToken()
        self.error.show_reason(None)
        self.result.clear()
        self.verdict.set_verdict(None, self.tr("checking"))
        self.start_button.setEnabled(False)
        desk, cancel, say = self.desk, self._cancel, self.prompts.said.emit
        self.runner.start(lambda: desk.check_balance(str(weight), say, cancel))

    def _finished(self, outcome: object) -> None:
        self.start_button.setEnabled(True)
        passed = bool(getattr(outcome, "passed", False))
        self.verdict.set_verdict(passed, self.tr("PASSED") if passed else self.tr("FAILED"))
        record = getattr(outcome, "record", None)
        self.instruction.setText(self.tr("Check finished: take the weight off the pan."))
        self.result.setText(
            self.tr("Balance {tag}: {rep}\nAccuracy: {acc}\nMinimum weight: {mw} mg").format(
                tag=getattr(outcome, "asset_tag", "?"),
                rep=getattr(outcome, "repeatability", ""),
                acc=getattr(outcome, "accuracy", ""),
                mw=getattr(record, "minimum_weight_mg", "?"),
            )
        )

    def _failed(self, error: object) -> None:
        self.start_button.setEnabled(True)
        self.verdict.set_verdict(False, self.tr("NOT DONE"))
        self.error.show_reason(str(error))


class CleaningPanel(QWidget):
    """Logs a cleaning of a printer or print head (a second person after a cytotoxic API)."""

    def __init__(self, desk: EquipmentDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Log each cleaning. After a batch with a cytotoxic ink the printer is cleaned by "
                "the "
                "site's cytotoxic procedure and a second person checks it; a printer whose last "
                "batch used another API (or a cytotoxic one) prints nothing until it is cleaned."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        group = QGroupBox(self.tr("Log a cleaning"))
        form = QFormLayout(group)
        self.tag = QLineEdit()
        self.tag.setObjectName("cleanTag")
        self.method = QLineEdit()
        self.method.setObjectName("cleanMethod")
        self.method.setPlaceholderText(self.tr("procedure followed, e.g. SOP-CLN-7"))
        self.parts = QLineEdit()
        self.parts.setObjectName("cleanParts")
        self.parts.setPlaceholderText(self.tr("what was cleaned: nozzle, holder, plate…"))
        self.cytotoxic = QCheckBox(self.tr("after a cytotoxic API (cytotoxic procedure)"))
        self.checker = QLineEdit()
        self.checker.setObjectName("cleanChecker")
        self.checker.setPlaceholderText(self.tr("second person's user ID"))
        self.checker_password = QLineEdit()
        self.checker_password.setObjectName("cleanCheckerPassword")
        self.checker_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.log_button = QPushButton(self.tr("&Log the cleaning"))
        self.log_button.setObjectName("logCleaning")
        self.log_button.clicked.connect(self.log)
        for label, widget in (
            (self.tr("Asset tag:"), self.tag),
            (self.tr("Procedure:"), self.method),
            (self.tr("Cleaned:"), self.parts),
            ("", self.cytotoxic),
            (self.tr("Checked by:"), self.checker),
            (self.tr("Their password:"), self.checker_password),
        ):
            form.addRow(label, widget)
        form.addRow(self.log_button)
        layout.addWidget(group)
        self.message = QLabel()
        self.message.setObjectName("cleaningMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.error = FieldError()
        layout.addWidget(self.error)
        layout.addStretch(1)

    def refresh(self) -> None:
        """Enable logging for the roles that clean."""
        self.log_button.setEnabled(self.desk.may(Operation.CLEAN_EQUIPMENT))

    def log(self) -> None:
        """Log the cleaning entered."""
        try:
            entry = self.desk.clean(
                self.tag.text().strip(),
                self.method.text(),
                self.parts.text(),
                self.cytotoxic.isChecked(),
                self.checker.text(),
                self.checker_password.text(),
            )
        except PrintpharmError as exc:
            self.error.show_reason(str(exc))
            self.checker_password.clear()
            return
        self.error.show_reason(None)
        self.checker_password.clear()
        checked = (
            self.tr(", checked by {who}").format(who=entry.checked_by) if entry.checked_by else ""
        )
        self.message.setText(
            self.tr("Cleaning of {tag} logged: {sop}{checked}.").format(
                tag=self.tag.text().strip(), sop=entry.method_sop, checked=checked
            )
        )
