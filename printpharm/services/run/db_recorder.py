"""A :class:`~printpharm.services.run.recording.BatchRecorder` that writes the database.

Each run event is stored in its own transaction together with its audit event
(AUD-01): the batch row and its status, every unit with its raw balance line,
alarms, flow corrections and the final result. The technician who starts the
run is checked once, when the recorder is made (the print may outlast the
session's idle timeout; the run itself is not an interactive action). While the
batch runs its lease is renewed (:mod:`.lease`), so that no start-up recovery,
here or on another workstation, closes a batch that is still being made.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from printpharm.errors import RecordError, StorageError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.run.lease import LeaseKeeper, holder
from printpharm.services.run.lot import BoundLot, InkNeed, ink_used
from printpharm.services.run.result import (
    AlarmKind,
    AlarmRecord,
    BatchHeader,
    BatchResult,
    FlowCorrection,
    UnitRecord,
)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.batches import UnitReading
from printpharm.storage.repositories import UnitOfWork

__all__ = ["BatchAnnotation", "DatabaseRecorder", "plain"]


@dataclass(frozen=True)
class BatchAnnotation:
    """What a recorded run adds to its batch once preflight passed.

    The registered printer and balance (their device ids) and details for the
    record (equipment, balance check, cleaning, line clearance, training).
    """

    printer_id: int | None = None
    balance_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def plain(value: Any) -> Any:
    """Turn run data into values the audit trail records exactly.

    Decimals stay Decimals; floats become the Decimal of their shortest text
    (``0.1`` → ``Decimal("0.1")``); enums their value; dates ISO text.
    """
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


class DatabaseRecorder:
    """Records a print run in the database under the identity of ``session``'s user.

    With a recorded ``lot`` the batch is linked to it: the lot moves to ``in_use``
    when the batch starts, and when the run ends (whatever its status) what the batch
    used (``need``'s prime/purge and the weighed units) is taken from what is left; at
    zero the lot is ``used_up``. Each change is audited with the batch.

    Raises
    ------
    PermissionDenied
        The session's role may not run prints.
    SessionExpired
        The session is not live.
    """

    def __init__(
        self,
        auth: AuthService,
        session: UserSession,
        lot: BoundLot | None = None,
        need: InkNeed | None = None,
        annotate: Callable[[], BatchAnnotation] | None = None,
    ) -> None:
        live = auth.require(session, Operation.RUN_PRINT)
        self._auth = auth
        self._annotate = annotate
        self._user_id, self._user_name = live.user_id, live.full_name
        self._lot = lot if lot is not None and lot.source == "database" else None
        self._need = need
        self._lease: LeaseKeeper | None = None
        #: database ids of the alarms raised, by (kind, time): what a *continue* must find acked
        self._raised: dict[tuple[AlarmKind, datetime], int] = {}

    def _entry(
        self,
        record_type: str,
        action: str,
        record_id: str,
        batch_id: str,
        new: Any,
        reason: str | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            record_type,
            action,
            record_id,
            self._user_id,
            self._user_name,
            reason=reason,
            new=plain(new),
            batch_id=batch_id,
        )

    @contextmanager
    def _write(self) -> Iterator[UnitOfWork]:
        """A unit of work for the run's records; if the database fails, the lease ends too.

        The run stops when it cannot record (nothing is made that is not recorded), so
        its lease must not keep the batch "live" in a process that goes on (the GUI).
        """
        try:
            with self._auth.uow() as uow:
                yield uow
        except StorageError:
            if self._lease is not None:
                self._lease.release()
                self._lease = None
            raise

    def batch_started(self, header: BatchHeader) -> None:
        """Create the batch (status ``printing``) with the run's header as its details."""
        dose = header.dose.get("dose_mg")
        if not isinstance(dose, Decimal):
            raise RecordError(f"batch {header.batch_id}: header dose_mg {dose!r} is not a Decimal")
        details = plain(dataclasses.asdict(header))
        extra = self._annotate() if self._annotate is not None else BatchAnnotation()
        details.update(plain(dict(extra.details)))
        with self._auth.uow() as uow:
            research = uow.mode() != "locked"
            uow.batches.create(
                header.batch_id,
                dose,
                header.units_planned,
                self._user_id,
                uow.now(),
                research,
                details,
                None if self._lot is None else self._lot.lot_id,
                printer_id=extra.printer_id,
                balance_id=extra.balance_id,
            )
            uow.batches.set_status(header.batch_id, "printing")
            uow.audit.append(
                self._entry("batch", "create", header.batch_id, header.batch_id, details)
            )
            self._lot_in_use(uow, header.batch_id)
            # the lease is taken with the batch: no process ever sees it printing without
            uow.leases.beat(header.batch_id, holder(uow.context.workstation), uow.now())
        self._lease = LeaseKeeper(self._auth, header.batch_id)
        self._lease.start()

    def _lot_in_use(self, uow: UnitOfWork, batch_id: str) -> None:
        if self._lot is None:
            return
        number = self._lot.lot_number
        lot = uow.lots.find(number)
        if lot is None or lot.status != "released":
            return  # in use by an earlier batch already (or refused at preflight)
        uow.lots.set_status(number, "in_use", f"first batch {batch_id}")
        uow.audit.append(
            AuditEntry(
                "ink_lot",
                "in-use",
                number,
                self._user_id,
                self._user_name,
                old={"status": "released"},
                new={"status": "in_use", "batch": batch_id},
                batch_id=batch_id,
            )
        )

    def _consume(self, uow: UnitOfWork, result: BatchResult) -> None:
        lot, need = self._lot, self._need
        if lot is None or need is None or lot.quantity_unit is None:
            return
        masses = [u.measured_mg for u in result.units if u.measured_mg is not None]
        density = lot.density_g_per_ml or need.ink_density_g_per_ml
        used = ink_used(need, masses, result.status == "completed", lot.quantity_unit, density)
        before, after = uow.lots.consume(lot.lot_number, used)
        change = {
            "batch": result.batch_id,
            "used": used,
            "unit": lot.quantity_unit,
            "remaining": after.quantity_remaining,
            "units_weighed": len(masses),
            "basis": "prime/purge line + weighed units"
            + ("" if result.status == "completed" else " + the unit in progress"),
        }
        if after.quantity_remaining == 0 and after.status == "in_use":
            uow.lots.set_status(lot.lot_number, "used_up", f"emptied by batch {result.batch_id}")
            change["status"] = "used_up"
        uow.audit.append(
            AuditEntry(
                "ink_lot",
                "consume",
                lot.lot_number,
                self._user_id,
                self._user_name,
                field="quantity_remaining",
                old={"remaining": before.quantity_remaining},
                new=plain(change),
                batch_id=result.batch_id,
            )
        )

    def unit_weighed(self, batch_id: str, unit: UnitRecord) -> None:
        """Store the unit: target, measured mass (mg), the raw balance line, flow %, E factor,
        and its extrusion-pressure log where the head reports it."""
        reading = UnitReading(
            unit_index=unit.n,
            target_mass_mg=unit.target_mg,
            raw_reading=unit.measured_mg,
            reading_unit="mg" if unit.measured_mg is not None else None,
            reading_at=unit.weighed_at,
            reading_stable=unit.stable,
            capture_method="interface" if unit.raw_reading is not None else None,
            flow_correction=unit.flow_pct,
            raw_line=unit.raw_reading,
            e_scale=unit.e_scale,
            correction_reason=unit.correction_reason or None,
            pressure=None if unit.pressure is None else plain(unit.pressure),
        )
        with self._write() as uow:
            uow.batches.add_unit(batch_id, reading)
            uow.audit.append(self._entry("unit", "create", f"{batch_id}/{unit.n}", batch_id, unit))

    def alarm(self, batch_id: str, alarm: AlarmRecord) -> None:
        """Raise the alarm (first call) or record the operator's decision (second call)."""
        with self._write() as uow:
            if alarm.decision is None:
                stored = uow.alarms.raise_alarm(
                    f"run.{alarm.kind.value}", alarm.action, alarm.message, alarm.at, batch_id
                )
                self._raised[(alarm.kind, alarm.at)] = stored.id
                uow.audit.append(self._entry("alarm", "raise", batch_id, batch_id, alarm))
            else:
                uow.audit.append(
                    self._entry(
                        "alarm",
                        "decision",
                        batch_id,
                        batch_id,
                        alarm,
                        reason=f"operator chose {alarm.decision.value}",
                    )
                )

    def may_continue(self, batch_id: str, alarm: AlarmRecord) -> str | None:
        """A paused run continues only once its alarm is acknowledged (with a reason, by name)."""
        alarm_id = self._raised.get((alarm.kind, alarm.at))
        if alarm_id is None:
            return f"the {alarm.kind.value} alarm was not recorded, so it cannot be acknowledged"
        with self._auth.uow(write=False) as uow:
            acknowledged = uow.alarm_acks.for_alarm(alarm_id) is not None
        if acknowledged:
            return None
        return (
            f"alarm {alarm_id} was not acknowledged: a recorded batch continues only after "
            "the alarm is acknowledged with a reason by the person at the printer"
        )

    def correction(self, batch_id: str, correction: FlowCorrection) -> None:
        """Record a flow correction (the next unit's material factor and its reason)."""
        with self._write() as uow:
            uow.audit.append(
                self._entry(
                    "flow", "correction", f"{batch_id}/{correction.for_unit}", batch_id, correction
                )
            )

    def finished(self, result: BatchResult) -> None:
        """Close the batch as ``completed`` or ``stopped`` with its QC verdict."""
        self._close(result)

    def interrupted(self, result: BatchResult) -> None:
        """Close the batch as ``interrupted``."""
        self._close(result)

    def _close(self, result: BatchResult) -> None:
        summary = {
            "status": result.status,
            "reason": result.reason,
            "qc": result.qc,
            "units_recorded": len(result.units),
            "finished_at": result.finished_at,
            "calibration_check": result.calibration_check,
        }
        try:
            with self._auth.uow() as uow:
                uow.batches.set_status(result.batch_id, result.status, result.reason)
                uow.audit.append(
                    self._entry("batch", "finish", result.batch_id, result.batch_id, summary)
                )
                self._drift(uow, result)
                self._consume(uow, result)
        finally:
            if self._lease is not None:  # closed (or not closable now): the lease ends
                self._lease.release()
                self._lease = None

    def _drift(self, uow: UnitOfWork, result: BatchResult) -> None:
        """A systematic departure from the calibration is its own audited event."""
        check = result.calibration_check
        if not check or not check.get("drift"):
            return
        record_id = f"CAL-v{check.get('version')}"
        uow.audit.append(
            self._entry("calibration", "drift", record_id, result.batch_id, check, check["text"])
        )
