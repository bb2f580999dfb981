"""``printpharm sim printer|balance`` and ``printpharm stream``: device tools.

``sim`` serves the built-in simulators on pseudo-terminals until stopped
(Ctrl-C or SIGTERM) so that any host (printpharm, Printrun, OctoPrint, a
terminal program) can connect to the printed path. ``stream`` sends a G-code
file to a printer with line numbers and checksums and prints a summary.
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from printpharm.cli._common import add_json_flag, emit
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import (
    BALANCE_OPTIONS,
    FAST_PTY_SPEED,
    PRINTER_OPTIONS,
    Plate,
    PtyServer,
    build_balance,
    build_printer,
    options_help,
)
from printpharm.devices.transport import open_transport
from printpharm.errors import InputError

__all__ = ["register"]


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

    stream = subparsers.add_parser("stream", help="stream a G-code file to a printer")
    stream.add_argument("file", type=Path, metavar="FILE.gcode")
    stream.add_argument(
        "--port", required=True, help="serial port or URL: COM3, /dev/ttyACM0, sim://printer"
    )
    stream.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    stream.add_argument(
        "--ok-timeout-s", type=float, default=30.0, help="seconds without an answer before a probe"
    )
    stream.add_argument(
        "--serial-log", type=Path, default=None, metavar="PATH", help="append all traffic to PATH"
    )
    add_json_flag(stream)
    stream.set_defaults(func=_cmd_stream)


def _split_options(pairs: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Sort ``KEY[=VALUE]`` pairs into printer and balance options (by who knows the key)."""
    printer: dict[str, str] = {}
    balance: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not key:
            raise InputError(f"--option {pair!r}: expected KEY or KEY=VALUE")
        if key.startswith("balance."):
            balance[key.removeprefix("balance.")] = value
        elif key in BALANCE_OPTIONS and key not in PRINTER_OPTIONS:
            balance[key] = value
        else:
            printer[key] = value
    return printer, balance


def _cmd_sim(args: argparse.Namespace) -> int:
    options, balance_options = _split_options(args.options)
    seed = options.get("seed", balance_options.get("seed", str(args.seed)))
    for target in (options, balance_options):
        target.setdefault("seed", seed)
    speed = FAST_PTY_SPEED if args.fast else args.speed
    if not speed > 0:
        raise InputError(f"--speed {speed}: must be > 0")
    servers: dict[str, PtyServer] = {}
    if args.sim_kind == "printer":
        plate = Plate()
        if not args.link and len(balance_options) > 1:  # more than the seed
            stray = ", ".join(sorted(k for k in balance_options if k != "seed"))
            raise InputError(f"balance option(s) {stray} need --link (a balance to serve)")
        servers["printer"] = PtyServer(build_printer(options, plate), speed)
        if args.link:
            servers["balance"] = PtyServer(build_balance(balance_options, plate), speed)
    else:
        servers["balance"] = PtyServer(build_balance({**options, **balance_options}), speed)
    paths = {name: server.path for name, server in servers.items()}
    text = "\n".join(f"{name}: {path}" for name, path in paths.items())
    emit(args, paths, text + "\nserving until Ctrl-C or SIGTERM")
    sys.stdout.flush()
    _serve(list(servers.values()))
    return 0


def _serve(servers: list[PtyServer]) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    for server in servers:
        server.start()
    try:
        while not stop.wait(0.2):
            if any(server.dropped.is_set() for server in servers):
                print("the simulated connection was dropped (fault); stopping", file=sys.stderr)
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop serving
    finally:
        signal.signal(signal.SIGTERM, previous)
        for server in servers:
            server.stop()


def _cmd_stream(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"FILE {str(path)!r} cannot be read as ASCII G-code: {exc}") from exc
    transport = open_transport(args.port, baudrate=args.baud, log_path=args.serial_log)
    link = PrinterLink(transport, LinkOptions(ok_timeout_s=args.ok_timeout_s))
    try:
        info = link.connect()
        stats = link.stream(lines, on_progress=None if args.json else _progress)
    finally:
        link.close()
    if not args.json:
        sys.stderr.write("\n")
    payload: dict[str, Any] = {
        "port": args.port,
        "firmware": info.firmware_name,
        "lines": stats.lines,
        "lines_acked": stats.lines_acked,
        "resends": stats.resends,
        "errors": stats.errors,
        "probes": stats.probes,
        "elapsed_s": round(stats.elapsed_s, 3),
        "lines_per_s": round(stats.lines_per_s, 1),
    }
    emit(
        args,
        payload,
        f"streamed {stats.lines_acked} of {stats.lines} lines to {args.port} "
        f"({info.firmware_name or 'unknown firmware'}) in {stats.elapsed_s:.2f} s "
        f"({stats.lines_per_s:.0f} lines/s): {stats.resends} resends, {stats.errors} errors",
    )
    return 0


def _progress(acked: int, total: int) -> None:
    if acked % 500 == 0 or acked == total:
        sys.stderr.write(f"\r{acked}/{total} lines")
        sys.stderr.flush()
