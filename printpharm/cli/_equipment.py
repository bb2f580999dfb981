"""``printpharm equipment`` and ``printpharm training``: the register, checks, cleaning, people.

``equipment add|qualify|maintain|suspend|reinstate|retire|list|show`` keep the
register (qualification, return to service and retirement are e-signed by a
pharmacist: the password is asked again); ``equipment add-weight`` registers a
certified check weight; ``equipment check-balance TAG --weight ID --balance-port P``
guides the routine balance check over MT-SICS; ``equipment clean TAG`` logs a
cleaning. ``training add|list|due`` keep the training records.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from printpharm.cli._auth_args import add_records_args, logged_in
from printpharm.cli._common import emit
from printpharm.errors import InputError

__all__ = ["register"]


def _date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a date YYYY-MM-DD") from None


def _decimal(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{flag} {text!r} is not a number") from None
    if not value.is_finite():
        raise InputError(f"{flag} {text!r} is not a number")
    return value


def _view_line(view: Any) -> str:
    d = view.device
    where = f" @ {d.location}" if d.location else ""
    head = f" on {d.mounted_on}" if d.mounted_on else ""
    return (
        f"{d.asset_tag:<12} {d.kind:<10} {d.model or '?'} #{d.serial_number}{head}{where}: "
        f"{view.status.text}"
    )


def _payload(view: Any) -> dict[str, Any]:
    return {
        "device": view.device,
        "status": view.status.state,
        "reasons": list(view.status.reasons),
        "due": view.status.due,
        "events": view.events,
    }


def _add(args: argparse.Namespace) -> int:
    from printpharm.services.control.equipment import add_equipment

    with logged_in(args) as (services, session, _):
        view = add_equipment(
            services.auth,
            session,
            args.kind,
            args.tag,
            args.serial,
            args.model,
            firmware=args.firmware,
            location=args.location,
            printer_type=args.printer_type,
            mounted_on=args.mounted_on,
        )
    emit(args, _payload(view), f"registered {_view_line(view)}")
    return 0


def _signed(args: argparse.Namespace, action: str) -> int:
    from printpharm.services.control import equipment

    with logged_in(args) as (services, session, secrets):
        password = secrets.ask(f"password for {args.user} again, to sign the {action}: ")
        auth, records = services.auth, services.records
        if action == "qualification":
            when = _date(args.date, "--date")
            view = equipment.qualify(
                auth, records, session, args.tag, args.stage, when, args.document, password
            )
        elif action == "return to service":
            view = equipment.reinstate(auth, records, session, args.tag, args.reason, password)
        else:
            view = equipment.retire(auth, records, session, args.tag, args.reason, password)
    emit(args, _payload(view), f"{action} signed: {_view_line(view)}")
    return 0


def _maintain(args: argparse.Namespace) -> int:
    from printpharm.services.control.equipment import record_maintenance

    with logged_in(args) as (services, session, _):
        view = record_maintenance(
            services.auth,
            session,
            args.tag,
            args.kind,
            _date(args.date, "--date"),
            args.document,
            args.notes,
        )
    emit(args, _payload(view), f"{args.kind} recorded: {_view_line(view)}")
    return 0


def _suspend(args: argparse.Namespace) -> int:
    from printpharm.services.control.equipment import suspend

    with logged_in(args) as (services, session, _):
        view = suspend(services.auth, session, args.tag, args.reason)
    emit(args, _payload(view), f"taken out of service: {_view_line(view)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from printpharm.services.control.equipment import list_equipment

    with logged_in(args) as (services, session, _):
        views = list_equipment(services.auth, session, args.kind)
    if args.due:
        views = [v for v in views if v.status.state != "qualified"]
    lines = [_view_line(v) for v in views]
    empty = "nothing due" if args.due else "no equipment registered"
    emit(args, {"equipment": [_payload(v) for v in views]}, "\n".join(lines) or empty)
    return 0


def _show(args: argparse.Namespace) -> int:
    from printpharm.services.control.cleaning import cleanings
    from printpharm.services.control.equipment import list_equipment

    with logged_in(args) as (services, session, _):
        views = [
            v for v in list_equipment(services.auth, session) if v.device.asset_tag == args.tag
        ]
        if not views:
            raise InputError(f"no equipment with asset tag {args.tag!r}")
        log = (
            cleanings(services.auth, session, args.tag) if views[0].device.kind != "balance" else []
        )
    view = views[0]
    lines = [_view_line(view), *(f"  {d.text}" for d in view.status.due)]
    lines += [
        f"  {e.performed_on} {e.kind:<18} {e.document_ref} (by {e.recorded_by}"
        f"{', signed' if e.signature_id else ''})"
        for e in view.events
    ]
    lines += [
        f"  cleaned {c.cleaned_at:%Y-%m-%d %H:%M} UTC by {c.cleaned_by}: {c.method_sop} — {c.parts}"
        for c in log
    ]
    emit(args, {**_payload(view), "cleaning": log}, "\n".join(lines))
    return 0


def _add_weight(args: argparse.Namespace) -> int:
    from printpharm.services.control.balance_check import CheckWeightRecord, register_check_weight

    weight = CheckWeightRecord(
        args.weight_id,
        _decimal(args.nominal_g, "--nominal-g"),
        _decimal(args.conventional_g, "--conventional-g"),
        _decimal(args.uncertainty_mg, "--uncertainty-mg"),
        args.weight_class,
        args.certificate,
        _date(args.certificate_expiry, "--certificate-expiry"),
        "",
        None,  # type: ignore[arg-type]
    )
    with logged_in(args) as (services, session, _):
        stored = register_check_weight(services.auth, session, weight)
    emit(
        args,
        stored,
        f"check weight {stored.weight_id}: {stored.nominal_g} g class "
        f"{stored.weight_class}, certificate {stored.certificate} until "
        f"{stored.certificate_expiry}",
    )
    return 0


def _check_balance(args: argparse.Namespace) -> int:
    from printpharm.services.control.balance_check import check_balance_on_port

    def prompt(text: str) -> None:
        if not args.json:
            sys.stdout.write(f"> {text}\n")
            sys.stdout.flush()

    with logged_in(args) as (services, session, _):
        outcome = check_balance_on_port(
            services.auth,
            session,
            args.balance_port,
            args.weight,
            prompt,
            baudrate=args.balance_baud,
            wait_s=args.wait_s,
        )
    if outcome.asset_tag != args.tag:
        raise InputError(
            f"the balance on {args.balance_port} is {outcome.asset_tag}, "
            f"not {args.tag} (its check is recorded against {outcome.asset_tag})"
        )
    verdict = "PASSED" if outcome.passed else "FAILED"
    text = (
        f"balance check of {outcome.asset_tag}: {verdict}\n  repeatability: "
        f"{outcome.repeatability}\n  accuracy: {outcome.accuracy}"
    )
    emit(args, outcome.record, text)
    return 0 if outcome.passed else 1


def _clean(args: argparse.Namespace) -> int:
    from printpharm.services.control.cleaning import log_cleaning

    with logged_in(args) as (services, session, secrets):
        password = None
        if args.checked_by:
            password = secrets.ask(f"password for {args.checked_by} (second-person check): ")
        entry = log_cleaning(
            services.auth,
            session,
            args.tag,
            args.method,
            args.parts,
            cytotoxic=args.cytotoxic,
            checked_by=args.checked_by,
            checker_password=password,
            notes=args.notes,
        )
    checked = f", checked by {entry.checked_by}" if entry.checked_by else ""
    kind = " (cytotoxic procedure)" if entry.cytotoxic else ""
    emit(
        args,
        entry,
        f"cleaning of {args.tag} logged{kind}: {entry.method_sop} — {entry.parts}{checked}",
    )
    return 0


def _register_equipment(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    equipment = sub.add_parser(
        "equipment",
        help="the equipment register: qualification, maintenance, balance checks, cleaning",
    ).add_subparsers(dest="equipment_command", metavar="ACTION", required=True)
    p = equipment.add_parser("add", help="register a printer, print head or balance")
    p.add_argument("kind", choices=("printer", "print_head", "balance"))
    p.add_argument("tag", metavar="TAG", help="the site's asset tag")
    p.add_argument(
        "--serial",
        required=True,
        metavar="S",
        help="printer: M115 UUID; balance: I4 serial number; head: its serial",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="M",
        help="printer: M115 MACHINE_TYPE; balance: the I2 model text",
    )
    p.add_argument("--firmware", metavar="F", help="printer: M115 FIRMWARE_NAME (checked)")
    p.add_argument("--location", metavar="L")
    p.add_argument("--printer-type", metavar="ID", help="printer definition id, e.g. marlin-sse")
    p.add_argument("--mounted-on", metavar="TAG", help="print head: the printer it is on")
    add_records_args(p)
    p.set_defaults(func=_add)
    p = equipment.add_parser("qualify", help="approve IQ, OQ or PQ (pharmacist, e-signature)")
    p.add_argument("tag", metavar="TAG")
    p.add_argument("--stage", required=True, choices=("IQ", "OQ", "PQ"))
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--document", required=True, metavar="REF", help="protocol/report reference")
    add_records_args(p)
    p.set_defaults(func=lambda a: _signed(a, "qualification"))
    _register_upkeep(equipment)
    _register_checks(equipment)


def _register_upkeep(equipment: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = equipment.add_parser("maintain", help="record a calibration or preventive maintenance")
    p.add_argument("tag", metavar="TAG")
    p.add_argument("--kind", required=True, choices=("calibration", "maintenance"))
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--document", required=True, metavar="REF", help="certificate/report")
    p.add_argument("--notes", metavar="TEXT")
    add_records_args(p)
    p.set_defaults(func=_maintain)
    for name, helptext, func in (
        ("suspend", "take a device out of service (reason)", _suspend),
        (
            "reinstate",
            "return it to service (pharmacist, e-signature)",
            lambda a: _signed(a, "return to service"),
        ),
        (
            "retire",
            "retire a device for good (pharmacist, e-signature)",
            lambda a: _signed(a, "retirement"),
        ),
    ):
        p = equipment.add_parser(name, help=helptext)
        p.add_argument("tag", metavar="TAG")
        p.add_argument("--reason", required=True)
        add_records_args(p)
        p.set_defaults(func=func)
    p = equipment.add_parser("list", help="every device and its status today")
    p.add_argument("--kind", choices=("printer", "print_head", "balance"))
    p.add_argument("--due", action="store_true", help="only what is due or out of service")
    add_records_args(p)
    p.set_defaults(func=_list)
    p = equipment.add_parser("show", help="one device: records, due dates, cleaning log")
    p.add_argument("tag", metavar="TAG")
    add_records_args(p)
    p.set_defaults(func=_show)


def _register_checks(equipment: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = equipment.add_parser("add-weight", help="register a certified check weight")
    p.add_argument("weight_id", metavar="ID")
    p.add_argument("--nominal-g", required=True, metavar="G")
    p.add_argument("--conventional-g", required=True, metavar="G", help="from the certificate")
    p.add_argument("--uncertainty-mg", required=True, metavar="MG", help="from the certificate")
    p.add_argument("--class", dest="weight_class", required=True, metavar="C", help="e.g. E2, F1")
    p.add_argument("--certificate", required=True, metavar="NO")
    p.add_argument("--certificate-expiry", required=True, metavar="YYYY-MM-DD")
    add_records_args(p)
    p.set_defaults(func=_add_weight)
    p = equipment.add_parser(
        "check-balance", help="the routine balance check over MT-SICS (Ph. Eur. 2.1.7)"
    )
    p.add_argument("tag", metavar="TAG", help="the balance's asset tag")
    p.add_argument("--weight", required=True, metavar="ID", help="the check weight's id")
    p.add_argument("--balance-port", required=True, metavar="Q", help="the balance's port")
    p.add_argument("--balance-baud", type=int, default=9600, metavar="B")
    p.add_argument(
        "--wait-s",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds to wait for the weight to be put on or taken off",
    )
    add_records_args(p)
    p.set_defaults(func=_check_balance)
    p = equipment.add_parser("clean", help="log a cleaning of a printer or print head")
    p.add_argument("tag", metavar="TAG")
    p.add_argument("--method", required=True, metavar="SOP", help="the procedure followed")
    p.add_argument("--parts", required=True, metavar="TEXT", help="what was cleaned")
    p.add_argument("--cytotoxic", action="store_true", help="a cleaning after a cytotoxic API")
    p.add_argument(
        "--checked-by",
        metavar="USER",
        help="second person (needed after a cytotoxic API); their password is asked",
    )
    p.add_argument("--notes", metavar="TEXT")
    add_records_args(p)
    p.set_defaults(func=_clean)


def _training_add(args: argparse.Namespace) -> int:
    from printpharm.services.access.training import record_training

    given = [
        (k, v)
        for k, v in (
            ("role", args.role),
            ("sop", args.sop),
            ("recipe", args.recipe),
            ("ink", args.ink_family),
            ("printer", args.printer_type),
        )
        if v
    ]
    if len(given) != 1:
        raise InputError(
            "give exactly one of --role, --sop, --recipe, --ink-family, --printer-type"
        )
    ((kind, subject),) = given
    expires = _date(args.expires, "--expires") if args.expires else None
    with logged_in(args) as (services, session, _):
        entry = record_training(
            services.auth,
            session,
            args.person,
            kind,
            subject,
            _date(args.trained_on, "--trained-on"),
            args.trainer,
            expires,
            args.document,
        )
    emit(
        args,
        entry,
        f"{entry.user_id} trained on {entry.subject_kind} {entry.subject} on "
        f"{entry.trained_on} by {entry.trainer}, valid until {entry.expires_on}",
    )
    return 0


def _training_list(args: argparse.Namespace) -> int:
    from printpharm.services.access.training import list_training

    with logged_in(args) as (services, session, _):
        entries = list_training(services.auth, session, args.person)
    lines = [
        f"{e.user_id:<14} {e.subject_kind:<8} {e.subject:<24} {e.trained_on} by "
        f"{e.trainer}, until {e.expires_on}"
        for e in entries
    ]
    emit(args, {"training": entries}, "\n".join(lines) or "no training records")
    return 0


def _training_due(args: argparse.Namespace) -> int:
    from printpharm.services.access.training import due_training

    with logged_in(args) as (services, session, _):
        due = due_training(services.auth, session, args.within_days)
    lines = [
        f"{d.entry.user_id:<14} {d.entry.subject_kind:<8} {d.entry.subject:<24} "
        f"{'EXPIRED on' if d.expired else 'expires'} {d.entry.expires_on}"
        for d in due
    ]
    emit(args, {"due": due}, "\n".join(lines) or "nobody is due")
    return 0


def _register_training(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    training = sub.add_parser(
        "training", help="training records: who is trained on what, until when (TRN-01)"
    ).add_subparsers(dest="training_command", metavar="ACTION", required=True)
    p = training.add_parser("add", help="record a person's training (supervisor, administrator)")
    p.add_argument("person", metavar="USER_ID", help="the trained person (an account may follow)")
    for flag, what in (
        ("--role", "a role"),
        ("--sop", "an SOP reference"),
        ("--recipe", "a recipe id"),
        ("--ink-family", "an ink id or family"),
        ("--printer-type", "a printer definition id"),
    ):
        p.add_argument(flag, metavar="X", help=f"trained on {what}")
    p.add_argument("--trained-on", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--trainer", required=True, metavar="NAME")
    p.add_argument("--expires", metavar="YYYY-MM-DD", help="default: training.valid_days later")
    p.add_argument("--document", metavar="REF", help="training record / certificate reference")
    add_records_args(p)
    p.set_defaults(func=_training_add)
    p = training.add_parser("list", help="training records (of one person)")
    p.add_argument("person", nargs="?", metavar="USER_ID")
    add_records_args(p)
    p.set_defaults(func=_training_list)
    p = training.add_parser("due", help="who is due: expired or expiring training")
    p.add_argument(
        "--within-days", type=int, metavar="N", help="default: training.due_warning_days"
    )
    add_records_args(p)
    p.set_defaults(func=_training_due)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``equipment`` and ``training``."""
    _register_equipment(subparsers)
    _register_training(subparsers)
