"""Idle lock and research-mode expiry, watched from the GUI thread.

:class:`SessionGuard` forwards keyboard and mouse activity to the auth service
(at most every few seconds) and, once the user has been idle longer than the
site's timeout, asks the service to check the session: the service then locks
it and the guard emits ``locked``. It also re-reads the mode regularly so the
banner turns back to LOCKED when a research period expires.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from printpharm.errors import SessionExpired
from printpharm.services.station.workstation import StationSession

__all__ = ["SessionGuard"]

_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
_FORWARD_EVERY_S = 5.0


class SessionGuard(QObject):
    """Emits ``locked(str)`` with the reason when the session locks, ``tick`` every poll."""

    locked = Signal(str)
    tick = Signal()

    def __init__(self, session: StationSession, poll_ms: int = 1000) -> None:
        super().__init__()
        self._session = session
        self._last_input: datetime = session.now()
        self._last_forwarded: datetime = self._last_input
        self._active = False
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        """Start watching (after a login or an unlock)."""
        self._last_input = self._last_forwarded = self._session.now()
        self._active = True
        self.timer.start()

    def stop(self) -> None:
        """Stop watching (logged out, or locked)."""
        self._active = False
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Note user input; never consumes the event."""
        if self._active and event.type() in _ACTIVITY:
            now = self._session.now()
            self._last_input = now
            if (now - self._last_forwarded).total_seconds() >= _FORWARD_EVERY_S:
                self._last_forwarded = now
                self._check()
        return False

    def poll(self) -> None:
        """Lock when idle past the timeout; emit ``tick`` for periodic refreshes."""
        if not self._active or self._session.user is None:
            return
        idle_s = (self._session.now() - self._last_input).total_seconds()
        if idle_s > self._session.idle_timeout_s:
            self._check()
        self.tick.emit()

    def _check(self) -> None:
        try:
            self._session.touch()
        except SessionExpired as exc:
            self.stop()
            self.locked.emit(str(exc))
