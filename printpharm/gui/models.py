"""Qt item models adapting service results for views."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from printpharm.core.uniformity import MassUniformityResult
from printpharm.services.station.workstation import format_mass

__all__ = ["UnitMassModel"]

_Index = QModelIndex | QPersistentModelIndex


class UnitMassModel(QAbstractTableModel):
    """Per-unit masses (mg) and their deviation from the average (%) under Ph. Eur. 2.9.5."""

    HEADERS = ("Unit", "Mass (mg)", "Deviation (%)", "2.9.5")

    def __init__(self) -> None:
        super().__init__()
        self._masses: tuple[Decimal, ...] = ()
        self._result: MassUniformityResult | None = None

    def set_data(self, masses_mg: tuple[Decimal, ...], result: MassUniformityResult | None) -> None:
        """Replace the rows: the masses, and the 2.9.5 result if it could be computed."""
        self.beginResetModel()
        self._masses = masses_mg
        self._result = result
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Number of units."""
        return 0 if parent.isValid() else len(self._masses)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Unit, mass, deviation, verdict."""
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        """Column titles."""
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        """The cell text."""
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row, col = index.row(), index.column()
        if col == 0:
            return str(row + 1)
        if col == 1:
            return format_mass(self._masses[row])
        if self._result is None:
            return "—"
        if col == 2:
            return f"{self._result.deviations_pct[row].quantize(Decimal('0.01')):+}"
        unit = row + 1
        if unit in self._result.units_outside_twice_limit:
            return "beyond 2× limit"
        if unit in self._result.units_outside_limit:
            return "beyond limit"
        return "within"
