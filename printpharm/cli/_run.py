"""``printpharm run``: the whole batch — plan, print, weigh, verdict — on simulators by default.

Without ports the run uses the built-in simulators (a printer and a plate
balance linked so that the balance weighs what the printer deposits), on a
virtual clock. With ``--printer-port``/``--balance-port`` it drives real
devices (or ``sim://`` URLs). Exit 0 when the run completed and no QC test
failed — the verdict may be PASS, LOCAL_SPEC_ONLY, or still pending (it names
what is missing, e.g. PENDING_CONTENT_UNIFORMITY, and the output says it is not
a pass; release stays refused until it is complete); 1 when a QC test failed
or the run was stopped or interrupted; 2 on bad input or a refused preflight.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from printpharm.catalog import Catalog, load_catalog
from printpharm.cli._alarms import (
    pause_acknowledger,
    pause_operator,
    refuse_unacknowledged_continue,
)
from printpharm.cli._auth_args import Secrets, add_db_flag, add_secret_flags, logged_in
from printpharm.cli._common import (
    add_json_flag,
    emit,
    out,
    simulator_options,
    to_jsonable,
    whole_number_arg,
)
from printpharm.cli._dose import UnitDose, add_dose_arguments, unit_dose_from_args, units_from_args
from printpharm.cli._override import (
    add_override_arguments,
    refuse_without_override,
    sign_if_refused,
)
from printpharm.cli._plan import weighed_text
from printpharm.core.ink_lots import ASSAY_BASES, UnitContent
from printpharm.errors import InputError, PreflightError
from printpharm.services.control.calibration import CalibrationService
from printpharm.services.control.dose_override import DoseOverride
from printpharm.services.control.entry_verification import verify_entry
from printpharm.services.control.line_clearance import LineClearance, checklist
from printpharm.services.control.print_authority import (
    PrintAuthorisation,
    after_run,
    begin_recorded_run,
)
from printpharm.services.jobs import CancelToken, EventHub
from printpharm.services.records.content_uniformity import cu_requirement_of
from printpharm.services.records.flow_prior_text import noise_prior_text
from printpharm.services.run.devices import (
    connected_devices,
    run_simulator_urls,
    split_sim_options,
)
from printpharm.services.run.events import Alarm, FlowCorrected, Heating, UnitWeighed
from printpharm.services.run.loop import run_batch
from printpharm.services.run.planning import PlanResult
from printpharm.services.run.prepare import PreparedRun, prepare_run
from printpharm.services.run.recording import (
    BatchRecorder,
    FanoutRecorder,
    JsonFileRecorder,
    NullRecorder,
)
from printpharm.services.run.request import OperatorCallback, RunOptions, RunRequest
from printpharm.services.run.result import AlarmKind, AlarmRecord, BatchResult

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``run`` sub-command."""
    run = subparsers.add_parser(
        "run",
        help="plan, print, weigh and judge a batch (simulators unless ports are given)",
        description=(
            "Plan the plate, then for each unit: tare, print, M400, weigh, compare with the "
            "target and the recipe's tolerance; a flow controller estimates the process offset "
            "from the weighed units and corrects the next unit's material (its G-code E words, "
            "0.01 % steps) only when the offset is distinguishable from noise, within the "
            "recipe's validated range, and warns of a drift; at the end run the recipe's QC "
            "tests. Without ports the built-in simulators are used (realistic noise by "
            "default; see 'printpharm sim --help' for --sim-option)."
        ),
    )
    run.add_argument("--recipe", required=True, metavar="ID", help="validated recipe id")
    run.add_argument("--units", required=True, metavar="N", help="units to print")
    run.epilog = (
        "The dose: --dose-mg D, or a prescription rule (--rule ...); a rule's dose is rounded "
        "to the recipe's dose step unless --step-mg is given."
    )
    add_dose_arguments(run, dose_mg_option=True)
    devices = run.add_argument_group("devices")
    devices.add_argument("--printer-port", metavar="P", help="printer port or URL (COM3, sim://…)")
    devices.add_argument("--balance-port", metavar="Q", help="balance port or URL")
    devices.add_argument(
        "--balance-baud",
        type=whole_number_arg,
        default=9600,
        metavar="B",
        help="balance line speed (MT-SICS default 9600; the printer's comes from its definition)",
    )
    devices.add_argument(
        "--simulate", action="store_true", help="use the built-in simulators (the default)"
    )
    devices.add_argument(
        "--sim-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="simulator option or fault (repeatable), e.g. seed=3, process_rsd=0.03, "
        "bias=0.03, drift_pct_per_unit=-0.5, clog_unit=3, clog_factor=0.5, bubble_rate=0.1, "
        "balance_sd_mg=0.05, drop_after=500; process_rsd=0 is an ideal process; all options: "
        "printpharm sim --help",
    )
    run.add_argument(
        "--out-dir",
        type=Path,
        metavar="D",
        help="also write the result (JSON), event log, G-code and serial logs here",
    )
    records = run.add_argument_group(
        "records",
        "with --user the batch is recorded in the database (locked mode applies: a locked "
        "recipe version and a dose in its validated range); without it nothing is recorded "
        "there (a training run: see --out-dir)",
    )
    add_db_flag(records)
    records.add_argument("--user", metavar="U", help="your user ID (a technician or above)")
    records.add_argument(
        "--lot",
        metavar="L",
        help="the released ink lot to print from (its number, or what the barcode scanner "
        "read): without it the ink file's example lot is recorded and the batch is not for "
        "patient use",
    )
    records.add_argument(
        "--verified-by",
        metavar="V",
        help="the pharmacist who checked the entry and dose (second person; their password "
        "is asked after yours): without it the batch is not for patient use",
    )
    records.add_argument(
        "--line-clearance",
        action="store_true",
        help="you confirm the line-clearance checklist (previous materials and labels removed, "
        "the right ink lot and syringe, the area clean); a recorded batch needs it",
    )
    records.add_argument(
        "--clearance-checked-by",
        metavar="C",
        help="the second person who checked the line clearance (their password is asked)",
    )
    records.add_argument(
        "--printer-asset",
        metavar="TAG",
        help="the printer's asset tag, when it reports no UUID of its own (M115)",
    )
    add_override_arguments(records)
    add_secret_flags(records, user=False)
    run.add_argument(
        "--no-flow-correction",
        action="store_true",
        help="print every unit as planned (the controller still warns of drift and clogs)",
    )
    run.add_argument(
        "--on-pause",
        choices=("ask", "continue", "abort"),
        help="answer to pause-policy alarms (default: ask on a terminal, else abort); a "
        "recorded batch continues only once the alarm is acknowledged (your password again)",
    )
    run.add_argument(
        "--ack-reason",
        metavar="TEXT",
        help="the reason recorded when you acknowledge a pause alarm to continue (a recorded "
        "run; asked on the terminal otherwise)",
    )
    add_json_flag(run)
    run.set_defaults(func=_run)


