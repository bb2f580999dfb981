"""Worker threads: results and errors come back on the GUI thread; a worker can ask and wait."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread

from printpharm.errors import DesignSpaceError
from printpharm.gui.workers import BlockingQuestion, EventBridge, TaskRunner
from printpharm.services.jobs import EventHub

pytestmark = pytest.mark.gui


def test_task_runner_returns_result_and_error(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner()
    seen: list[object] = []
    runner.finished.connect(lambda r: seen.append(("ok", r, QThread.currentThread())))
    runner.failed.connect(lambda e: seen.append(("err", e, QThread.currentThread())))
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(lambda: threading.get_ident())
    kind, worker_ident, delivered_on = seen[0]
    assert kind == "ok" and worker_ident != threading.get_ident()  # ran in another thread
    assert delivered_on is runner.thread()  # ...and was delivered on the GUI thread
    assert not runner.busy

    def refuse() -> None:
        raise DesignSpaceError("dose 45 mg is above the validated range")

    with qtbot.waitSignal(runner.failed, timeout=5000):
        runner.start(refuse)
    assert seen[1][0] == "err" and "validated range" in str(seen[1][1])


def test_busy_runner_refuses_a_second_task(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner()
    gate = threading.Event()
    runner.start(gate.wait)
    with pytest.raises(RuntimeError):
        runner.start(lambda: None)
    gate.set()
    assert runner.wait(5000)


def test_worker_asks_and_waits_for_the_gui_answer(qtbot) -> None:  # type: ignore[no-untyped-def]
    question = BlockingQuestion(default="abort")
    question.asked.connect(lambda q: question.answer(f"continue after {q}"))
    runner = TaskRunner()
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start(lambda: question.ask("balance unstable"))
    assert blocker.args == ["continue after balance unstable"]


def test_event_bridge_delivers_hub_events_from_a_worker(qtbot) -> None:  # type: ignore[no-untyped-def]
    hub, bridge = EventHub(), EventBridge()
    hub.subscribe(bridge.publish)
    got: list[object] = []
    bridge.received.connect(got.append)
    runner = TaskRunner()
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(lambda: [hub.publish(n) for n in range(5)])
    qtbot.waitUntil(lambda: len(got) == 5, timeout=5000)
    assert got == [0, 1, 2, 3, 4]
