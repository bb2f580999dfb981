"""EventHub delivery and CancelToken semantics (no Qt, real threads)."""

from __future__ import annotations

import threading

import pytest

from printpharm.errors import RunAborted
from printpharm.services.jobs import CancelToken, EventHub


def test_events_reach_every_subscriber_in_order_until_unsubscribed() -> None:
    hub = EventHub()
    first: list[object] = []
    second: list[object] = []
    hub.subscribe(first.append)
    unsubscribe = hub.subscribe(second.append)
    hub.publish("a")
    unsubscribe()
    unsubscribe()  # idempotent
    hub.publish("b")
    assert first == ["a", "b"]
    assert second == ["a"]


def test_a_failing_subscriber_propagates_to_the_publisher() -> None:
    hub = EventHub()

    def broken(event: object) -> None:
        raise RuntimeError(f"display broke on {event}")

    hub.subscribe(broken)
    with pytest.raises(RuntimeError, match="display broke on x"):
        hub.publish("x")


def test_cancel_keeps_the_first_reason_and_raises_run_aborted() -> None:
    token = CancelToken()
    token.raise_if_cancelled()  # not cancelled: nothing happens
    assert not token.cancelled and token.reason == ""
    token.cancel("operator pressed stop")
    token.cancel("second reason is ignored")
    assert token.cancelled
    with pytest.raises(RunAborted, match="operator pressed stop"):
        token.raise_if_cancelled()


def test_on_cancel_runs_once_in_the_cancelling_thread_or_at_once_if_late() -> None:
    token = CancelToken()
    seen: list[str] = []
    token.on_cancel(lambda: seen.append(threading.current_thread().name))
    removed = token.on_cancel(lambda: seen.append("removed"))
    removed()
    worker = threading.Thread(target=token.cancel, name="canceller")
    worker.start()
    worker.join()
    assert seen == ["canceller"]
    token.cancel()
    assert seen == ["canceller"]  # not called twice
    token.on_cancel(lambda: seen.append("late"))
    assert seen == ["canceller", "late"]