#: The ports given, or the built-in simulators' options (linked once the run is planned).
_Ports = tuple[str, str] | dict[str, str]


def _device_urls(args: argparse.Namespace) -> _Ports:
    if (args.printer_port or args.balance_port) and args.simulate:
        raise InputError("--simulate and --printer-port/--balance-port exclude each other")
    options = simulator_options(args)
    if args.printer_port and args.balance_port:
        return str(args.printer_port), str(args.balance_port)
    split_sim_options(options)  # an unknown option is refused before anything is planned
    return options


def _clearance(
    args: argparse.Namespace, request: RunRequest, secrets: Secrets
) -> LineClearance | None:
    """The line clearance the operator confirmed with --line-clearance (shown on the terminal)."""
    if not args.line_clearance:
        if args.clearance_checked_by:
            raise InputError("--clearance-checked-by checks a line clearance: add --line-clearance")
        return None
    if not args.json:
        items = "".join(f"  [x] {text}\n" for _, text in checklist(request, args.lot))
        out(f"line clearance confirmed by {args.user}:\n{items}")
    password = None
    if args.clearance_checked_by:
        prompt = f"password for {args.clearance_checked_by} (line-clearance check): "
        password = secrets.ask(prompt)
    return LineClearance.all_confirmed(args.clearance_checked_by, password)


