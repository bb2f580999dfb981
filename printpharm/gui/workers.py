"""Run long service calls off the GUI thread.

:class:`TaskRunner` runs a plain callable in a :class:`QThread` and reports its
result or its :class:`~printpharm.errors.PrintpharmError` back on the GUI
thread through signals, so a page never blocks the event loop (planning,
printing and weighing take seconds to minutes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["BlockingQuestion", "EventBridge", "TaskRunner"]


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
        finally:
            # End the thread's event loop now, so wait() returns even while the GUI
            # thread is busy (e.g. closing the window) and has not handled the signal.
            thread = QThread.currentThread()
            if thread is not None:
                thread.quit()


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


class EventBridge(QObject):
    """Re-emits service events (published in a worker thread) as a Qt signal on the GUI thread.

    Subscribe :meth:`publish` to a :class:`~printpharm.services.jobs.EventHub`;
    connect ``received`` to the page. The signal crosses threads queued, so the
    slot always runs on the GUI thread.
    """

    received = Signal(object)

    def publish(self, event: object) -> None:
        """Called by the hub in the worker thread."""
        self.received.emit(event)


class BlockingQuestion(QObject):
    """Lets a worker thread ask the GUI a question and wait for the answer.

    The worker calls :meth:`ask` (blocks); the GUI receives ``asked(question)``
    and calls :meth:`answer`. :meth:`cancel` releases a waiting worker with
    ``default`` (used when the window closes).
    """

    asked = Signal(object)

    def __init__(self, default: object, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._default = default
        self._event = threading.Event()
        self._answer: object = default

    def ask(self, question: object) -> object:
        """Emit ``asked`` and block the calling (worker) thread until answered."""
        self._event.clear()
        self._answer = self._default
        self.asked.emit(question)
        self._event.wait()
        return self._answer

    def answer(self, value: object) -> None:
        """Give the answer (GUI thread) and release the worker."""
        self._answer = value
        self._event.set()

    def cancel(self) -> None:
        """Release a waiting worker with the default answer."""
        self.answer(self._default)
