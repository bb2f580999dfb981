"""Run long service calls off the GUI thread.

:class:`TaskRunner` runs a plain callable in a :class:`QThread` and reports its
result or its :class:`~printpharm.errors.PrintpharmError` back on the GUI
thread through signals, so a page never blocks the event loop (planning,
printing and weighing take seconds to minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["TaskRunner"]


class _Job(QObject):
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, func: Callable[[], Any]) -> None:
        super().__init__()
        self._func = func

    @Slot()
    def run(self) -> None:
        try:
            result = self._func()
        except Exception as exc:  # top of a worker thread: hand every error to the GUI
            self.failed.emit(exc)
        else:
            self.finished.emit(result)


class TaskRunner(QObject):
    """Runs one callable at a time in its own thread.

    Signals
    -------
    finished(object)
        The callable's return value (delivered on the GUI thread).
    failed(object)
        The exception it raised.
    """

    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._job: _Job | None = None

    @property
    def busy(self) -> bool:
        """Whether a callable is running."""
        return self._thread is not None

    def start(self, func: Callable[[], Any]) -> None:
        """Run ``func()`` in a new thread.

        Raises
        ------
        RuntimeError
            A previous call is still running.
        """
        if self._thread is not None:
            raise RuntimeError("a task is already running")
        thread = QThread()
        job = _Job(func)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        self._thread, self._job = thread, job
        thread.start()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the running thread ends (for shutdown and tests)."""
        return self._thread.wait(timeout_ms) if self._thread is not None else True

    def _stop(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread, self._job = None, None

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._stop()
        self.finished.emit(result)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        self._stop()
        self.failed.emit(error)
