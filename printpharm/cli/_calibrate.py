"""``printpharm calibrate``: print and weigh a calibration series, fit it, sign it, list it.

::

    printpharm calibrate --ink ID --printer P --user U [--lot L] [--printer-asset TAG]
                         [--volumes V1,V2,...] [--replicates N] [--plot FILE.pdf|.svg]
                         [--printer-port P --balance-port Q | --sim-option KEY=VALUE]
    printpharm calibrate validate VERSION --user U [--comment C]      e-signature
    printpharm calibrate lock     VERSION --user U [--comment C]      e-signature
    printpharm calibrate retire   VERSION --user U --reason R
    printpharm calibrate list     --user U [--ink ID] [--printer P] [--status S]
    printpharm calibrate show     VERSION --user U [--plot FILE]

The series runs on the built-in simulators unless ports are given; every disc is
weighed, ``mass = a·V + b`` is fitted and judged against the site's acceptance
criteria, the fit and a plot (points, line, 95 % prediction band, residuals) are
written, and an accepted fit is stored as a draft calibration version that another
pharmacist validates and locks. A refused fit exits 2 with every reason.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

from printpharm.catalog import load_catalog
from printpharm.cli._auth_args import add_records_args, logged_in
from printpharm.cli._common import emit, simulator_options, whole_number_arg
from printpharm.core.calibration import (
    DEFAULT_WEIGHTING,
    WEIGHTINGS,
    LinearCalibration,
    weighting_text,
)
from printpharm.core.calibration_checks import exact
from printpharm.errors import InputError
from printpharm.services.access.signatures import manifestation
from printpharm.services.control.calibration import CalibrationService, CalibrationView
from printpharm.services.control.calibration_run import CalibrationRun, SeriesOrder
from printpharm.services.run.calibration_series import (
    DEFAULT_REPLICATES,
    SeriesPoint,
    levels_text,
)

__all__ = ["register"]

#: What the screen says of a calibration fitted on simulators.
TRAINING_LINE = (
    "fitted on simulators: TRAINING ONLY — never sizes a patient batch, never in force on a "
    "real printer"
)

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _volumes(text: str) -> list[float]:
    try:
        values = [float(Decimal(v.strip())) for v in text.split(",") if v.strip()]
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of volumes in mm³") from None
    if len(values) < 2 or any(not 0 < v < 100000 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give at least 2 positive volumes in mm³")
    return values


def _order(args: argparse.Namespace) -> SeriesOrder:
    options = simulator_options(args)
    return SeriesOrder(
        args.ink, args.printer, args.lot, args.ink_version, args.printer_asset,
        None if args.volumes is None else tuple(args.volumes), args.replicates,
        args.printer_port, args.balance_port, options, args.weighting,
    )  # fmt: skip


def _intervals(line: LinearCalibration) -> list[dict[str, Decimal]]:
    out = []
    for volume in (line.v_min_mm3, line.v_max_mm3):
        low, high = line.prediction_interval(volume)
        out.append({"volume_mm3": exact(volume), "mass_mg": exact(line.mass_for_volume(volume)),
                    "low_mg": exact(low), "high_mg": exact(high)})  # fmt: skip
    return out


def _fit_lines(line: LinearCalibration, masses: list[Decimal]) -> list[str]:
    assert line.r2 is not None and line.residual_sd_mg is not None
    mean = float(sum(masses, Decimal(0)) / len(masses))
    sign = "−" if line.b_mg < 0 else "+"
    ends = "; ".join(
        f"{e['volume_mm3']:.1f} mm³ → {e['low_mg']:.2f}–{e['high_mg']:.2f} mg"
        for e in _intervals(line)
    )
    return [
        f"fit: mass = {line.a_mg_per_mm3:.6f} mg/mm³ · V {sign} {abs(line.b_mg):.4f} mg "
        f"(n = {line.n}, {line.v_min_mm3:.1f}–{line.v_max_mm3:.1f} mm³)",
        f"R² = {line.r2:.10f}; residual SD = {line.residual_sd_mg:.4f} mg "
        f"({line.residual_sd_mg / mean * 100:.3f} % of the mean mass {mean:.2f} mg)",
        f"95 % prediction interval of one unit at the series' ends: {ends}",
        f"fit: {weighting_text(line.weighting)}"
        + ("" if line.residual_sd_rel is None else
           f"; relative residual SD = {line.residual_sd_rel * 100:.3f} %"),
    ]  # fmt: skip


def _series(args: argparse.Namespace) -> int:
    if not (args.ink and args.printer and args.user):
        raise InputError("a calibration series needs --ink, --printer and --user")
    order = _order(args)
    plot = args.plot or Path(
        f"calibration-{args.ink}-{args.printer}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.pdf"
    )
    with logged_in(args) as (services, session, _):
        runner = CalibrationRun(services.auth, services.records, load_catalog())
        prepared = runner.prepare(session, order)  # refused before anything is printed
        plan, ink_version = prepared
        if not args.json:
            lines = [f"calibration series of {args.ink} on {args.printer} (recipe "
                     f"{plan.recipe.id}): {levels_text(plan)}", *plan.notes]  # fmt: skip
            sys.stdout.write("\n".join(lines) + "\n")

        def shown(p: SeriesPoint) -> None:
            if not args.json:
                sys.stdout.write(f"disc {p.n:>2}  {p.volume_mm3:>10} mm³  {p.mass_mg:>9.2f} mg\n")
                sys.stdout.flush()

        measured = runner.measure(session, order, on_point=shown, prepared=prepared)
        from printpharm.services.control.calibration_plot import write_plot

        line, pairs = measured.line, measured.pairs
        title = f"Calibration series — {args.ink} v{ink_version} on {args.printer}"
        write_plot(line, [(float(v), float(m)) for v, m in pairs], title, plot)
        fitted = [*_fit_lines(line, [m for _, m in pairs]), f"plot: {plot}"]
        if measured.training_only:
            fitted.append(TRAINING_LINE)
        if not args.json:
            sys.stdout.write("\n".join(fitted) + "\n")
        record = runner.store(session, measured)
    view = CalibrationView(record)
    payload = {**_payload(view), "plot": str(plot), "series_notes": list(plan.notes)}
    text = (
        f"stored as calibration v{record.version} (draft) — {view.in_force().label}\n"
        f"next: another pharmacist validates and locks it: printpharm calibrate validate "
        f"{record.version} --user U, then printpharm calibrate lock {record.version} --user U"
    )
    emit(args, payload, text)
    return 0


def _payload(view: CalibrationView) -> dict[str, Any]:
    r, line = view.record, view.line
    return {
        "version": r.version, "status": r.status, "record_id": r.record_id,
        "label": view.in_force().label, "ink_id": r.ink_id, "ink_version": r.ink_version,
        "printer_type": r.printer_type, "printer_asset": r.printer_asset,
        "lot_number": r.lot_number, "a_mg_per_mm3": r.a_mg_per_mm3, "b_mg": r.b_mg,
        "n": r.n_points, "r2": r.r2, "residual_sd_mg": r.residual_sd_mg,
        "v_min_mm3": r.v_min_mm3, "v_max_mm3": r.v_max_mm3, "weighting": r.weighting,
        "residual_sd_rel": None if line.residual_sd_rel is None else exact(line.residual_sd_rel),
        "prediction_interval_at_ends": _intervals(line),
        "points": [{"volume_mm3": v, "mass_mg": m} for v, m in r.points],
        "context": r.context, "content_sha256": r.content_sha256,
        "fitted_by": r.fitted_by, "fitted_at": r.fitted_at,
        "validated_by": r.validated_by, "locked_by": r.locked_by,
        "training_only": view.training_only,
        "signatures": [{"manifestation": manifestation(s), **s.__dict__} for s in view.signatures],
    }  # fmt: skip


def _summary(view: CalibrationView) -> str:
    r = view.record
    where = r.printer_type + (f" {r.printer_asset}" if r.printer_asset else "")
    lot = f" lot {r.lot_number}" if r.lot_number else ""
    return (
        f"v{r.version:<4} {r.status:<9} {r.ink_id} v{r.ink_version} on {where}{lot}: "
        f"a {r.a_mg_per_mm3} mg/mm³, b {r.b_mg} mg, n {r.n_points}, R² {r.r2}, "
        f"s {r.residual_sd_mg} mg; fitted by {r.fitted_by} {r.fitted_at:%Y-%m-%d}"
        + ("; TRAINING ONLY" if view.training_only else "")
    )


def _show_lines(view: CalibrationView) -> list[str]:
    r = view.record
    lines = [view.in_force().label, *_fit_lines(view.line, [m for _, m in r.points])]
    lines.append(f"fitted by {r.fitted_by} at {r.fitted_at:%Y-%m-%d %H:%M} UTC; content SHA-256 "
                 f"{r.content_sha256[:16]}…")  # fmt: skip
    if view.training_only:
        lines.append(TRAINING_LINE)
    lines += [f"  {manifestation(s)}" for s in view.signatures]
    return lines


def _sign(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, secrets):
        service = CalibrationService(services.auth, services.records)
        password = secrets.ask(f"re-enter the password of {args.user} to sign: ")
        move = service.validate if args.calibrate_command == "validate" else service.lock
        signature = move(session, args.version, args.user, password, args.comment)
        view = service.show(session, args.version)
    emit(args, _payload(view), "\n".join([*_show_lines(view)[:1], manifestation(signature)]))
    return 0


def _retire(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        service = CalibrationService(services.auth, services.records)
        service.retire(session, args.version, args.reason)
        view = service.show(session, args.version)
    emit(args, _payload(view), f"retired: {view.in_force().label}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        views = CalibrationService(services.auth, services.records).list(
            session, args.ink, args.printer, args.status
        )
    text = "\n".join(_summary(v) for v in views) or "no calibrations"
    emit(args, {"calibrations": [_payload(v) for v in views]}, text)
    return 0


def _show(args: argparse.Namespace) -> int:
    with logged_in(args) as (services, session, _):
        view = CalibrationService(services.auth, services.records).show(session, args.version)
    lines = _show_lines(view)
    payload = _payload(view)
    if args.plot is not None:
        from printpharm.services.control.calibration_plot import write_plot

        r = view.record
        points = [(float(v), float(m)) for v, m in r.points]
        title = (f"Calibration v{r.version} ({r.status}) — {r.ink_id} v{r.ink_version} on "
                 f"{r.printer_type}")  # fmt: skip
        write_plot(view.line, points, title, args.plot)
        lines.append(f"plot: {args.plot}")
        payload["plot"] = str(args.plot)
    emit(args, payload, "\n".join(lines))
    return 0


def _series_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ink", metavar="ID", help="the ink to calibrate")
    p.add_argument("--printer", metavar="P", help="printer definition (e.g. marlin-sse)")
    p.add_argument("--lot", metavar="L", help="bind the calibration to this released lot")
    p.add_argument("--ink-version", type=int, metavar="N", help="default: the locked version")
    p.add_argument("--printer-asset", metavar="TAG", help="bind it to one registered printer")
    p.add_argument("--volumes", type=_volumes, metavar="V1,V2,...",
                   help="volume levels in mm³ (default: the ink's range, log-spaced)")  # fmt: skip
    p.add_argument("--replicates", type=whole_number_arg, default=DEFAULT_REPLICATES,
                   metavar="N", help="discs per volume (default %(default)s)")  # fmt: skip
    p.add_argument("--plot", type=Path, metavar="FILE", help="plot file (.pdf or .svg)")
    p.add_argument("--weighting", choices=WEIGHTINGS, default=DEFAULT_WEIGHTING,
                   help="least squares weighted 1/mass² for relative noise (default), or "
                        "unweighted for a scatter constant in mg")  # fmt: skip
    p.add_argument("--printer-port", metavar="P", help="printer port or URL (default: simulator)")
    p.add_argument("--balance-port", metavar="Q", help="balance port or URL")
    p.add_argument("--sim-option", action="append", default=[], metavar="KEY=VALUE",
                   help="simulator option (as run --sim-option), e.g. seed=3, bias=0.03, "
                        "process_rsd=0")  # fmt: skip


def register(subparsers: Sub) -> None:
    """Register ``calibrate``."""
    cal = subparsers.add_parser(
        "calibrate",
        help="fit the ink's mass–volume calibration on site; validate, lock, list, show",
        description=__doc__.split("::\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _series_args(cal)
    add_records_args(cal, login=False)
    cal.add_argument("--user", metavar="U", help="your user ID (a pharmacist)")
    cal.add_argument("--password-stdin", action="store_true", help="read passwords from stdin")
    cal.set_defaults(func=_series, calibrate_command=None)
    sub = cal.add_subparsers(dest="calibrate_command", metavar="ACTION")
    for action, what in (("validate", "validate a draft"), ("lock", "lock a validated one")):
        p = sub.add_parser(action, help=f"{what} (a pharmacist's e-signature, not the fitter's)")
        p.add_argument("version", type=whole_number_arg, metavar="VERSION")
        p.add_argument("--comment", metavar="C")
        add_records_args(p)
        p.set_defaults(func=_sign)
    retire = sub.add_parser("retire", help="retire a calibration (never in force again)")
    retire.add_argument("version", type=whole_number_arg, metavar="VERSION")
    retire.add_argument("--reason", required=True, metavar="R")
    add_records_args(retire)
    retire.set_defaults(func=_retire)
    listing = sub.add_parser("list", help="calibrations, newest first")
    listing.add_argument("--ink", metavar="ID")
    listing.add_argument("--printer", metavar="P")
    listing.add_argument("--status", choices=("draft", "validated", "locked", "retired"))
    add_records_args(listing)
    listing.set_defaults(func=_list)
    show = sub.add_parser("show", help="one calibration with its fit and signatures")
    show.add_argument("version", type=whole_number_arg, metavar="VERSION")
    show.add_argument("--plot", type=Path, metavar="FILE", help="also write its plot")
    add_records_args(show)
    show.set_defaults(func=_show)
