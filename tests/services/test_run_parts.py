"""The parts a print run is composed of work on their own, through their small interfaces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from printpharm.services.jobs import EventHub
from printpharm.services.run.alarm_policy import PAUSABLE, AlarmPolicy
from printpharm.services.run.events import Alarm
from printpharm.services.run.parts import RunLedger, StopRun
from printpharm.services.run.recording import MemoryRecorder
from printpharm.services.run.result import AlarmKind, AlarmRecord, OperatorDecision

_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return _AT


class _Refusing(MemoryRecorder):
    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        return "nobody acknowledged it"


def _policy(
    policy: str, operator: Any = None, recorder: MemoryRecorder | None = None
) -> tuple[AlarmPolicy, RunLedger, MemoryRecorder, list[Any]]:
    hub, events = EventHub(), []
    hub.subscribe(events.append)
    recorder = recorder or MemoryRecorder()
    ledger = RunLedger("B-1", _AT)
    return AlarmPolicy(policy, operator, recorder, hub, ledger, _Clock()), ledger, recorder, events


def test_stop_policy_stops_the_run_and_records_the_alarm_once() -> None:
    alarms, ledger, recorder, events = _policy("stop")
    with pytest.raises(StopRun) as stop:
        alarms.alarm(AlarmKind.UNIT_OUT_OF_TOLERANCE, "unit 3: off", 3)
    assert (stop.value.status, stop.value.reason) == ("stopped", "alarm: unit 3: off")
    assert [(a.kind, a.action, a.unit) for a in ledger.alarms] == [
        (AlarmKind.UNIT_OUT_OF_TOLERANCE, "stop", 3)
    ]
    assert recorder.kinds() == ["alarm"]
    assert [type(e) for e in events] == [Alarm]


def test_a_lost_connection_interrupts_whatever_the_policy() -> None:
    alarms, ledger, _, _ = _policy("pause", operator=lambda record: OperatorDecision.CONTINUE)
    with pytest.raises(StopRun) as stop:
        alarms.alarm(AlarmKind.CONNECTION_LOST, "balance: gone", None)
    assert stop.value.status == "interrupted"
    assert ledger.alarms[0].action == "interrupt"


def test_pause_asks_the_operator_and_goes_on_after_continue() -> None:
    asked: list[AlarmRecord] = []
    alarms, ledger, recorder, _ = _policy(
        "pause", operator=lambda r: asked.append(r) or OperatorDecision.CONTINUE
    )
    decision = alarms.alarm(AlarmKind.SUDDEN_DROP, "unit 2: drop", 2)
    assert decision is OperatorDecision.CONTINUE
    assert [a.action for a in asked] == ["pause"]
    # the asking alarm is on disk before the wait, then the decided one
    assert recorder.kinds() == ["alarm", "alarm"]
    assert ledger.alarms[-1].decision is OperatorDecision.CONTINUE


def test_pause_without_an_operator_stops() -> None:
    alarms, ledger, _, _ = _policy("pause")
    with pytest.raises(StopRun, match="no operator to ask"):
        alarms.alarm(AlarmKind.TEMPERATURE, "after heating: cold", None)
    assert ledger.alarms[0].action == "stop"


def test_a_refused_continue_stops_with_the_reason() -> None:
    alarms, ledger, _, _ = _policy("pause", lambda r: OperatorDecision.CONTINUE, _Refusing())
    with pytest.raises(StopRun, match="continue refused: nobody acknowledged it"):
        alarms.alarm(AlarmKind.BALANCE_UNSTABLE, "unit 1: unsettled", 1)
    assert (ledger.alarms[0].action, ledger.alarms[0].decision) == (
        "stop",
        OperatorDecision.CONTINUE,
    )


def test_only_the_pausable_kinds_pause() -> None:
    alarms, *_ = _policy("pause")
    assert {k for k in AlarmKind if alarms.action(k) == "pause"} == set(PAUSABLE)
    assert alarms.action(AlarmKind.PRINTER_HALTED) == "stop"


def test_a_warning_is_recorded_and_the_run_goes_on() -> None:
    alarms, ledger, recorder, events = _policy("stop")
    alarms.warn(AlarmKind.DRIFT_WARNING, "after unit 4: drifting", 4)
    assert [(a.action, a.unit) for a in ledger.alarms] == [("warn", 4)]
    assert recorder.kinds() == ["alarm"] and len(events) == 1
