"""``printpharm sim printer|balance`` and ``printpharm stream``: device tools.

``sim`` serves the built-in simulators on pseudo-terminals until stopped
(Ctrl-C or SIGTERM) so that any host (printpharm, Printrun, OctoPrint, a
terminal program) can connect to the printed path. ``stream`` sends a G-code
file to a printer with line numbers and checksums and prints a summary: a
supervisor's maintenance task, audited (services/control/maintenance.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import textwrap
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from printpharm.catalog import load_catalog
from printpharm.cli._auth_args import add_db_flag, add_secret_flags, logged_in
from printpharm.cli._common import add_json_flag, emit
from printpharm.services.run.simulators import FAST_PTY_SPEED, options_help, serve_simulators

__all__ = ["register"]

#: The printer definition ``stream`` checks a file against unless ``--printer`` names one
#: (the definition the built-in simulator stands for).
DEFAULT_STREAM_PRINTER = "marlin-sse"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sim`` and ``stream``."""
    sim = subparsers.add_parser(
        "sim",
        help="serve a simulated printer or balance on a pty",
        description=textwrap.fill(
            "Serve the built-in simulators on pseudo-terminals. They are rough on purpose: "
            "by default an SSE paste printer deposits with 2 % unit-to-unit RSD, a slow "
            "drift, occasional air bubbles and a start lag, and the balance reads with "
            "0.02 mg noise, drifts and settles (published SSE unit RSD is 1-4 %, FDM ~1 %). "
            "Options are KEY=VALUE (--option, repeatable; the same names as "
            "'printpharm run --sim-option').",
            width=79,
        ),
        epilog=options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = sim.add_subparsers(dest="sim_kind", metavar="DEVICE", required=True)
    printer = kinds.add_parser(
        "printer",
        help="a Marlin printer simulator",
        epilog=options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    printer.add_argument(
        "--link", action="store_true", help="also serve a plate balance weighing the deposits"
    )
    balance = kinds.add_parser("balance", help="an MT-SICS balance simulator")
    for parser in (printer, balance):
        parser.add_argument("--seed", type=int, default=0, help="random seed (noise, faults)")
        parser.add_argument(
            "--fast", action="store_true", help=f"run the clock {FAST_PTY_SPEED:g}x faster"
        )
        parser.add_argument(
            "--speed", type=float, default=1.0, help="simulated seconds per second (default 1)"
        )
        parser.add_argument(
            "--fault",
            "--option",
            dest="options",
            action="append",
            default=[],
            metavar="KEY[=VALUE]",
            help="a process option or fault (repeatable), e.g. process_rsd=0.03, bias=0.03, "
            "clog_unit=3, drop_after=500, never_settles, balance_sd_mg=0.05; with --link each "
            "goes to the simulator that knows it ('balance.' forces the balance); "
            "see 'printpharm sim --help' for all",
        )
        add_json_flag(parser)
        parser.set_defaults(func=_cmd_sim)

    stream = subparsers.add_parser(
        "stream",
        help="stream a G-code file to a printer (maintenance: supervisor, audited)",
        description="Send a G-code file to a printer with line numbers and checksums, as "
        "maintenance (homing, a purge, a firmware test). Batches are printed with 'run'. "
        "Only a supervisor may stream; who sent which file (SHA-256) to which port, why and "
        "how it went is recorded in the audit trail.",
    )
    stream.add_argument("file", type=Path, metavar="FILE.gcode")
    stream.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    stream.add_argument(
        "--port", required=True, help="serial port or URL: COM3, /dev/ttyACM0, sim://printer"
    )
    stream.add_argument(
        "--printer",
        default=DEFAULT_STREAM_PRINTER,
        metavar="ID",
        help="printer definition whose bed, maximum temperatures and E unit the file must "
        f"respect (default {DEFAULT_STREAM_PRINTER}); nothing is sent otherwise",
    )
    stream.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    stream.add_argument(
        "--ok-timeout-s", type=float, default=30.0, help="seconds without an answer before a probe"
    )
    stream.add_argument(
        "--serial-log", type=Path, default=None, metavar="PATH", help="append all traffic to PATH"
    )
    add_db_flag(stream)
    add_secret_flags(stream, user_help="the supervisor streaming (asks for the password)")
    add_json_flag(stream)
    stream.set_defaults(func=_cmd_stream)


def _cmd_sim(args: argparse.Namespace) -> int:
    speed = FAST_PTY_SPEED if args.fast else args.speed
    served = serve_simulators(
        args.sim_kind,
        args.options,
        seed=args.seed,
        speed=speed,
        link=args.sim_kind == "printer" and args.link,
    )
    try:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        # before "serving" is announced: whoever read it may send SIGTERM at once
        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            text = "\n".join(f"{name}: {path}" for name, path in served.paths.items())
            emit(args, served.paths, text + "\nserving until Ctrl-C or SIGTERM")
            sys.stdout.flush()
            why = served.wait(stop)
            if why:
                print(why, file=sys.stderr)
        except KeyboardInterrupt:
            pass  # Ctrl-C is the normal way to stop serving
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        served.stop()
    return 0


def _cmd_stream(args: argparse.Namespace) -> int:
    from printpharm.services.control.maintenance import read_gcode, stream_gcode

    read_gcode(args.file)  # a missing or unreadable file is refused before the login
    printer = load_catalog().printer(args.printer)
    with logged_in(args) as (services, session, _):
        outcome = stream_gcode(
            services.auth,
            session,
            args.file,
            args.port,
            args.reason,
            printer,
            baudrate=args.baud,
            ok_timeout_s=args.ok_timeout_s,
            serial_log=args.serial_log,
            on_progress=None if args.json else _progress,
        )
    if not args.json:
        sys.stderr.write("\n")
    payload: dict[str, Any] = dataclasses.asdict(outcome)
    emit(
        args,
        payload,
        f"streamed {outcome.lines_acked} of {outcome.lines} lines to {outcome.port} "
        f"({outcome.firmware or 'unknown firmware'}) in {outcome.elapsed_s:.2f} s "
        f"({outcome.lines_per_s:.0f} lines/s): {outcome.resends} resends, {outcome.errors} "
        f"errors; recorded in the audit trail (file SHA-256 {outcome.sha256[:12]}...)",
    )
    return 0


def _progress(acked: int, total: int) -> None:
    if acked % 500 == 0 or acked == total:
        sys.stderr.write(f"\r{acked}/{total} lines")
        sys.stderr.flush()
