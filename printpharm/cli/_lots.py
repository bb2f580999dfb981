"""``printpharm lots``: ink lots — recorded, assayed, released or rejected, listed.

::

    printpharm lots add     (--lot L | --scan CODE) --ink ID --prepared DATE --quantity Q
                            --unit mL|g --container TEXT --user U [--prepared-by U2]
                            [--beyond-use DATE] [--ink-version N] [--gtin G] [assay options]
    printpharm lots assay   LOT (--assay-mg-per-g V | --assay-pct V) --assay-method M --user U
    printpharm lots release LOT --user U [--comment C]                 e-signature
    printpharm lots reject  LOT --user U --reason R                    e-signature
    printpharm lots list    --user U [--ink ID] [--status S]
    printpharm lots show    LOT --user U

``--scan`` takes what a barcode scanner types: a GS1 DataMatrix/GS1-128 element
string (AI 01 GTIN, 10 lot, 17 expiry; ``]d2``/``]C1`` prefixes and the GS
separator), or the human-readable ``(01)...(17)...(10)...`` form.
"""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from printpharm.cli._auth_args import add_records_args, logged_in
from printpharm.cli._common import emit
from printpharm.core.ink_lots import AssayBasis, BulkAssay
from printpharm.errors import InputError
from printpharm.services.access.signatures import manifestation
from printpharm.services.control.barcodes import read_lot_code
from printpharm.services.control.lots import LotEntry, LotService, LotView
from printpharm.services.run.lot import number

