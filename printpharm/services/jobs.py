"""Qt-free progress reporting and cancellation for long jobs (a print run, a calibration).

A job publishes plain dataclass events to an :class:`EventHub`; the CLI prints
them, the GUI's worker re-emits them as Qt signals (``gui/workers.py``), tests
collect them in a list. A :class:`CancelToken` is handed to the job, which checks
it between lines and units; whoever holds the token (another thread, a button)
calls :meth:`CancelToken.cancel`. Nothing here imports Qt or does I/O.

Typical use::

    hub = EventHub()
    events = []
    hub.subscribe(events.append)
    token = CancelToken()
    run_batch(request, devices, hub=hub, cancel=token)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from printpharm.errors import RunAborted

__all__ = ["CancelToken", "EventHub", "Subscriber", "Unsubscribe"]

#: A subscriber receives every event the job publishes, in the job's thread.
Subscriber = Callable[[Any], None]
#: Calling it removes the subscription (idempotent).
Unsubscribe = Callable[[], None]


class EventHub:
    """Delivers events to subscriber callables, in subscription order.

    Subscribers run synchronously in the publishing (job) thread: a GUI adapter
    must hand the event to its own thread (a queued Qt signal). An exception in
    a subscriber propagates to the job, which then stops and makes its devices
    safe: a broken display must not let a print run on unobserved.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Unsubscribe:
        """Add ``subscriber``; return a function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Any) -> None:
        """Deliver ``event`` to every current subscriber."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)


class CancelToken:
    """A thread-safe request to stop a job, with the reason and who asked.

    The job calls :meth:`raise_if_cancelled` (or reads :attr:`cancelled`) at its
    check points. Callbacks registered with :meth:`on_cancel` run in the
    cancelling thread at once, so a job can interrupt a blocking call (e.g.
    abort a G-code stream) instead of waiting for its next check point.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason = ""
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` has been called."""
        return self._event.is_set()

    @property
    def reason(self) -> str:
        """Why the job was cancelled ("" while it is not)."""
        return self._reason

    def cancel(self, reason: str = "cancelled by the operator") -> None:
        """Ask the job to stop; the first reason given is kept. Idempotent."""
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Unsubscribe:
        """Run ``callback`` when the token is cancelled (at once if it already is)."""
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._callbacks.append(callback)
        if already:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~printpharm.errors.RunAborted` with the reason if cancelled.

        Raises
        ------
        RunAborted
            The token was cancelled.
        """
        if self._event.is_set():
            raise RunAborted(self._reason)
