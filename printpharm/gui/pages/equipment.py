"""Equipment and training: the register, the balance check, cleaning, training records."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from printpharm.gui.widgets.equipment_checks import BalanceCheckPanel, CleaningPanel
from printpharm.gui.widgets.equipment_register import EquipmentRegisterPanel
from printpharm.gui.widgets.training import TrainingPanel
from printpharm.services.station.equipment_desk import EquipmentDesk
from printpharm.services.station.workstation import Workstation

__all__ = ["EquipmentPage"]


class EquipmentPage(QWidget):
    """Four tabs: register, balance check, cleaning log, training."""

    def __init__(self, workstation: Workstation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = EquipmentDesk(workstation.session, workstation.config.balance_url)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Equipment and training"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("equipmentTabs")
        layout.addWidget(self.tabs, 1)
        self.register = EquipmentRegisterPanel(self.desk)
        self.check = BalanceCheckPanel(self.desk)
        self.cleaning = CleaningPanel(self.desk)
        self.training = TrainingPanel(self.desk)
        for widget, name in (
            (self.register, self.tr("&Register")),
            (self.check, self.tr("&Balance check")),
            (self.cleaning, self.tr("C&leaning")),
            (self.training, self.tr("&Training")),
        ):
            self.tabs.addTab(widget, name)

    def refresh(self) -> None:
        """Reload every tab for the user logged in."""
        for panel in (self.register, self.check, self.cleaning, self.training):
            panel.refresh()
