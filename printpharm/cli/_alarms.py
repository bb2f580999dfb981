"""``batches alarms|ack``, ``alarms list|ack`` and the run's acknowledgement on a pause.

::

    printpharm batches alarms BATCH --user U [--json]       every alarm and its acknowledgement
    printpharm batches ack BATCH ALARM --reason TEXT --user U   acknowledge (password again)
    printpharm alarms list --user U [--open]          the station's alarms (no batch: lockouts,
                                                      audit chain, anchors, break-glass)
    printpharm alarms ack ALARM --reason TEXT --user U    acknowledge one (supervisor, admin)

A recorded ``run`` that pauses on an alarm goes on only once the operator has
acknowledged it: the reason comes from ``--ack-reason`` (or is asked on the
terminal) and the password is asked again (``--password-stdin``: the next line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from printpharm.cli._auth_args import Secrets, add_records_args, logged_in
from printpharm.cli._common import emit, whole_number_arg
from printpharm.errors import InputError, PrintpharmError
from printpharm.services.run.alarm_acks import AlarmAcknowledgements, BatchAlarm
from printpharm.services.run.request import OperatorCallback
from printpharm.services.run.result import AlarmRecord, OperatorDecision

if TYPE_CHECKING:
    from printpharm.services.access.auth import UserSession
    from printpharm.services.station.records_app import RecordsServices

__all__ = [
    "Acknowledge",
    "pause_acknowledger",
    "pause_choice",
    "pause_operator",
    "refuse_unacknowledged_continue",
    "register",
    "register_batches",
]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
#: Called with a pause alarm before the run continues: acknowledges it (or says why not).
Acknowledge = Callable[[AlarmRecord], None]


def _lines(alarm: BatchAlarm) -> str:
    return (
        f"#{alarm.alarm_id:<4} {alarm.raised_at:%Y-%m-%d %H:%M:%S}Z  {alarm.label} "
        f"({alarm.severity}): {alarm.message}\n       {alarm.ack_text()}"
    )


def _payload(alarm: BatchAlarm) -> dict[str, object]:
    return {
        "alarm_id": alarm.alarm_id,
        "kind": alarm.kind,
        "action": alarm.severity,
        "message": alarm.message,
        "raised_at": alarm.raised_at,
        "acknowledged": alarm.acknowledged,
        "acknowledgement": None if alarm.ack is None else alarm.ack_text(),
        "acknowledged_by": None if alarm.ack is None else alarm.ack.acknowledged_by,
        "reason": None if alarm.ack is None else alarm.ack.reason,
    }


def _alarms(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        alarms = AlarmAcknowledgements(services.auth).alarms(session, args.batch)
    waiting = sum(not a.acknowledged for a in alarms)
    summary = f"batch {args.batch}: {len(alarms)} alarm(s), {waiting} not acknowledged" + (
        " (review and release wait for them)" if waiting else ""
    )
    text = "\n".join([summary, *(_lines(a) for a in alarms)])
    emit(args, {"batch_id": args.batch, "unacknowledged": waiting,
                "alarms": [_payload(a) for a in alarms]}, text)  # fmt: skip
    return 0


def _ack(args: argparse.Namespace) -> int:
    """``batches ack BATCH ALARM`` and ``alarms ack ALARM`` (no ``batch``: the station's)."""
    with logged_in(args) as (services, session, secrets):
        password = secrets.ask(f"re-enter the password of {args.user} to acknowledge: ")
        done = AlarmAcknowledgements(services.auth).acknowledge(
            session, getattr(args, "batch", None), args.alarm, args.reason, args.user, password
        )
    emit(args, _payload(done), f"alarm {done.describe()}\n{done.ack_text()}")
    return 0


def _station(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        alarms = AlarmAcknowledgements(services.auth).alarms(session, None)
    waiting = sum(not a.acknowledged for a in alarms)
    shown = [a for a in alarms if not (args.open and a.acknowledged)]
    summary = f"station: {len(alarms)} alarm(s) of no batch, {waiting} not acknowledged" + (
        " (a supervisor or an administrator acknowledges them: printpharm alarms ack ALARM "
        "--reason TEXT)"
        if waiting
        else ""
    )
    text = "\n".join([summary, *(_lines(a) for a in shown)])
    emit(args, {"unacknowledged": waiting, "alarms": [_payload(a) for a in shown]}, text)
    return 0


def register(subparsers: Sub) -> None:
    """Register ``alarms list`` and ``alarms ack`` (the station's alarms, of no batch)."""
    group = subparsers.add_parser(
        "alarms",
        help="the station's alarms (lockouts, audit chain, break-glass): list, acknowledge",
        description="Alarms that belong to no batch. A batch's alarms: printpharm batches alarms.",
    )
    sub = group.add_subparsers(dest="alarms_command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="every alarm of no batch and who acknowledged it")
    p.add_argument("--open", action="store_true", help="only those not acknowledged yet")
    p.set_defaults(func=_station)
    add_records_args(p)
    _ack_parser(
        sub,
        "acknowledge a station alarm with a reason (your password again)",
        "Acknowledge one alarm of no batch (its number from 'alarms list'); "
        "supervisors and administrators may.",
        batch=False,
    )


def _ack_parser(sub: Sub, help_: str, description: str, *, batch: bool) -> None:
    p = sub.add_parser("ack", help=help_, description=description)
    if batch:
        p.add_argument("batch")
    p.add_argument("alarm", type=whole_number_arg, help="the alarm's number (#)")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why, and what was done")
    p.set_defaults(func=_ack)
    add_records_args(p)


def register_batches(batches: Sub) -> None:
    """Register ``batches alarms`` and ``batches ack``."""
    p = batches.add_parser("alarms", help="the batch's alarms and who acknowledged them")
    p.add_argument("batch")
    p.set_defaults(func=_alarms)
    add_records_args(p)
    _ack_parser(
        batches,
        "acknowledge an alarm with a reason (your password again)",
        "Acknowledge one alarm of a batch (its number from 'batches alarms'); "
        "review, release and rejection wait until every alarm is acknowledged.",
        batch=True,
    )


def pause_acknowledger(
    args: argparse.Namespace,
    services: RecordsServices,
    session: UserSession,
    secrets: Secrets,
    batch_id: str,
) -> Acknowledge:
    """What a recorded run does before it continues after a pause: acknowledge the alarm.

    The reason is ``--ack-reason`` or asked on the terminal; the password is asked
    again. A failed acknowledgement is reported and the run's own check then stops
    the run (a paused batch never goes on unacknowledged).
    """
    acks = AlarmAcknowledgements(services.auth)

    def acknowledge(alarm: AlarmRecord) -> None:
        try:
            waiting = acks.open_pause(session, batch_id)
            if waiting is None:
                return
            reason = args.ack_reason or _ask_reason(waiting)
            prompt = f"re-enter the password of {args.user} to acknowledge alarm "
            password = secrets.ask(f"{prompt}{waiting.alarm_id}: ")
            done = acks.acknowledge(
                session, batch_id, waiting.alarm_id, reason, args.user, password
            )
        except PrintpharmError as exc:
            sys.stderr.write(f"printpharm: alarm not acknowledged: {exc}\n")
            return
        if not args.json:
            sys.stdout.write(f"alarm #{done.alarm_id}: {done.ack_text()}\n")

    return acknowledge


def pause_choice(args: argparse.Namespace) -> str:
    """``--on-pause``, or by default ``ask`` on a terminal and ``abort`` otherwise."""
    return str(args.on_pause or ("ask" if sys.stdin.isatty() and not args.json else "abort"))


def pause_operator(args: argparse.Namespace, acknowledge: Acknowledge | None) -> OperatorCallback:
    """The answer to a pause alarm; with ``acknowledge`` (a recorded run) continuing first
    acknowledges the alarm (the run refuses to continue otherwise)."""

    def go_on(alarm: AlarmRecord) -> OperatorDecision:
        if acknowledge is not None:
            acknowledge(alarm)
        return OperatorDecision.CONTINUE

    choice = pause_choice(args)
    if choice != "ask":
        return go_on if choice == "continue" else lambda alarm: OperatorDecision.ABORT

    def ask(alarm: AlarmRecord) -> OperatorDecision:
        sys.stdout.write(f"PAUSED: {alarm.message}\n")
        while True:
            sys.stdout.write("continue or abort? [c/a] ")
            sys.stdout.flush()
            answer = sys.stdin.readline().strip().lower()
            if answer in ("c", "continue"):
                return go_on(alarm)
            if answer in ("a", "abort", ""):
                return OperatorDecision.ABORT

    return ask


def refuse_unacknowledged_continue(args: argparse.Namespace) -> None:
    """Refuse ``--on-pause continue`` on a recorded run without ``--ack-reason``.

    Raises
    ------
    InputError
        A recorded batch would be told to continue with no reason to acknowledge with.
    """
    if (
        args.user is not None
        and not args.ack_reason
        and (pause_choice(args) == "continue" or (args.password_stdin and args.on_pause == "ask"))
    ):
        raise InputError(
            "--on-pause continue: a recorded batch goes on after a pause only once the alarm "
            "is acknowledged; give --ack-reason TEXT (your password is asked again)"
        )


def _ask_reason(alarm: BatchAlarm) -> str:
    sys.stdout.write(f"reason for going on after alarm #{alarm.alarm_id} (recorded with your "
                     "name): ")  # fmt: skip
    sys.stdout.flush()
    return sys.stdin.readline().strip()
