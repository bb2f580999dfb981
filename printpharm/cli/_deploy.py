"""Deployment commands: ``doctor``, ``federation export`` and ``federation import``.

``printpharm doctor`` checks Python, Qt, the database and its schema, the audit
chain, serial ports and the printer/balance identity, and prints what to fix;
exit 0 when no check failed, 1 otherwise.

``printpharm federation export`` writes a standalone workstation's audit chain
(and its batch records) to one JSON file; ``printpharm federation import`` adds
it to the central database as an imported chain, leaving both chains intact;
``printpharm federation list`` shows the batch records so imported.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date
from pathlib import Path

from printpharm.cli._auth_args import add_db_flag, add_records_args, add_secret_flags, logged_in
from printpharm.cli._common import add_json_flag, emit, whole_number_arg
from printpharm.core.text import shown
from printpharm.errors import InputError
from printpharm.services.control import site_settings
from printpharm.services.control.device_registry import register_balance, registered_balances
from printpharm.services.control.doctor import DoctorOptions, exit_code, run_checks
from printpharm.services.records.federation import (
    export_chain_as,
    import_chain_as,
    verify_imported_chains,
)
from printpharm.services.records.federation_records import imported_batches

__all__ = ["register"]

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def _doctor(args: argparse.Namespace) -> int:
    checks = run_checks(
        DoctorOptions(
            db_url=args.db,
            printer_port=args.printer_port,
            balance_port=args.balance_port,
            printer_baud=args.printer_baud,
            balance_baud=args.balance_baud,
        )
    )
    lines = []
    for check in checks:
        lines.append(f"[{_MARK[check.status.value]}] {check.name:<13} {check.detail}")
        if check.fix:
            lines.append(f"       {'':<13} fix: {check.fix}")
    code = exit_code(checks)
    lines.append("all checks passed" if code == 0 else "some checks FAILED: see the fixes above")
    emit(args, {"ok": code == 0, "checks": checks}, "\n".join(lines))
    return code


def _export(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        summary = export_chain_as(
            services.auth, session, Path(args.out), workstation_id=args.workstation
        )
    emit(
        args,
        summary,
        f"exported {summary.events} audit events and {summary.batches} batch record(s) of "
        f"workstation {summary.workstation_id} to {summary.path}\n"
        f"chain head: event {summary.head_seq}, hash {summary.head_hash}",
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        result = import_chain_as(services.auth, session, Path(args.file))
    if result.already_imported:
        text = (
            f"nothing new: workstation {result.source_workstation} up to event "
            f"{result.source_head_seq} was already imported"
        )
    else:
        text = (
            f"imported events {result.first_seq}..{result.source_head_seq} of workstation "
            f"{result.source_workstation} ({result.batches} batch record(s)); central audit "
            f"event {result.central_seq} records source head {result.source_head_hash}"
        )
    emit(args, result, text)
    return 0


def _list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        batches = imported_batches(services.auth, session)
    payload = {
        "batches": [
            {k: v for k, v in dataclasses.asdict(b).items() if k != "record"} for b in batches
        ]
    }
    emit(args, payload, "\n".join(b.line for b in batches) or "no imported batch records")
    return 0


def _verify(args: argparse.Namespace) -> int:
    reports = verify_imported_chains(args.db)
    lines = [
        f"{r.source_workstation}: {r.events} events, "
        + ("intact" if r.ok else f"BROKEN: {r.problem}")
        for r in reports
    ] or ["no imported chains"]
    emit(args, reports, "\n".join(lines))
    return 0 if all(r.ok for r in reports) else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``doctor`` and ``federation``."""
    doctor = subparsers.add_parser(
        "doctor", help="check this workstation (Python, Qt, database, audit, devices)"
    )
    add_db_flag(doctor)
    doctor.add_argument("--printer-port", metavar="P", help="printer port or URL to identify")
    doctor.add_argument("--balance-port", metavar="Q", help="balance port or URL to identify")
    doctor.add_argument("--printer-baud", type=whole_number_arg, default=115200, metavar="B")
    doctor.add_argument("--balance-baud", type=whole_number_arg, default=9600, metavar="B")
    add_json_flag(doctor)
    doctor.set_defaults(func=_doctor)

    fed = subparsers.add_parser(
        "federation", help="move a standalone workstation's records into the central database"
    ).add_subparsers(dest="federation_command", metavar="ACTION", required=True)
    p = fed.add_parser("export", help="write this workstation's audit chain and batches to a file")
    add_db_flag(p, "the standalone workstation's database (URL or SQLite file)")
    p.add_argument("--out", required=True, metavar="FILE", help="the export file (.json)")
    p.add_argument(
        "--workstation", metavar="ID", help="workstation id (default: the one in its events)"
    )
    add_secret_flags(p, password_help="read the password from standard input")
    add_json_flag(p)
    p.set_defaults(func=_export)
    p = fed.add_parser("import", help="import an export file into the central database")
    add_db_flag(p, "the central database URL")
    p.add_argument("file", metavar="FILE", help="a file written by `federation export`")
    add_secret_flags(
        p,
        user_help="your user ID (supervisor or pharmacist)",
        password_help="read the password from standard input",
    )
    add_json_flag(p)
    p.set_defaults(func=_import)
    p = fed.add_parser("verify", help="verify every imported chain on its own; exit 1 if broken")
    add_db_flag(p, "the central database URL")
    add_json_flag(p)
    p.set_defaults(func=_verify)
    _register_devices(subparsers)
    _register_settings(subparsers)
    p = fed.add_parser("list", help="list the batch records imported from standalone workstations")
    add_db_flag(p, "the central database URL")
    add_secret_flags(p)
    add_json_flag(p)
    p.set_defaults(func=_list)


