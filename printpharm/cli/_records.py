"""Records commands: ``init``, ``db``, ``users``, ``research``, ``audit``.

Commands that change anything take ``--user`` and ask for that user's password
(``--password-stdin`` reads it, and any further password, one per line, for
scripts). ``audit verify`` and ``audit show`` need nothing but the database:
an inspector can run them offline on a copy of the SQLite file.
"""

from __future__ import annotations

import argparse
import getpass
import math
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from printpharm.cli._auth_args import (
    Secrets,
    add_db_flag,
    add_records_args,
    add_secret_flags,
    logged_in,
)
from printpharm.cli._common import add_json_flag, emit, number_arg, whole_number_arg
from printpharm.core.text import shown
from printpharm.errors import InputError
from printpharm.services.access.break_glass import break_glass
from printpharm.services.access.permissions import Role
from printpharm.services.records.audit_export import AuditFilter, export_audit
from printpharm.services.station.records_app import (
    initialise,
    open_records,
    read_events,
    upgrade_database,
    verify_database,
)

__all__ = ["register"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# -- init / db -------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    secrets = Secrets(args)
    password = secrets.ask(f"new password for {args.admin}: ")
    if not args.password_stdin and getpass.getpass("repeat the password: ") != password:
        raise InputError("the two passwords differ")
    made = initialise(args.db, args.admin, args.full_name or args.admin, password)
    text = f"database ready; administrator {made.admin.user_id} created"
    if made.recovery_code:
        text += (
            f"\nRECOVERY CODE (shown once): {made.recovery_code}\n"
            "Print it, seal it in an envelope and keep it in the safe: it unlocks an "
            "administrator when no administrator can log in (printpharm users break-glass)."
        )
    emit(args, {"created": made.admin, "recovery_code": made.recovery_code}, text)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    before, after = upgrade_database(args.db)
    payload = {"before": before, "after": after}
    emit(args, payload, f"database schema: {before or 'empty'} → {after}")
    return 0


# -- users -----------------------------------------------------------------------------------


def _users_add(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        temporary = services.accounts.add_user(session, args.user_id, args.full_name, args.role)
    emit(
        args,
        {"user_id": args.user_id, "temporary_password": temporary},
        f"user {args.user_id} created; one-time password (must be changed at first login):\n"
        f"{temporary}",
    )
    return 0


def _users_list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        users = services.accounts.list_users(session)
    lines = [
        f"{u.user_id:<16} {u.role:<14} {'active' if u.active else 'disabled':<8} "
        f"{'LOCKED ' if u.locked else ''}{u.full_name}"
        for u in users
    ]
    emit(args, {"users": users}, "\n".join(lines))
    return 0


def _users_change(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with logged_in(args) as (services, session, _):
            accounts = services.accounts
            if action == "disable":
                accounts.disable_user(session, args.user_id, args.reason)
                payload: dict[str, Any] = {"user_id": args.user_id, "active": False}
                text = f"user {args.user_id} disabled"
            elif action == "verify-identity":
                accounts.verify_identity(session, args.user_id, args.method)
                payload = {"user_id": args.user_id, "identity_verified_by": args.user}
                text = f"identity of {args.user_id} recorded as verified by {args.user}"
            elif action == "unlock":
                accounts.unlock_account(session, args.user_id, args.reason)
                payload, text = {"user_id": args.user_id, "locked": False}, "unlocked"
            else:
                temporary = accounts.reset_password(session, args.user_id, args.reason)
                payload = {"user_id": args.user_id, "temporary_password": temporary}
                text = f"one-time password for {args.user_id} (must be changed):\n{temporary}"
        emit(args, payload, text)
        return 0

    return run


def _users_acknowledge(args: argparse.Namespace) -> int:
    from printpharm.services.access.accounts import SIGNATURE_STATEMENT

    if not args.password_stdin:
        sys.stderr.write(SIGNATURE_STATEMENT + "\n")
    with logged_in(args) as (services, session, secrets):
        password = secrets.ask(f"re-enter the password of {args.user} to acknowledge: ")
        services.accounts.acknowledge_signature(session, password)
    emit(args, {"user_id": args.user, "statement": SIGNATURE_STATEMENT}, "acknowledged")
    return 0


def _users_passwd(args: argparse.Namespace) -> int:
    services = open_records(args.db)
    secrets = Secrets(args)
    try:
        old = secrets.ask(f"current password for {args.user}: ")
        session = services.auth.login(args.user, old)
        new = secrets.ask("new password: ")
        if not args.password_stdin and getpass.getpass("repeat the new password: ") != new:
            raise InputError("the two passwords differ")
        services.accounts.change_password(session, old, new)
        services.auth.logout(session)
    finally:
        services.close()
    emit(args, {"user_id": args.user, "changed": True}, f"password of {args.user} changed")
    return 0


def _users_break_glass(args: argparse.Namespace) -> int:
    services = open_records(args.db)
    try:
        code = Secrets(args).ask("recovery code (from the sealed envelope): ")
        done = break_glass(services.auth, args.admin_id, code, args.reason)
    finally:
        services.close()
    emit(
        args,
        {"administrator": done.admin_id, "temporary_password": done.temporary_password,
         "recovery_code": done.new_code},
        f"BREAK-GLASS used: administrator {done.admin_id} unlocked; one-time password (must be "
        f"changed at first login):\n{done.temporary_password}\n"
        f"The recovery code is spent. NEW RECOVERY CODE (print it, seal it, keep it in the "
        f"safe): {done.new_code}\nA critical alarm and an audit event record this use.",
    )  # fmt: skip
    return 0


# -- research --------------------------------------------------------------------------------


def _minutes(value: float) -> int:
    """Whole seconds of a ``--minutes`` value, refusing nan, infinities and absurd sizes."""
    if not math.isfinite(value) or not 0 < value <= 100_000:
        raise InputError(
            f"--minutes {shown(value)} must be a number of minutes between 0 and 100000"
        )
    return int(value * 60)


def _research_unlock(args: argparse.Namespace) -> int:
    seconds = _minutes(args.minutes)
    with logged_in(args) as (services, session, secrets):
        password = secrets.ask(f"re-enter the password of {args.user} to unlock: ")
        period = services.research.unlock(session, args.user, password, args.reason, seconds)
    emit(args, period, f"research mode unlocked until {period.ends_at.isoformat()}")
    return 0


def _research_lock(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        ended = services.research.lock(session, args.reason)
    emit(args, {"locked": True, "was_active": ended}, "locked mode" if ended else "already locked")
    return 0


def _research_status(args: argparse.Namespace) -> int:
    services = open_records(args.db)
    try:
        status = services.research.status()
    finally:
        services.close()
    text = f"research mode, {status.remaining_s} s left" if status.active else "locked mode"
    emit(
        args,
        {"active": status.active, "period": status.period, "remaining_s": status.remaining_s},
        text,
    )
    return 0


# -- audit -----------------------------------------------------------------------------------


def _audit_verify(args: argparse.Namespace) -> int:
    report = verify_database(args.db)
    chain = report.chain
    problems = report.problems()
    key = f"site key {report.key_id}" if report.key_id else "NO site key"
    if report.ok:
        text = (
            f"audit trail intact: {chain.events} events, last hash {chain.last_hash[:16]}…, "
            f"{key}, {report.anchors} anchor(s) match, every protected row matches its event"
        )
    else:
        text = f"records integrity FAILED ({len(problems)} problem(s)):\n" + "\n".join(
            f"  {p}" for p in problems[:50]
        )
    text += "".join(f"\nnote: {n}" for n in report.notes)
    payload = {
        "ok": report.ok,
        "events": chain.events,
        "first_broken": chain.first_broken,
        "clock_setbacks": list(chain.clock_setbacks),
        "key_id": report.key_id,
        "anchors": report.anchors,
        "problems": problems,
    }
    emit(args, payload, text)
    return 0 if report.ok else 1


def _audit_anchor(args: argparse.Namespace) -> int:
    services = open_records(args.db)
    try:
        anchor = services.anchor()
    finally:
        services.close()
    emit(
        args,
        {"seq": anchor.seq, "event_hash": anchor.event_hash, "path": str(services.anchor_log)},
        f"anchored event {anchor.seq} ({anchor.event_hash[:16]}…, key {anchor.key_id}) "
        f"to {services.anchor_log}",
    )
    return 0


def _audit_rotate_key(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        key = services.rotate_key(session, args.reason)
    emit(
        args,
        {"key_id": key.key_id, "path": str(key.path)},
        f"new site key {key.key_id} in force (file {key.path}); the old public key stays "
        "registered. Keep a sealed copy of the new key file (docs/SECURITY.md).",
    )
    return 0


def _audit_show(args: argparse.Namespace) -> int:
    filters = {"batch_id": args.batch, "record_type": args.record_type, "user_id": args.by}
    events = read_events(args.db, limit=args.limit, **{k: v for k, v in filters.items() if v})
    lines = [
        f"{e.seq:>6} {e.occurred_at} {e.user_id or '-':<12} {e.action:<18} "
        f"{e.record_type} {e.record_id or ''}{'  [' + e.mode + ']' if e.mode != 'locked' else ''}"
        f"{'  reason: ' + e.reason if e.reason else ''}"
        for e in events
    ]
    emit(args, {"events": events}, "\n".join(lines) or "no audit events")
    return 0


def _day(text: str | None, option: str) -> date | None:
    try:
        return None if text is None else date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{option} {text!r} is not a date YYYY-MM-DD") from exc


def _audit_export(args: argparse.Namespace) -> int:
    filters = AuditFilter(
        args.batch, args.record_type, args.record_id, args.by,
        _day(args.since, "--since"), _day(args.until, "--until"),
    )  # fmt: skip
    with logged_in(args) as (services, session, _):
        done = export_audit(services.auth, session, args.format, args.out, filters)
    text = f"exported {done.events} audit events ({done.filters}) to {done.path} as {done.format}"
    emit(args, done, f"{text}\nsha256 {done.sha256}")
    return 0


def register(subparsers: Sub) -> None:
    """Register ``init``, ``db``, ``users``, ``research`` and ``audit``."""
    p = subparsers.add_parser("init", help="create the database and the first administrator")
    add_db_flag(p)
    p.add_argument("--admin", required=True, metavar="USER_ID", help="administrator user ID")
    p.add_argument("--full-name", help="administrator's full name (default: the user ID)")
    add_secret_flags(p, user=False)
    add_json_flag(p)
    p.set_defaults(func=_init)

    db = subparsers.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    p = db.add_parser("upgrade", help="apply the schema migrations")
    add_records_args(p, login=False)
    p.set_defaults(func=_db_upgrade)

    _register_users(subparsers)
    _register_research(subparsers)

    audit = subparsers.add_parser("audit", help="verify or show the audit trail").add_subparsers(
        dest="audit_command", metavar="ACTION", required=True
    )
    p = audit.add_parser(
        "verify", help="check chain, site key, anchors and every protected row; exit 1 if not"
    )
    add_records_args(p, login=False)
    p.set_defaults(func=_audit_verify)
    p = audit.add_parser("anchor", help="append the signed chain head to the site's anchor log")
    add_records_args(p, login=False)
    p.set_defaults(func=_audit_anchor)
    p = audit.add_parser("rotate-key", help="replace the site key (administrator; old key kept)")
    p.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    add_records_args(p)
    p.set_defaults(func=_audit_rotate_key)
    p = audit.add_parser("show", help="list audit events")
    add_db_flag(p)
    p.add_argument("--batch", help="only events of this batch ID")
    p.add_argument("--record-type", help="only events of this record type")
    p.add_argument("--by", metavar="USER_ID", help="only events by this user")
    p.add_argument("--limit", type=whole_number_arg, help="only the newest N events")
    add_json_flag(p)
    p.set_defaults(func=_audit_show)
    p = audit.add_parser(
        "export", help="export the audit trail as CSV, JSON or PDF (filtered; the export is logged)"
    )
    p.add_argument("--format", required=True, choices=("csv", "json", "pdf"))
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    p.add_argument("--batch", help="only events of this batch ID")
    p.add_argument("--record-type", help="only events of this record type")
    p.add_argument("--record-id", help="only events of this record ID")
    p.add_argument("--by", metavar="USER_ID", help="only events by this user")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="from this UTC day")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="up to and including this UTC day")
    add_records_args(p)
    p.set_defaults(func=_audit_export)


def _register_users(subparsers: Sub) -> None:
    users = subparsers.add_parser("users", help="user accounts").add_subparsers(
        dest="users_command", metavar="ACTION", required=True
    )
    p = users.add_parser("add", help="create an account (prints a one-time password)")
    p.add_argument("user_id")
    p.add_argument("--full-name", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.set_defaults(func=_users_add)
    add_records_args(p)
    p = users.add_parser("list", help="list accounts (access review)")
    p.set_defaults(func=_users_list)
    add_records_args(p)
    for action, text in (
        ("disable", "deactivate an account (never deleted)"),
        ("reset-password", "issue a one-time password"),
        ("unlock", "unlock an account locked after failed attempts"),
    ):
        p = users.add_parser(action, help=text)
        p.add_argument("user_id")
        p.add_argument("--reason", required=True)
        p.set_defaults(func=_users_change(action))
        add_records_args(p)
    p = users.add_parser("verify-identity", help="record an identity check (enables signing)")
    p.add_argument("user_id")
    p.add_argument("--method", required=True, help='e.g. "passport checked in person"')
    p.set_defaults(func=_users_change("verify-identity"))
    add_records_args(p)
    p = users.add_parser("acknowledge", help="acknowledge the e-signature statement")
    p.set_defaults(func=_users_acknowledge)
    add_records_args(p)
    p = users.add_parser(
        "break-glass",
        help="unlock an administrator with the sealed recovery code (when no administrator "
        "can log in); loudly audited",
    )
    p.add_argument("admin_id", metavar="ADMIN_ID", help="the administrator account to unlock")
    p.add_argument("--reason", required=True)
    add_records_args(p, login=False)
    add_secret_flags(p, user=False, password_help="read the recovery code from standard input")
    p.set_defaults(func=_users_break_glass)
    p = users.add_parser("passwd", help="change your own password")
    p.set_defaults(func=_users_passwd)
    add_records_args(p)


def _register_research(subparsers: Sub) -> None:
    research = subparsers.add_parser("research", help="research mode").add_subparsers(
        dest="research_command", metavar="ACTION", required=True
    )
    p = research.add_parser("unlock", help="unlock research mode (supervisor)")
    p.add_argument("--reason", required=True)
    p.add_argument("--minutes", type=number_arg, required=True, help="duration in minutes")
    p.set_defaults(func=_research_unlock)
    add_records_args(p)
    p = research.add_parser("lock", help="end research mode now")
    p.add_argument("--reason")
    p.set_defaults(func=_research_lock)
    add_records_args(p)
    p = research.add_parser("status", help="show the current mode")
    add_records_args(p, login=False)
    p.set_defaults(func=_research_status)
