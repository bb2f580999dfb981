"""``printpharm library`` and ``printpharm batches``: the validated library and batch records.

::

    printpharm library import   --user U                 import the shipped recipes/ and inks/
    printpharm library list     [--kind recipe|ink] [--id ID]
    printpharm library validate KIND ID VERSION --user U [--comment C]    e-signature
    printpharm library lock     KIND ID VERSION --user U [--comment C]    e-signature
    printpharm library retire   KIND ID VERSION --user U --reason R
    printpharm batches list     --user U [--status S]
    printpharm batches show     BATCH --user U
    printpharm batches review   BATCH --user U --comment C               e-signature
    printpharm batches release  BATCH --user U [--comment C]             e-signature
    printpharm batches reject   BATCH --user U --comment C               e-signature
    printpharm batches export   BATCH --user U --format pdf|csv|json|package --out PATH
    printpharm batches alarms   BATCH --user U               alarms and their acknowledgements
    printpharm batches ack      BATCH ALARM --reason R --user U  acknowledge (password again)
    printpharm batches recover [ID] --user U   close batches left open by a crash (supervisor)

Commands that log in ask for the password (``--password-stdin``: one per line; a
signature asks for it a second time). ``library list`` needs only the database.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TypeAlias

from printpharm.catalog import load_catalog
from printpharm.cli._alarms import register_batches
from printpharm.cli._auth_args import add_records_args, logged_in
from printpharm.cli._common import emit, whole_number_arg
from printpharm.services.access.signatures import Meaning, manifestation
from printpharm.services.control.library import LIBRARY_KINDS, LibraryService
from printpharm.services.records.batches import BatchRecordsService, recover_batches
from printpharm.services.records.export import EXPORT_FORMATS, BatchExportService
from printpharm.services.records.flow_prior_text import noise_prior_text
from printpharm.services.station.records_app import open_records

__all__ = ["register"]

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# -- library -----------------------------------------------------------------------------------


def _library_import(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    with logged_in(args) as (services, session, _):
        outcomes = LibraryService(services.auth, services.records).import_catalog(session, catalog)
    lines = [
        f"{o.kind:<6} {o.item_id:<32} v{o.version:<3} {o.action:<10} {o.status:<9} "
        f"{o.file} sha256:{o.file_sha256[:12]}…"
        for o in outcomes
    ]
    changed = sum(o.action != "unchanged" for o in outcomes)
    lines.append(f"{changed} new version(s), {len(outcomes) - changed} unchanged")
    emit(args, {"imported": outcomes}, "\n".join(lines))
    return 0


def _library_list(args: argparse.Namespace) -> int:
    services = open_records(args.db)
    try:
        versions = LibraryService(services.auth, services.records).versions(args.kind, args.id)
    finally:
        services.close()
    lines = [
        f"{v.kind:<6} {v.item_id:<32} v{v.version:<3} {v.status:<9} "
        f"sha256:{v.content_sha256[:12]}… by {v.created_by} {v.created_at:%Y-%m-%d %H:%M} "
        f"{(v.content.get('source') or {}).get('file') or 'edit of v' + str(v.content['based_on'])}"
        for v in versions
    ]
    payload = [
        {**{k: getattr(v, k) for k in ("kind", "item_id", "version", "status", "content_sha256",
                                        "created_by", "created_at")},
         "source": v.content.get("source"), "based_on": v.content.get("based_on")}
        for v in versions
    ]  # fmt: skip
    emit(args, {"versions": payload}, "\n".join(lines) or "the library is empty")
    return 0


def _library_sign(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, secrets):
        library = LibraryService(services.auth, services.records)
        password = secrets.ask(f"re-enter the password of {args.user} to sign: ")
        step = library.validate if args.library_command == "validate" else library.lock
        signature = step(
            session, args.kind, args.id, args.version, args.user, password, args.comment
        )
        version = library.get(args.kind, args.id, args.version)
    emit(
        args,
        {"version": version.record_id, "status": version.status, "signature": signature},
        f"{args.kind} {version.label} is {version.status}\n{manifestation(signature)}",
    )
    return 0


def _library_retire(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        library = LibraryService(services.auth, services.records)
        version = library.retire(session, args.kind, args.id, args.version, args.reason)
    emit(args, {"version": version.record_id, "status": version.status}, f"{version.label} retired")
    return 0


# -- batches -----------------------------------------------------------------------------------


def _batches_list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        rows = BatchExportService(services.auth, services.db).list(session, args.status)
    lines = [
        f"{r.batch_id:<44} {r.status:<11} {r.target_dose_mg} mg × {len(r.units)}/{r.units_count}"
        f"  by {r.created_by} {r.created_at:%Y-%m-%d %H:%M}Z"
        f"{'  [research]' if r.research_mode else ''}"
        for r in rows
    ]
    payload = [
        {"batch_id": r.batch_id, "status": r.status, "target_dose_mg": r.target_dose_mg,
         "units_recorded": len(r.units), "units_planned": r.units_count,
         "created_by": r.created_by, "created_at": r.created_at, "research_mode": r.research_mode}
        for r in rows
    ]  # fmt: skip
    emit(args, {"batches": payload}, "\n".join(lines) or "no batch records")
    return 0


def _batches_show(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        view = BatchExportService(services.auth, services.db).view(session, args.batch)
    b = view.batch
    recipe = b.details.get("recipe") or {}
    qc = view.qc  # the run's QC completed by content uniformity: what release judges
    fails = sum(u.verdict != "pass" for u in view.units)
    lines = [
        f"batch {b.batch_id}: {b.status.upper()}"
        + (f" — {b.status_reason}" if b.status_reason else ""),
        f"patient use: {'yes' if view.patient_use else 'NOT FOR PATIENT USE'} — "
        f"{view.patient_use_reason}",
        f"recipe {recipe.get('id', '?')} {recipe.get('version', '')}; "
        f"dose {b.target_dose_mg} mg per unit",
        *([f"ink {view.lot['label']}"] if view.lot.get("label") else []),
        *([view.dose_override.describe()] if view.dose_override is not None else []),
        f"units: {len(b.units)} of {b.units_count} recorded, {fails} not passing; "
        f"{len(view.alarm_register)} alarm(s), {len(view.unacknowledged_alarms)} not "
        f"acknowledged; {len(view.corrections)} flow correction(s)",
        f"flow control: {noise_prior_text(recipe)}",
        *(f"NOT ACKNOWLEDGED: {a.describe()}" for a in view.unacknowledged_alarms),
        f"QC: {str(qc.get('verdict', 'not evaluated')).upper()} — {qc.get('reason', '')}",
        *(f"signature: {s.text} — {'valid' if s.valid else 'INVALID: ' + str(s.problem)}"
          for s in view.signatures),
        view.signing_statement,
        f"audit trail: {'intact' if view.chain.ok else 'BROKEN'} ({view.chain.events} events); "
        f"{len(view.events)} events of this batch",
    ]  # fmt: skip
    payload: dict[str, Any] = {
        "batch": b,
        "patient_use": view.patient_use,
        "patient_use_reason": view.patient_use_reason,
        "dose_override": None if view.dose_override is None else view.dose_override.to_record(),
        "qc": qc,
        "signatures": [{"text": s.text, "valid": s.valid, "problem": s.problem}
                       for s in view.signatures],
        "changed_after_signing": view.changed_after_signing,
        "audit_chain_ok": view.chain.ok,
        "alarms": len(view.alarm_register),
        "unacknowledged_alarms": [a.alarm_id for a in view.unacknowledged_alarms],
    }  # fmt: skip
    emit(args, payload, "\n".join(lines))
    return 0


def _batches_sign(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, secrets):
        batches = BatchRecordsService(services.auth, services.records)
        password = secrets.ask(f"re-enter the password of {args.user} to sign: ")
        if args.batches_command == "review":
            signature = batches.review(session, args.batch, args.user, password, args.comment)
        else:
            meaning = Meaning.RELEASED if args.batches_command == "release" else Meaning.REJECTED
            signature = batches.dispose(
                session, args.batch, meaning, args.user, password, args.comment
            )
        status = batches.get(session, args.batch).status
    emit(
        args,
        {"batch_id": args.batch, "status": status, "signature": signature},
        f"batch {args.batch} is {status}\n{manifestation(signature)}",
    )
    return 0


def _batches_export(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        service = BatchExportService(services.auth, services.db)
        result = service.export(session, args.batch, args.format, args.out)
    made = f"\n{result.head.line()}" if result.head else ""
    emit(args, result, f"{result.format} written to {result.path} (sha256 {result.sha256}){made}")
    return 0


def _batches_label(args: argparse.Namespace) -> int:
    from printpharm.services.records.labels import print_label

    with logged_in(args) as (services, session, _):
        result = print_label(services.auth, session, args.batch, args.format, args.out,
                             args.directions, args.patient, args.width_mm)  # fmt: skip
    c = result.content
    text = (
        f"label ({result.format}, {args.width_mm} mm) written to {result.path} (sha256 "
        f"{result.sha256})\n{c.banner + chr(10) if c.banner else ''}patient {c.patient}: "
        f"{c.drug_line}, {c.units} units{f' ({c.units_note})' if c.units_note else ''}, use "
        f"before {c.beyond_use.date} ({c.beyond_use.basis})"
        f"\nGS1 DataMatrix {c.gs1_text}"
    )
    emit(args, result, text)
    return 0


def _batches_recover(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        done = recover_batches(services.auth, session, args.batch)
    lines = [f"batch {b} closed (interrupted or stopped)" for b in done.closed]
    lines += [f"batch {b} is still being made on {ws}: left open" for b, ws in done.held]
    emit(
        args,
        {"recovered": list(done.closed), "held": [{"batch_id": b, "workstation": w}
                                                  for b, w in done.held]},
        "\n".join(lines) or "no batch was left open",
    )  # fmt: skip
    return 0


# -- registration ------------------------------------------------------------------------------


def _version_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=LIBRARY_KINDS)
    parser.add_argument("id", help="recipe or ink id")
    parser.add_argument("version", type=whole_number_arg, help="version number")


def _register_library(subparsers: Sub) -> None:
    library = subparsers.add_parser(
        "library", help="the validated recipe and ink library"
    ).add_subparsers(dest="library_command", metavar="ACTION", required=True)
    p = library.add_parser("import", help="import the shipped recipes/ and inks/ files")
    p.set_defaults(func=_library_import)
    add_records_args(p)
    p = library.add_parser("list", help="list library versions (needs only the database)")
    p.add_argument("--kind", choices=LIBRARY_KINDS)
    p.add_argument("--id", help="only this recipe or ink")
    p.set_defaults(func=_library_list)
    add_records_args(p, login=False)
    for action, text in (
        ("validate", "validate a draft version (supervisor e-signature)"),
        ("lock", "lock a validated version (supervisor e-signature)"),
    ):
        p = library.add_parser(action, help=text)
        _version_args(p)
        p.add_argument("--comment", help="e.g. the validation report reference")
        p.set_defaults(func=_library_sign)
        add_records_args(p)
    p = library.add_parser("retire", help="retire a version (it stays readable)")
    _version_args(p)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=_library_retire)
    add_records_args(p)


def register(subparsers: Sub) -> None:
    """Register ``library`` and ``batches``."""
    _register_library(subparsers)
    text = "batch records: show, alarms and their acknowledgement, review, release, export"
    batches = subparsers.add_parser("batches", help=text).add_subparsers(
        dest="batches_command", metavar="ACTION", required=True
    )
    p = batches.add_parser("list", help="list batch records, newest first")
    p.add_argument("--status", help="only batches in this status")
    p.set_defaults(func=_batches_list)
    add_records_args(p)
    p = batches.add_parser("show", help="summary of one batch record")
    p.add_argument("batch")
    p.set_defaults(func=_batches_show)
    add_records_args(p)
    for action, text, needs_comment in (
        ("review", "sign the review of the record and its audit trail", True),
        ("release", "release the batch (supervisor e-signature, after a review)", False),
        ("reject", "reject the batch (supervisor e-signature)", True),
    ):
        p = batches.add_parser(action, help=text)
        p.add_argument("batch")
        p.add_argument("--comment", required=needs_comment)
        p.set_defaults(func=_batches_sign)
        add_records_args(p)
    p = batches.add_parser("export", help="write the record as PDF, CSV, JSON or a package")
    p.add_argument("batch")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True, type=Path, metavar="PATH", help="new file to write")
    p.set_defaults(func=_batches_export)
    add_records_args(p)
    p = batches.add_parser("label", help="write the patient label (PDF or ZPL) of a batch")
    p.add_argument("batch")
    p.add_argument("--format", required=True, choices=("pdf", "zpl"))
    p.add_argument("--out", required=True, type=Path, metavar="PATH", help="new file to write")
    p.add_argument("--directions", required=True, metavar="TEXT", help="e.g. 'Chew one daily'")
    p.add_argument("--patient", metavar="PSEUDONYM", help="when the batch records none")
    p.add_argument("--width-mm", type=int, default=62, choices=(62, 102), help="label roll")
    p.set_defaults(func=_batches_label)
    add_records_args(p)
    register_batches(batches)
    p = batches.add_parser(
        "recover", help="close batches left open by a crash, that no run holds (supervisor)"
    )
    p.add_argument("batch", nargs="?", metavar="ID", help="only this batch (default: all)")
    p.set_defaults(func=_batches_recover)
    add_records_args(p)
