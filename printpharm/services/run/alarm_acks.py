"""Alarm acknowledgements: every alarm of a recorded batch is answered by a named person.

Every alarm a recorded run raises (a unit out of tolerance, a sudden drop or a
drift warning from the flow controller, a balance that does not settle, a
temperature, a lost link, a halted printer, a refused device, a pressure
outside the ink's limits) needs an acknowledgement: the logged-in user re-enters
their password (as for a signature: the signer must be the session user, failures
count toward lockout) and gives a reason. It is stored once per alarm, bound to
the alarm's content by its SHA-256, and audited (``alarm`` / ``acknowledge``).

Where it is enforced:

* a ``pause`` alarm lets the run continue only once it is acknowledged (the
  :class:`~printpharm.services.run.db_recorder.DatabaseRecorder` refuses the
  operator's *continue* otherwise, and the run stops);
* a batch with an alarm nobody acknowledged cannot be reviewed, released or
  rejected (:func:`require_acknowledged`, called by the batch-records service);
  the refusal names each alarm.

Alarms of no batch (the *station's*: a lockout, a broken audit chain, an anchor
that does not match, break-glass) are acknowledged the same way, by a
supervisor or an administrator (``Operation.ACKNOWLEDGE_STATION_ALARM``);
pass ``batch_id=None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from printpharm.errors import AlarmNotAcknowledged, InputError, RecordError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.access.signatures import local_time_text
from printpharm.storage.alarm_acks import AlarmAck
from printpharm.storage.audit import AuditEntry, canonical_json, sha256_hex, zone_label
from printpharm.storage.repositories import AlarmRecord, UnitOfWork

__all__ = [
    "AlarmAcknowledgements",
    "BatchAlarm",
    "alarm_sha256",
    "batch_alarms",
    "require_acknowledged",
    "station_alarms",
]

#: The prefix the run gives its alarm kinds in the database (``run.temperature``).
_RUN_PREFIX = "run."


def alarm_sha256(alarm: AlarmRecord) -> str:
    """SHA-256 of what the person acknowledging saw: id, kind, severity, message, time, batch."""
    return sha256_hex(
        canonical_json(
            {
                "id": alarm.id,
                "kind": alarm.kind,
                "severity": alarm.severity,
                "message": alarm.message,
                "raised_at": alarm.raised_at,
                "batch_id": alarm.batch_id,
            }
        )
    )


@dataclass(frozen=True)
class BatchAlarm:
    """One alarm of a batch with its acknowledgement (``None`` until someone gives it).

    ``severity`` is what the run did: ``stop``, ``pause``, ``interrupt`` or ``warn``.
    ``ack_matches`` is False when the alarm changed after it was acknowledged.
    """

    alarm_id: int
    batch_id: str | None
    kind: str
    severity: str
    message: str
    raised_at: datetime
    ack: AlarmAck | None
    ack_matches: bool = True

    @property
    def acknowledged(self) -> bool:
        """Whether a valid acknowledgement exists."""
        return self.ack is not None and self.ack_matches

    @property
    def label(self) -> str:
        """The kind as people read it: ``unit out of tolerance``."""
        return self.kind.removeprefix(_RUN_PREFIX).replace("_", " ")

    def describe(self) -> str:
        """``#7 unit out of tolerance (stop): unit 3: ...``."""
        return f"#{self.alarm_id} {self.label} ({self.severity}): {self.message}"

    def ack_text(self) -> str:
        """Who acknowledged it, when (local time and zone) and why; or that nobody has."""
        if self.ack is None:
            return "NOT ACKNOWLEDGED"
        a = self.ack
        text = (
            f"Acknowledged by {a.acknowledged_name} ({a.acknowledged_by}) on "
            f"{local_time_text(a.acknowledged_at, a.local_tz)}: {a.reason}"
        )
        return text if self.ack_matches else f"{text} — ALARM CHANGED AFTER ACKNOWLEDGEMENT"


def _batch_alarm(alarm: AlarmRecord, ack: AlarmAck | None) -> BatchAlarm:
    matches = ack is None or ack.alarm_sha256 == alarm_sha256(alarm)
    return BatchAlarm(
        alarm.id, alarm.batch_id, alarm.kind, alarm.severity, alarm.message, alarm.raised_at,
        ack, matches,
    )  # fmt: skip


def batch_alarms(uow: UnitOfWork, batch_id: str) -> list[BatchAlarm]:
    """Every alarm of ``batch_id`` (warnings included), oldest first, with its acknowledgement."""
    acks = uow.alarm_acks.for_batch(batch_id)
    return [_batch_alarm(a, acks.get(a.id)) for a in uow.alarms.for_batch(batch_id)]


def station_alarms(uow: UnitOfWork) -> list[BatchAlarm]:
    """Every alarm of no batch (security, integrity), oldest first, with its acknowledgement."""
    acks = uow.alarm_acks.for_station()
    return [_batch_alarm(a, acks.get(a.id)) for a in uow.alarms.for_station()]


