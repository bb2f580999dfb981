"""The build plate shared by a linked printer simulator and plate balance.

The printer adds what it deposits (the volume it pushed out and the mass that
landed, see :mod:`.process`); the balance weighs the mass and counts its tares,
which number the units (the host tares before each unit), so a fault can target
"unit 3" without relying on G-code comments that hosts strip.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Plate"]


@dataclass
class Plate:
    """Deposited volume (mm³) and mass (mg), and the current unit number (tares so far)."""

    deposited_mm3: float = 0.0
    deposited_mg: float = 0.0
    unit: int = 0
    changes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deposit(self, volume_mm3: float, mass_mg: float) -> None:
        """Add ``volume_mm3`` that weighs ``mass_mg`` to the plate."""
        if volume_mm3 == 0 and mass_mg == 0:
            return
        with self._lock:
            self.deposited_mm3 += volume_mm3
            self.deposited_mg += mass_mg
            self.changes += 1

    def next_unit(self) -> None:
        """Count one tare: the next deposit belongs to the next unit."""
        with self._lock:
            self.unit += 1

    def set_unit(self, unit: int) -> None:
        """Set the unit number explicitly (``M118 PRINTPHARM UNIT n``)."""
        with self._lock:
            self.unit = unit