def _register_devices(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devices = subparsers.add_parser(
        "devices", help="registered balances and their calibration (recorded runs need one)"
    ).add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    p = devices.add_parser(
        "register-balance",
        help="register a balance or record its new calibration (admin); kept as a short form "
        "of `printpharm equipment add balance` (asset tag = serial) and `equipment maintain`",
    )
    p.add_argument("serial", metavar="SERIAL", help="serial number as the balance reports it (I4)")
    p.add_argument(
        "--calibrated", required=True, metavar="YYYY-MM-DD", help="date of its last calibration"
    )
    p.add_argument("--model", metavar="M", help="model, e.g. XS205 DualRange")
    add_records_args(p)
    p.set_defaults(func=_register_balance)
    p = devices.add_parser("list", help="list the registered balances")
    add_records_args(p)
    p.set_defaults(func=_list_balances)


def _register_balance(args: argparse.Namespace) -> int:
    try:
        calibrated = date.fromisoformat(args.calibrated)
    except ValueError as exc:
        raise InputError(f"--calibrated {shown(args.calibrated)} is not a date YYYY-MM-DD") from exc
    with logged_in(args) as (services, session, _):
        row = register_balance(services.auth, session, args.serial, calibrated, args.model)
    emit(
        args,
        row,
        f"balance {row.model or '?'} #{row.serial_number} registered, calibrated "
        f"{row.calibration_date}\n(a short form of `printpharm equipment add balance "
        f"{row.asset_tag} ...`: a recorded run also needs it qualified (equipment qualify) and "
        "checked today (equipment check-balance))",
    )
    return 0


def _list_balances(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        rows = registered_balances(services.auth, session)
    lines = [f"#{r.serial_number}  {r.model or '?'}  calibrated {r.calibration_date}" for r in rows]
    emit(args, {"balances": rows}, "\n".join(lines) or "no registered balance")
    return 0


def _register_settings(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = subparsers.add_parser(
        "settings", help="site settings (lockout, timeouts, passwords, calibration, 2.9.5 policy)"
    ).add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    p = settings.add_parser("list", help="every setting, its value in force and its limits")
    add_records_args(p)
    p.set_defaults(func=_settings_list)
    p = settings.add_parser(
        "set", help="change a setting (administrator; reason and password re-entered to sign)"
    )
    p.add_argument("key", metavar="KEY", help="setting key, e.g. session.idle_timeout_s")
    p.add_argument("value", metavar="VALUE", help="new value")
    p.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    add_records_args(p)
    p.set_defaults(func=_settings_set)


def _settings_list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        views = site_settings.view(services.auth, session)
    rows = [
        {
            "key": v.setting.key,
            "value": v.value,
            "unit": v.setting.unit,
            "meaning": v.setting.meaning,
            "allowed": v.setting.allowed,
            "default": v.setting.default,
            "version": None if v.stored is None else v.stored.version,
            "updated_by": None if v.stored is None else v.stored.updated_by,
        }
        for v in views
    ]
    lines = [
        f"{r['key']:<38} {r['value']!s:<12} {r['unit']:<11} {r['meaning']} ({_origin(r)})"
        for r in rows
    ]
    emit(args, {"settings": rows}, "\n".join(lines))
    return 0


def _origin(row: dict[str, object]) -> str:
    if row["version"] is None:
        return "default"
    return f"v{row['version']} by {row['updated_by']}"


def _settings_set(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, secrets):
        signature = secrets.ask(f"password for {args.user} again, to sign the change: ")
        record = site_settings.change_setting(
            services.auth, session, args.key, args.value, args.reason, signature
        )
    emit(
        args,
        record,
        f"{record.key} = {record.value} (version {record.version}, by {record.updated_by})",
    )
    return 0