def _not_found(alarm: AlarmRecord | None, alarm_id: int, batch_id: str | None) -> str:
    """Why ``alarm_id`` is not an alarm of ``batch_id`` (``None``: of the station)."""
    if alarm is None:
        return f"there is no alarm {alarm_id}"
    if batch_id is None:
        return (
            f"alarm {alarm_id} belongs to batch {alarm.batch_id}: acknowledge it there "
            f"(printpharm batches ack {alarm.batch_id} {alarm_id})"
        )
    if alarm.batch_id is None:
        return (
            f"alarm {alarm_id} is an alarm of the station, not of batch {batch_id}: "
            f"acknowledge it with printpharm alarms ack {alarm_id}"
        )
    return f"batch {batch_id} has no alarm {alarm_id}"


def _how_to_ack(batch_id: str) -> str:
    return (
        f"acknowledge each with a reason: printpharm batches ack {batch_id} ALARM "
        "--reason TEXT --user U (or Alarms… on the QC or History page)"
    )


def require_acknowledged(uow: UnitOfWork, batch_id: str, what: str) -> None:
    """Raise unless every alarm of ``batch_id`` is acknowledged.

    ``what`` is the refused step in words (``reviewed``, ``released``, ``rejected``).

    Raises
    ------
    AlarmNotAcknowledged
        Naming each alarm still open.
    """
    open_ = [a for a in batch_alarms(uow, batch_id) if not a.acknowledged]
    if open_:
        named = "; ".join(a.describe() for a in open_)
        raise AlarmNotAcknowledged(
            f"batch {batch_id} cannot be {what}: {len(open_)} alarm(s) not acknowledged — "
            f"{named}; {_how_to_ack(batch_id)}"
        )


class AlarmAcknowledgements:
    """Lists a batch's alarms and records their acknowledgements (permissions via ``auth``)."""

    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    def alarms(self, session: UserSession, batch_id: str | None) -> list[BatchAlarm]:
        """Every alarm of one batch (``None``: the station's) with its acknowledgement.

        Oldest first.

        Raises
        ------
        PermissionDenied
            The role may not view records.
        RecordError
            No such batch.
        """
        self._auth.require(session, Operation.VIEW_RECORDS)
        with self._auth.uow(write=False) as uow:
            if batch_id is None:
                return station_alarms(uow)
            uow.batches.require(batch_id)
            return batch_alarms(uow, batch_id)

    def open_pause(self, session: UserSession, batch_id: str) -> BatchAlarm | None:
        """The newest ``pause`` alarm of the batch nobody acknowledged (the run waits on it)."""
        paused = [
            a for a in self.alarms(session, batch_id) if a.severity == "pause" and a.ack is None
        ]
        return paused[-1] if paused else None

    def acknowledge(
        self,
        session: UserSession,
        batch_id: str | None,
        alarm_id: int,
        reason: str,
        user_id: str,
        password: str,
    ) -> BatchAlarm:
        """Acknowledge alarm ``alarm_id`` of ``batch_id`` with ``reason`` (password re-entered).

        ``batch_id`` ``None`` acknowledges an alarm of the station (no batch).

        Raises
        ------
        InputError
            No reason given.
        RecordError
            No such alarm in that batch, or it is acknowledged already (by whom, when).
        AuthenticationFailed, AccountLocked, SessionExpired
            Wrong password or another user's ID (refused, logged, counted toward
            lockout), a locked account, or an expired session.
        PermissionDenied
            The role may not acknowledge the alarm: a batch's alarms are for
            technicians and supervisors, the station's for supervisors and
            administrators; inspectors acknowledge nothing.
        """
        reason = (reason or "").strip()
        if not reason:
            raise InputError(f"alarm {alarm_id}: an acknowledgement needs a reason")
        self._auth.reauthenticate(session, user_id, password, "alarm-acknowledgement")
        operation = (
            Operation.ACKNOWLEDGE_STATION_ALARM if batch_id is None else Operation.ACKNOWLEDGE_ALARM
        )
        live = self._auth.require(session, operation)
        with self._auth.uow() as uow:
            alarm = uow.alarms.get(alarm_id)
            if alarm is None or alarm.batch_id != batch_id:
                raise RecordError(_not_found(alarm, alarm_id, batch_id))
            earlier = uow.alarm_acks.for_alarm(alarm_id)
            if earlier is not None:
                raise RecordError(
                    f"alarm {alarm_id} was acknowledged already: "
                    f"{_batch_alarm(alarm, earlier).ack_text()}"
                )
            self._auth.record_success(uow, live.user_id)
            moment = uow.now()
            ack = uow.alarm_acks.add(
                AlarmAck(
                    alarm_id, batch_id, live.user_id, live.full_name, moment,
                    zone_label(moment, uow.context.zone), reason, alarm_sha256(alarm),
                )
            )  # fmt: skip
            uow.audit.append(
                AuditEntry(
                    "alarm",
                    "acknowledge",
                    str(alarm_id),
                    live.user_id,
                    live.full_name,
                    reason=reason,
                    new={
                        "alarm_id": alarm_id,
                        "kind": alarm.kind,
                        "severity": alarm.severity,
                        "message": alarm.message,
                        "alarm_sha256": ack.alarm_sha256,
                    },
                    batch_id=batch_id,
                )
            )
            return _batch_alarm(alarm, ack)