def _printer(event: object) -> None:
    """Human progress: one line per unit, alarms, corrections, heating."""
    line = ""
    if isinstance(event, Heating):
        line = (
            f"heated: nozzle {event.hotend_actual_c} °C, bed {event.bed_actual_c} °C"
            if event.reached
            else f"heating: nozzle {event.hotend_c} °C, bed {event.bed_c} °C"
        )
    elif isinstance(event, UnitWeighed):
        u = event.unit
        line = (
            f"unit {u.n:>3}  target {u.target_mg} mg  measured {u.measured_mg} mg  "
            f"{u.deviation_pct:+} %  {u.verdict.upper()}  (material {u.material_pct} %)"
        )
        if u.content_mg is not None:
            line += f"  content {UnitContent(u.content_mg, u.content_uncertainty_mg).text()}"
        if u.pressure is not None:
            line += f"  pressure {u.pressure['mean_kpa']} kPa (max {u.pressure['max_kpa']})"
    elif isinstance(event, FlowCorrected):
        c = event.correction
        bound = " (clamped to the validated range)" if c.clamped else ""
        line = (
            f"material for unit {c.for_unit}: {c.previous_pct} → {c.applied_pct} %{bound} "
            f"(offset estimate {c.estimate_pct:+} ± {c.estimate_se_pct} %)"
        )
    elif isinstance(event, Alarm):
        a = event.alarm
        line = (
            f"WARNING {a.kind.value}: {a.message}"
            if a.action == "warn"
            else f"ALARM {a.kind.value}: {a.message} → {a.action}"
        )
    if line:
        out(line + "\n")  # a closed terminal does not end the batch