__all__ = ["register"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _assay(args: argparse.Namespace) -> BulkAssay | None:
    value = args.assay_mg_per_g if args.assay_mg_per_g is not None else args.assay_pct
    if value is None:
        if args.assay_method or args.assay_uncertainty is not None:
            raise InputError(
                "--assay-method/--assay-uncertainty need --assay-mg-per-g or --assay-pct"
            )
        return None
    basis: AssayBasis = "mg_per_g" if args.assay_mg_per_g is not None else "pct_label_claim"
    return BulkAssay(
        basis, value, args.assay_method or "", args.analyst or "", args.assay_uncertainty
    )


def _lot_lines(view: LotView) -> list[str]:
    lot = view.lot
    assay = view.assay
    status = view.status_today.upper().replace("_", " ")
    if view.status_today != lot.status:
        status += f" (recorded {lot.status})"
    return [
        f"lot {lot.lot_number}: {status}"
        + (f" — {lot.status_reason}" if lot.status_reason else ""),
        f"  ink {lot.ink_id} v{lot.ink_version}" + (f", GTIN {lot.gtin}" if lot.gtin else ""),
        f"  prepared {lot.prepared_on} by {lot.prepared_by}; beyond-use date {lot.beyond_use_date}",
        f"  {number(lot.quantity_remaining)} of {number(lot.quantity)} {lot.quantity_unit} left; "
        f"{lot.container}",
        f"  assay: {assay.text() if assay else 'not recorded'}"
        + (f"; density {number(lot.density_g_per_ml)} g/mL" if lot.density_g_per_ml else ""),
    ]


def _payload(view: LotView) -> dict[str, Any]:
    return {
        "lot": view.lot,
        "status_today": view.status_today,
        "signatures": [{"manifestation": manifestation(s), **s.__dict__} for s in view.signatures],
    }


def _add(args: argparse.Namespace) -> int:
    code = read_lot_code(args.scan if args.scan is not None else args.lot)
    if code.lot_number is None:
        raise InputError(f"code {code.raw!r} holds no lot number (AI 10)")
    gtin = args.gtin or code.gtin
    entry = LotEntry(
        code.lot_number,
        args.ink,
        args.prepared,
        args.quantity,
        args.unit,
        args.container,
        args.prepared_by,
        args.beyond_use or code.expiry,
        args.ink_version,
        gtin,
        _assay(args),
        args.density,
    )
    with logged_in(args) as (services, session, _):
        service = LotService(services.auth, services.records)
        service.add(session, entry)
        view = service.show(session, entry.lot_number)
    emit(args, _payload(view), "\n".join(["recorded in quarantine:", *_lot_lines(view)]))
    return 0


def _assay_cmd(args: argparse.Namespace) -> int:
    assay = _assay(args)
    if assay is None:
        raise InputError("give the assay: --assay-mg-per-g V or --assay-pct V")
    with logged_in(args) as (services, session, _):
        service = LotService(services.auth, services.records)
        service.record_assay(session, args.lot, assay, args.density, args.reason)
        view = service.show(session, args.lot)
    emit(args, _payload(view), "\n".join(["assay recorded:", *_lot_lines(view)]))
    return 0


def _sign(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, secrets):
        service = LotService(services.auth, services.records)
        password = secrets.ask(f"re-enter the password of {args.user} to sign: ")
        if args.lots_command == "release":
            signature = service.release(session, args.lot, args.user, password, args.comment)
        else:
            signature = service.reject(session, args.lot, args.user, password, args.reason)
        view = service.show(session, args.lot)
    text = "\n".join([*_lot_lines(view), manifestation(signature)])
    emit(args, _payload(view), text)
    return 0


def _list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        views = LotService(services.auth, services.records).list(session, args.ink, args.status)
    lines = [
        f"{v.lot.lot_number:<20} {v.status_today:<10} {v.lot.ink_id} v{v.lot.ink_version:<3} "
        f"{number(v.lot.quantity_remaining)}/{number(v.lot.quantity)} {v.lot.quantity_unit:<2} "
        f"BUD {v.lot.beyond_use_date}  assay {v.assay.text() if v.assay else '—'}"
        for v in views
    ]
    emit(args, {"lots": [_payload(v) for v in views]}, "\n".join(lines) or "no ink lots")
    return 0


def _show(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        view = LotService(services.auth, services.records).show(session, args.lot)
    lines = _lot_lines(view) + [f"  {manifestation(s)}" for s in view.signatures]
    emit(args, _payload(view), "\n".join(lines))
    return 0


def _assay_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--assay-mg-per-g", type=_decimal, metavar="V", help="bulk assay in mg of API per g of ink"
    )
    group.add_argument(
        "--assay-pct", type=_decimal, metavar="V", help="bulk assay in %% of the ink's label claim"
    )
    p.add_argument(
        "--assay-method", metavar="M", help="analytical method (e.g. 'HPLC-UV, SOP QC-12')"
    )
    p.add_argument("--analyst", metavar="A", help="who assayed the lot")
    p.add_argument(
        "--assay-uncertainty",
        type=_decimal,
        metavar="U",
        help="expanded uncertainty of the assay, in the assay's unit",
    )
    p.add_argument("--density", type=_decimal, metavar="D", help="measured density in g/mL")


def register(subparsers: Sub) -> None:
    """Register ``lots``."""
    lots = subparsers.add_parser("lots", help="ink lots: add, assay, release, reject, list, show")
    sub = lots.add_subparsers(dest="lots_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="record a prepared lot (in quarantine)")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot", metavar="L", help="lot number as typed")
    which.add_argument("--scan", metavar="CODE", help="what the barcode scanner read (GS1)")
    add.add_argument("--ink", required=True, metavar="ID", help="ink id")
    add.add_argument(
        "--prepared", required=True, type=_date, metavar="DATE", help="preparation date"
    )
    add.add_argument(
        "--quantity", required=True, type=_decimal, metavar="Q", help="quantity prepared"
    )
    add.add_argument("--unit", required=True, choices=("mL", "g"), help="unit of the quantity")
    add.add_argument("--container", required=True, metavar="TEXT", help="e.g. '10 mL syringe'")
    add.add_argument("--prepared-by", metavar="U", help="user ID of the preparer (default: you)")
    add.add_argument(
        "--beyond-use",
        type=_date,
        metavar="DATE",
        help="an earlier beyond-use date than the ink's stability gives",
    )
    add.add_argument("--ink-version", type=int, metavar="N", help="default: the locked version")
    add.add_argument("--gtin", metavar="G", help="GTIN (14 digits) if not scanned")
    _assay_args(add)
    add_records_args(add)
    add.set_defaults(func=_add)
    assay = sub.add_parser("assay", help="record the bulk assay of a lot in quarantine")
    assay.add_argument("lot", metavar="LOT")
    assay.add_argument("--reason", metavar="R", help="why an assay already recorded is replaced")
    _assay_args(assay)
    add_records_args(assay)
    assay.set_defaults(func=_assay_cmd)
    release = sub.add_parser("release", help="release a lot (pharmacist's e-signature)")
    release.add_argument("lot", metavar="LOT")
    release.add_argument("--comment", metavar="C")
    add_records_args(release)
    release.set_defaults(func=_sign)
    reject = sub.add_parser("reject", help="reject a lot (pharmacist's e-signature)")
    reject.add_argument("lot", metavar="LOT")
    reject.add_argument("--reason", required=True, metavar="R")
    add_records_args(reject)
    reject.set_defaults(func=_sign)
    listing = sub.add_parser("list", help="lots, newest first")
    listing.add_argument("--ink", metavar="ID")
    listing.add_argument(
        "--status", choices=("quarantine", "released", "in_use", "used_up", "rejected", "expired")
    )
    add_records_args(listing)
    listing.set_defaults(func=_list)
    show = sub.add_parser("show", help="one lot and its signatures")
    show.add_argument("lot", metavar="LOT")
    add_records_args(show)
    show.set_defaults(func=_show)
