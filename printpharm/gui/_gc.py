"""Collect reference cycles on the GUI thread only.

Why: CPython's cyclic garbage collector runs in whichever thread happens to
allocate when a threshold is reached — often a worker thread (planning,
printing). If the cycle holds Qt objects (a closed dialog and its slots),
their C++ side is then destroyed from that thread, which crashes Qt. As
pyqtgraph does, automatic collection is switched off and a GUI-thread timer
collects whenever the allocation counters pass CPython's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector"]


class GuiThreadCollector(QObject):
    """Disables automatic ``gc`` and collects from a GUI-thread timer every ``interval_ms``."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        """Switch automatic collection off and start the timer."""
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        """Stop the timer and give collection back to CPython."""
        self.timer.stop()
        gc.enable()

    def check(self) -> None:
        """Collect the oldest generation whose counter passed its threshold (as CPython would)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return
