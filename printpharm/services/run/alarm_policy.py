"""The alarm part of a print run: record every alarm, and decide stop, pause or interrupt.

A lost connection interrupts the run. The kinds in :data:`PAUSABLE` ask the
operator (continue / abort) when the recipe's ``alarm_policy`` is ``pause`` and
there is an operator to ask; the recorder may still refuse a continue (e.g. a
recorded batch's alarm nobody acknowledged). Everything else stops the run.
"""

from __future__ import annotations

from typing import Literal

from printpharm.services.jobs import EventHub
from printpharm.services.run.events import Alarm
from printpharm.services.run.parts import Clock, RunLedger, StopRun
from printpharm.services.run.recording import BatchRecorder
from printpharm.services.run.request import OperatorCallback
from printpharm.services.run.result import AlarmKind, AlarmRecord, OperatorDecision

__all__ = ["PAUSABLE", "AlarmPolicy"]

#: The alarms a ``pause`` policy lets the operator continue after.
PAUSABLE = (
    AlarmKind.UNIT_OUT_OF_TOLERANCE,
    AlarmKind.SUDDEN_DROP,
    AlarmKind.BALANCE_UNSTABLE,
    AlarmKind.BALANCE_ERROR,
    AlarmKind.TEMPERATURE,
    AlarmKind.OVER_PRESSURE,
    AlarmKind.UNDER_PRESSURE,
)

Action = Literal["stop", "pause", "interrupt"]


class AlarmPolicy:
    """Records and publishes alarms; ends the run unless the operator says continue."""

    def __init__(
        self,
        policy: str,
        operator: OperatorCallback | None,
        recorder: BatchRecorder,
        hub: EventHub,
        ledger: RunLedger,
        clock: Clock,
    ) -> None:
        self.policy, self.operator = policy, operator
        self.recorder, self.hub, self.ledger, self.clock = recorder, hub, ledger, clock

    def action(self, kind: AlarmKind) -> Action:
        """What the policy does with an alarm of ``kind`` (before asking anybody)."""
        if kind is AlarmKind.CONNECTION_LOST:
            return "interrupt"
        if kind in PAUSABLE and self.policy == "pause":
            return "pause"
        return "stop"

    def alarm(self, kind: AlarmKind, message: str, unit: int | None) -> OperatorDecision | None:
        """Record and publish an alarm; stop the run unless the operator says continue.

        Raises
        ------
        StopRun
            The alarm ends the run (stop policy, no operator, operator abort, or
            a kind that cannot be paused).
        """
        action = self.action(kind)
        decision: OperatorDecision | None = None
        if action == "pause":
            action, message, decision = self._ask(kind, message, unit)
        self._record(AlarmRecord(kind, message, unit, action, decision, self.clock.now()))
        if action == "interrupt":
            raise StopRun("interrupted", message)
        if action == "stop" or decision is OperatorDecision.ABORT:
            why = "alarm" if action == "stop" else "operator chose abort"
            raise StopRun("stopped", f"{why}: {message}")
        return decision

    def _ask(
        self, kind: AlarmKind, message: str, unit: int | None
    ) -> tuple[Action, str, OperatorDecision | None]:
        if self.operator is None:
            return "stop", message + " (pause policy, but no operator to ask)", None
        # on disk before the wait: a crash while paused still shows the alarm
        asking = AlarmRecord(kind, message, unit, "pause", None, self.clock.now())
        batch_id = self.ledger.batch_id
        self.recorder.alarm(batch_id, asking)
        decision = OperatorDecision(self.operator(asking))
        refusal = (
            self.recorder.may_continue(batch_id, asking)
            if decision is OperatorDecision.CONTINUE
            else None
        )
        if refusal is not None:  # e.g. a recorded batch's alarm nobody acknowledged
            return "stop", f"{message}; continue refused: {refusal}", decision
        return "pause", message, decision

    def warn(self, kind: AlarmKind, message: str, unit: int | None) -> None:
        """Record and publish a warning (``action="warn"``): the run goes on."""
        self._record(AlarmRecord(kind, message, unit, "warn", None, self.clock.now()))

    def _record(self, record: AlarmRecord) -> None:
        self.ledger.alarms.append(record)
        self.recorder.alarm(self.ledger.batch_id, record)
        self.hub.publish(Alarm(record))