@contextlib.contextmanager
def _ctrl_c_cancels(token: CancelToken) -> Iterator[None]:
    """Ctrl-C, SIGTERM or SIGHUP stops the run at once (the printer made safe, the reason
    recorded).

    SIGTERM (a logout, a service manager, ``kill``) and SIGHUP (the terminal window
    closed, an SSH session dropped) would otherwise end the process mid-unit with the
    heaters on, no result written and a recorded batch left open. A run nobody
    watches any more cannot answer a paused alarm either, so a hang-up stops it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reasons = {
        signal.SIGINT: "interrupted by the operator (Ctrl-C)",
        signal.SIGTERM: "terminated (SIGTERM): the program was asked to stop",
    }
    if hasattr(signal, "SIGHUP"):  # POSIX
        reasons[signal.SIGHUP] = "hang-up (SIGHUP): the terminal the run was started from closed"

    def on_signal(signum: int, _frame: object) -> None:
        # Cancel from another thread: the token's callback may then abort the running
        # stream at once (from the run's own thread it would only stop at the next check).
        reason = reasons[signal.Signals(signum)]
        threading.Thread(target=token.cancel, args=(reason,), name="stop-signal").start()

    previous = {signum: signal.signal(signum, on_signal) for signum in reasons}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _lot_line(result: BatchResult) -> str:
    lot = result.recipe["ink"]["lot_record"]
    assay = lot.get("assay") or {}
    shown = f"{assay.get('value')} {ASSAY_BASES.get(assay.get('basis', ''), '')}".strip()
    measured = "assayed" if assay.get("measured") else "nominal, not an assay"
    return f"ink {lot['label']}; content per unit = mass × {shown} ({measured})"


def warnings_text(alarms: Iterable[AlarmRecord]) -> str:
    """``3 warning(s) (1 drift warning, 2 temperature)``: the run's warnings by kind.

    A warning is not always a drift: a temperature or pressure report that a fresh
    reading did not confirm is one too, and the summary must not call it a drift.
    """
    kinds = Counter(AlarmKind(a.kind).value.replace("_", " ") for a in alarms if a.action == "warn")
    total = sum(kinds.values())
    if not total:
        return "0 warning(s)"
    return f"{total} warning(s) (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"


def _verdict_text(result: BatchResult, plan: PlanResult, paths: list[Path], recorded: bool) -> str:
    weighed = [u for u in result.units if u.measured_mg is not None]
    failed = sum(1 for u in result.units if u.verdict == "fail")
    warnings = sum(1 for a in result.alarms if a.action == "warn")
    lines = [
        f"batch {result.batch_id}: {result.status.upper()} — {result.reason}",
        f"recipe {result.recipe['id']} ({result.recipe['version']}); dose {result.dose['dose_mg']}"
        f" mg per unit; target {weighed_text(plan)}",
        plan.ink.describe(),
        f"printer {result.printer.get('firmware', '?')} on {result.printer['port']}",
        f"balance {result.balance.get('model', '?')} #{result.balance.get('serial_number', '?')}"
        f" on {result.balance['port']}",
        _lot_line(result),
        f"units: {len(weighed)} of {result.units_planned} weighed, {failed} out of tolerance; "
        f"{len(result.corrections)} flow correction(s); {len(result.alarms) - warnings} "
        f"alarm(s); {warnings_text(result.alarms)}",
        f"flow control: {noise_prior_text(result.recipe)}",
        f"QC: {result.qc.verdict.upper()} — {result.qc.reason}",
    ]
    lines += [f"  {t.test:<20} {t.result:<15} {t.reason}" for t in result.qc.tests]
    if result.calibration_check is not None:
        lines.append(str(result.calibration_check["text"]))
    lines.append("VERDICT: " + _verdict(result, recorded))
    needed, why = cu_requirement_of(result.dose["dose_mg"], result.recipe)
    if recorded and needed and result.qc.verdict == "pending_content_uniformity":
        lines.append(
            f"content uniformity is needed before release ({why}): "
            f"printpharm qc cu {result.batch_id} --select"
        )
    lines += [f"record: {p}" for p in paths]
    return "\n".join(lines)


def _verdict(result: BatchResult, recorded: bool) -> str:
    """What the batch is: a pass, a local-specification release, what is missing, or a fail."""
    verdict = result.qc.verdict.upper()
    if result.status != "completed" or result.qc.verdict in ("fail", "not_evaluated"):
        return "FAIL"
    if not result.releasable:
        return f"{verdict} — not a pass; not releasable until that is done"
    if not recorded:
        return f"{verdict} (training run: no release)"
    if result.qc.verdict == "local_spec_only":
        return f"{verdict} — on the local specification only; ready for release review"
    return f"{verdict} — ready for release review"


def _make_out_dir(path: Path | None) -> None:
    """Create ``--out-dir`` (or refuse it, saying why) before the batch starts."""
    if path is None:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file of that name exists" if path.is_file() else exc.strerror or str(exc)
        raise InputError(f"--out-dir {path}: cannot create the folder ({reason})") from exc


def _run(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    dose = unit_dose_from_args(args, catalog.recipe(args.recipe))
    recording = (args.db, args.password_stdin, args.verified_by, args.lot, args.line_clearance,
                 args.clearance_checked_by, args.printer_asset, args.ack_reason)  # fmt: skip
    if args.user is None and any(recording):
        raise InputError(
            "--db, --password-stdin, --verified-by, --lot, --line-clearance, "
            "--clearance-checked-by, --printer-asset and --ack-reason record the batch: give "
            "--user as well"
        )
    refuse_unacknowledged_continue(args)
    refuse_without_override(args, dose)  # before anything is planned
    units = units_from_args(args)
    ports = _device_urls(args)
    _make_out_dir(args.out_dir)  # before anything is recorded or printed
    use: dict[str, Any] = {"patient_use": False, "patient_use_reason": "not recorded"}
    override: DoseOverride | None = None
    if args.user is None:
        prepared = prepare_run(catalog, args.recipe, dose.dose_mg, units, dose_record=dose.record)
        options = RunOptions(flow_correction=not args.no_flow_correction)
        result, paths = _print(
            args, prepared, ports, NullRecorder(), options, pause_operator(args, None)
        )
        note = "not recorded in the database (no --user): a training run"
    else:
        result, paths, authorisation, prepared = _recorded(args, catalog, units, ports, dose)
        override = authorisation.dose_override
        reason = "; ".join(authorisation.problems) or f"recipe: {authorisation.recipe_line}"
        use = {"patient_use": authorisation.patient_use, "patient_use_reason": reason}
        note = f"recorded in the database by {args.user} — {authorisation.label}: {reason}"
    plan = prepared.plan
    payload = {
        **to_jsonable(result),
        "passed": result.passed,
        "releasable": result.releasable,
        "recorded": args.user is not None,
        **use,
        "dose_override": None if override is None else to_jsonable(override.to_record()),
        "plan": _plan_summary(plan),
    }
    lines = [*dose.lines(), *([override.describe()] if override is not None else [])]
    text = "\n".join([*lines, _verdict_text(result, plan, paths, args.user is not None)])
    emit(args, payload, f"{text}\nbatch record: {note}")
    # a pending verdict is work still to do (assays), not a failed batch: the run did its job
    return 0 if result.status == "completed" and result.qc.verdict != "fail" else 1


def _recorded(
    args: argparse.Namespace, catalog: Catalog, units: int, ports: _Ports, dose: UnitDose
) -> tuple[BatchResult, list[Path], PrintAuthorisation, PreparedRun]:
    """Log in, plan with the calibration in force, sign the dose override and the
    second-person check asked for, bind the lot, clear the line, print, record."""
    with logged_in(args) as (services, session, secrets):
        recipe = catalog.recipe(args.recipe)
        calibrations = CalibrationService(services.auth, services.records)
        calibration = calibrations.for_plan(
            catalog.ink(recipe.ink), recipe.printer, args.printer_asset, args.lot
        )
        try:
            prepared = prepare_run(catalog, recipe.id, dose.dose_mg, units,
                                   dose_record=dose.record, calibration=calibration)  # fmt: skip
        except PreflightError as exc:  # the calibration in force cannot hold the dose
            if calibration is not None:
                what = f"{units} × {dose.dose_mg} mg of {recipe.id}"
                calibrations.plan_refused(session, calibration, what, str(exc))
            raise
        sign_if_refused(args, services, session, secrets, prepared.request.recipe.id, dose)
        if args.verified_by:
            prompt = f"password for {args.verified_by} (second-person check): "
            verify_entry(
                services.auth, session, prepared.request, args.verified_by, secrets.ask(prompt)
            )
        recorded = begin_recorded_run(
            services.auth,
            session,
            prepared.request,
            lot=args.lot,
            clearance=_clearance(args, prepared.request, secrets),
            printer_asset=args.printer_asset,
        )
        options = recorded.options(flow_correction=not args.no_flow_correction)
        batch_id = str(prepared.request.batch_id)
        acknowledge = pause_acknowledger(args, services, session, secrets, batch_id)
        operator = pause_operator(args, acknowledge)
        result, paths = _print(args, prepared, ports, recorded.recorder, options, operator)
    return result, paths, after_run(recorded.authorisation, result), prepared  # as recorded


def _print(
    args: argparse.Namespace,
    prepared: PreparedRun,
    ports: _Ports,
    recorder: BatchRecorder,
    options: RunOptions,
    operator: OperatorCallback,
) -> tuple[BatchResult, list[Path]]:
    """Connect the devices and run the batch; also write the files asked for with --out-dir.

    Simulators deposit what the calibration the plan sized with predicts (planning and
    simulation agree; a ``mass_per_mm3`` option models a paste that does not).
    """
    request, plan = prepared.request, prepared.plan
    urls = ports if isinstance(ports, tuple) else run_simulator_urls(request, ports)
    batch_id = request.batch_id
    paths: list[Path] = []
    logs: tuple[Path, Path] | None = None
    if args.out_dir is not None:
        recorder = FanoutRecorder(recorder, JsonFileRecorder(args.out_dir))
        gcode_path = args.out_dir / f"{batch_id}.gcode"
        gcode_path.write_text(plan.gcode, encoding="ascii")
        logs = (args.out_dir / f"{batch_id}.printer.log", args.out_dir / f"{batch_id}.balance.log")
        paths += [args.out_dir / f"{batch_id}.json", gcode_path, *logs]
    hub = EventHub()
    if not args.json:
        out(_plan_line(plan) + "\n")
        hub.subscribe(_printer)
    token = CancelToken()
    with (
        connected_devices(
            *urls,
            baudrate=request.printer_definition.baud,
            balance_baudrate=args.balance_baud,
            serial_logs=logs,
        ) as devices,
        _ctrl_c_cancels(token),
    ):
        result = run_batch(
            request,
            devices,
            hub=hub,
            recorder=recorder,
            cancel=token,
            operator=operator,
            options=options,
        )
    return result, paths


def _plan_line(plan: PlanResult) -> str:
    dims = ", ".join(f"{k.removesuffix('_mm')} {v:.2f} mm" for k, v in plan.dimensions_mm.items())
    line = (
        f"planned {plan.units} × {plan.template} ({dims}, {plan.layers} layers): "
        f"{plan.dose_mg} mg dose, target {weighed_text(plan)}; "
        f"about {plan.estimated_time_s / 60:.0f} min of printing"
    )
    if plan.prediction is not None:
        p = plan.prediction
        line += f"\n{p.text}; {p.calibration.label}"
    return line


def _plan_summary(plan: PlanResult) -> dict[str, Any]:
    return {
        "target_mass_mg": plan.target_mass_mg,
        "target_volume_mm3": plan.target_volume_mm3,
        "template": plan.template,
        "dimensions_mm": plan.dimensions_mm,
        "layers": plan.layers,
        "line_count": plan.line_count,
        "estimated_time_s": plan.estimated_time_s,
        "extrusion": plan.extrusion,
        "ink_required_ml": plan.ink.to_record(),
        "warnings": list(plan.warnings),
        "calibration": None if plan.prediction is None else plan.prediction.record(),
    }
