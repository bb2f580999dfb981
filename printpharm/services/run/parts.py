"""What the parts of one print run share: their interfaces, the run's ledger and clock.

A batch run (:mod:`printpharm.services.run.loop`) is composed of parts with one
job each, which it holds and calls:

- :class:`~printpharm.services.run.alarm_policy.AlarmPolicy` (:class:`Alarms`):
  records an alarm and decides whether the run stops, pauses or goes on;
- :class:`~printpharm.services.run.printing.PrinterPart` (:class:`DeviceCalls`):
  the printer — heating, streaming, temperature and pressure watch, making it safe;
  every device call goes through it so that a lost link becomes an alarm;
- :class:`~printpharm.services.run.weighing.WeighingPart`: tare, a stable reading,
  and the unit's verdict against its target;
- :class:`~printpharm.services.run.correction.FlowCorrectionPart`: the flow
  controller (:mod:`.flow_control`) and the material factor of the next unit;
- :class:`~printpharm.services.run.run_record.RunRecord`: what is recorded — the
  batch header, the QC and the result.

The parts talk only through the small protocols below, and write what happened
into one :class:`RunLedger`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, TypeVar

from printpharm.services.run.lot import BoundLot
from printpharm.services.run.preflight import LockStatus, PreflightCheck
from printpharm.services.run.request import RunOptions, RunRequest
from printpharm.services.run.result import (
    AlarmKind,
    AlarmRecord,
    FlowCorrection,
    OperatorDecision,
    RunStatus,
    UnitRecord,
)

__all__ = [
    "Alarms",
    "Clock",
    "DeviceCalls",
    "RunClock",
    "RunLedger",
    "StopRun",
    "run_lot",
]

_T = TypeVar("_T")

Device = Literal["printer", "balance"]


class StopRun(Exception):  # noqa: N818 - control flow inside the run, never escapes it
    """Unwinds the run to its end with a status and a reason."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Clock(Protocol):
    """The run's time."""

    def now(self) -> datetime:
        """The current time (UTC)."""
        ...


class Alarms(Protocol):
    """Raising alarms and warnings (implemented by :class:`.alarm_policy.AlarmPolicy`)."""

    def alarm(self, kind: AlarmKind, message: str, unit: int | None) -> OperatorDecision | None:
        """Record an alarm; raise :class:`StopRun` unless the operator says continue."""
        ...

    def warn(self, kind: AlarmKind, message: str, unit: int | None) -> None:
        """Record a warning; the run goes on."""
        ...


class DeviceCalls(Protocol):
    """Calling a device so that a lost connection becomes a ``connection_lost`` alarm."""

    def call_device(
        self, call: Callable[[], _T], device: Device = "printer", where: str = ""
    ) -> _T:
        """Call ``call``; a lost link raises the alarm (and so :class:`StopRun`)."""
        ...


@dataclass(frozen=True)
class RunClock:
    """Now and today, from the options' clock (tests pass a fixed one)."""

    options: RunOptions

    def now(self) -> datetime:
        """The current time (UTC) from the options' clock."""
        return self.options.now() if self.options.now is not None else datetime.now(UTC)

    def today(self) -> date:
        """The date ink expiry is judged against."""
        return self.options.today or self.now().date()


@dataclass
class RunLedger:
    """What one run has done so far: what its result is made of, and where it is."""

    batch_id: str
    started_at: datetime
    units: list[UnitRecord] = field(default_factory=list)
    alarms: list[AlarmRecord] = field(default_factory=list)
    corrections: list[FlowCorrection] = field(default_factory=list)
    checks: list[PreflightCheck] = field(default_factory=list)
    lock: LockStatus | None = None
    printer_record: dict[str, Any] = field(default_factory=dict)
    #: the unit being printed or weighed, if any
    unit_in_progress: int | None = None

    @classmethod
    def open(cls, req: RunRequest, clock: RunClock, printer_port: str) -> RunLedger:
        """A new ledger: the batch id (the request's, else recipe, time and a random tag)."""
        started_at = clock.now()
        stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
        batch_id = req.batch_id or f"{req.recipe.id}-{stamp}-{secrets.token_hex(3)}"
        return cls(batch_id, started_at, printer_record={"port": printer_port})


def run_lot(req: RunRequest, options: RunOptions) -> BoundLot:
    """The lot the run prints from: the recorded one, else the ink file's example lot."""
    return options.lot or BoundLot.from_ink_file(req.ink)
