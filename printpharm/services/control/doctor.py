"""``printpharm doctor``: check that this workstation can work, and say what to fix.

Each check returns a :class:`Check` with a status (``ok``, ``warn`` or ``fail``),
what was found and, unless it is ``ok``, one line saying what to do. Nothing is
changed: the database is opened read-only where the back-end allows it (a
missing SQLite file is reported, not created), the devices are only asked who
they are (``M110``/``M115`` for a printer, ``@``/``I2``/``I4`` for a balance).

The checks never import Qt (that is only allowed in ``gui/``): the Qt check
finds the PySide6 package and, on Linux, the system libraries and the display
the desktop application needs (see ``/work/shared/reference/qt-on-linux.md``).
"""

from __future__ import annotations

import ctypes.util
import importlib.metadata
import importlib.util
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from printpharm import __version__
from printpharm.catalog import load_catalog
from printpharm.catalog.loader import default_data_root
from printpharm.devices import Balance, PrinterLink, list_ports, open_transport
from printpharm.errors import PrintpharmError
from printpharm.services.access.signatures import verify_audit_trail
from printpharm.services.access.site_trust import signer_for
from printpharm.services.access.training import due_entries
from printpharm.services.control.device_registry import judge_registration, validity_days
from printpharm.services.control.equipment import due_report
from printpharm.storage.audit import AuditContext
from printpharm.storage.db import Database, resolve_database_url
from printpharm.storage.repositories import unit_of_work
from printpharm.storage.sitekey import SiteKeyError

__all__ = [
    "MIN_PYTHON",
    "Check",
    "DoctorOptions",
    "Status",
    "check_audit_chain",
    "check_balance",
    "check_catalog",
    "check_database",
    "check_due",
    "check_printer",
    "check_python",
    "check_qt",
    "check_serial_ports",
    "exit_code",
    "run_checks",
]

#: The oldest Python printpharm supports.
MIN_PYTHON = (3, 11)

#: Shared libraries Qt's platform plugins load on Linux (library name → Debian package).
_QT_LINUX_LIBS = {
    "EGL": "libegl1",
    "GL": "libgl1",
    "fontconfig": "libfontconfig1",
    "xkbcommon": "libxkbcommon0",
    "dbus-1": "libdbus-1-3",
    # the standalone bundle takes these from the desktop (installers/README.md)
    "glib-2.0": "libglib2.0-0",
    "X11": "libx11-6",
    "freetype": "libfreetype6",
}


class Status(StrEnum):
    """Outcome of one check; ``fail`` makes ``printpharm doctor`` exit 1."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One check: its name, status, what was found and (unless ok) how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorOptions:
    """What to check: database URL (``None``: the configured default) and device ports.

    A port is a serial port name or URL (``COM3``, ``/dev/ttyACM0``, ``sim://printer``);
    ``None`` skips the identity check of that device. Baud rates in bit/s, timeouts in s.
    """

    db_url: str | None = None
    printer_port: str | None = None
    balance_port: str | None = None
    printer_baud: int = 115200
    balance_baud: int = 9600
    device_timeout_s: float = 5.0


def check_python(version: Sequence[int] | None = None) -> Check:
    """Check the Python version (``version`` defaults to the running interpreter)."""
    found = tuple(version if version is not None else sys.version_info[:3])
    text = ".".join(str(part) for part in found)
    frozen = " (bundled with printpharm)" if getattr(sys, "frozen", False) else ""
    if found[:2] < MIN_PYTHON:
        need = ".".join(str(part) for part in MIN_PYTHON)
        return Check(
            "python",
            Status.FAIL,
            f"Python {text}{frozen} on {platform.system()}",
            f"install Python {need} or newer, or use the printpharm installer (no Python needed)",
        )
    return Check("python", Status.OK, f"Python {text}{frozen} on {platform.system()}")


def _pyside_version() -> str:
    try:
        return importlib.metadata.version("PySide6")
    except importlib.metadata.PackageNotFoundError:
        return "version unknown"  # a frozen bundle carries the package without its metadata


def check_qt(
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
    environ: dict[str, str] | None = None,
) -> Check:
    """Check that the desktop application can start: PySide6, Qt's libraries, a display.

    Parameters
    ----------
    find_library
        Finds a shared library by name (tests inject one).
    environ
        Environment to read ``DISPLAY``/``WAYLAND_DISPLAY``/``QT_QPA_PLATFORM`` from.
    """
    env = os.environ if environ is None else environ
    if importlib.util.find_spec("PySide6") is None:
        return Check(
            "qt",
            Status.FAIL,
            "PySide6 is not installed",
            "pip install PySide6 (the installer bundles it); the CLI works without it",
        )
    detail = f"PySide6 {_pyside_version()}"
    if sys.platform != "linux":
        return Check("qt", Status.OK, detail)
    missing = [pkg for lib, pkg in _QT_LINUX_LIBS.items() if find_library(lib) is None]
    if missing:
        return Check(
            "qt",
            Status.FAIL,
            f"{detail}; system libraries missing for Qt: {', '.join(missing)}",
            f"apt-get install {' '.join(missing)}",
        )
    platform_name = env.get("QT_QPA_PLATFORM", "")
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or platform_name):
        return Check(
            "qt",
            Status.WARN,
            f"{detail}; no display (DISPLAY/WAYLAND_DISPLAY unset)",
            "the window needs a desktop session; headless: QT_QPA_PLATFORM=offscreen, "
            "or use `printpharm run --simulate`",
        )
    return Check("qt", Status.OK, f"{detail}; display {platform_name or 'available'}")


def check_catalog(root: Path | None = None) -> Check:
    """Load the inks, recipes and printer definitions (``root``: the configured data folder)."""
    folder = root or default_data_root()
    try:
        catalog = load_catalog(folder)
    except PrintpharmError as exc:
        return Check(
            "catalog",
            Status.FAIL,
            f"{folder}: {exc}",
            "reinstall printpharm, or point PRINTPHARM_DATA_DIR at a folder with inks/, "
            "recipes/ and gcode/",
        )
    return Check(
        "catalog",
        Status.OK,
        f"{len(catalog.inks())} inks, {len(catalog.recipes())} recipes, "
        f"{len(catalog.printers())} printers in {folder}",
    )


def _open_database(url: str) -> Database:
    if url.startswith("sqlite"):
        return Database(url, read_only=True)  # never create a file while checking
    if url.startswith("postgresql"):
        return Database(url, connect_args={"connect_timeout": 5})  # seconds
    return Database(url)


def check_database(db_url: str | None = None) -> tuple[Check, Database | None]:
    """Check that the database answers and its schema is the one this printpharm needs.

    Returns
    -------
    tuple of (Check, Database or None)
        The open database when its schema is current (the caller disposes of it),
        so the audit chain can be checked next; otherwise ``None``.
    """
    url = resolve_database_url(db_url)
    try:
        db = _open_database(url)
    except PrintpharmError as exc:
        return Check("database", Status.FAIL, str(exc), _database_fix(url, missing=True)), None
    shown = repr(db).removeprefix("Database('").removesuffix("')")  # password hidden
    try:
        db.ping()
        current, head = db.current_revision(), db.head_revision()
    except PrintpharmError as exc:
        db.dispose()
        return Check("database", Status.FAIL, str(exc), _database_fix(url, missing=False)), None
    if current == head:
        return Check("database", Status.OK, f"{shown} at schema {head}"), db
    db.dispose()
    if current is None:
        return Check(
            "database",
            Status.FAIL,
            f"{shown} is empty (no schema)",
            "run `printpharm db upgrade --db URL`, then `printpharm init` for the first admin",
        ), None
    return Check(
        "database",
        Status.FAIL,
        f"{shown} is at schema {current}, this printpharm needs {head}",
        "run `printpharm db upgrade --db URL` (back up first); if the database is newer, "
        "install the printpharm version the other workstations use",
    ), None


def _database_fix(url: str, *, missing: bool) -> str:
    if url.startswith("sqlite") and missing:
        return "run `printpharm init` to create it, or pass --db with the right file or URL"
    if url.startswith("sqlite"):
        return "check the file's folder permissions and that no other program locks it"
    return (
        "check the URL (user, password, host, port, database), that the server runs and "
        "accepts this workstation (pg_hba.conf, firewall port 5432)"
    )


def check_audit_chain(db: Database | None) -> Check:
    """Walk the audit chain of ``db`` (skipped when the database check failed)."""
    if db is None:
        return Check(
            "audit chain", Status.WARN, "not checked (database not usable)", "fix the database"
        )
    try:
        report = verify_audit_trail(db)
    except PrintpharmError as exc:
        return Check("audit chain", Status.FAIL, str(exc), "fix the database first")
    if report.ok:
        setbacks = (
            f"; clock set back at events {', '.join(map(str, report.clock_setbacks))}"
            if report.clock_setbacks
            else ""
        )
        return Check("audit chain", Status.OK, f"{report.events} events, intact{setbacks}")
    broken = report.first_broken
    where = f"event {broken.seq}: {broken.detail}" if broken is not None else "unknown place"
    return Check(
        "audit chain",
        Status.FAIL,
        f"BROKEN at {where}",
        "stop releasing batches; tell QA; restore the last good backup "
        "(installers/README.md, 'Restore') and verify it with `printpharm audit verify`",
    )


def check_site_key(db: Database | None) -> Check:
    """Whether this workstation holds the site key in force (without it, no record is written)."""
    if db is None:
        return Check(
            "site key", Status.WARN, "not checked (database not usable)", "fix the database"
        )
    try:
        key = signer_for(db, AuditContext("doctor", __version__))
    except SiteKeyError as exc:
        return Check(
            "site key",
            Status.FAIL,
            f"{exc}; until it loads, this workstation reads records but writes none",
            "restore the key file from the site's key backup (docs/SECURITY.md, 'Site key "
            "custody'), or set PRINTPHARM_KEY_DIR to the folder that holds it",
        )
    except PrintpharmError as exc:
        return Check("site key", Status.WARN, f"not checked: {exc}", "fix the database first")
    if key is None:
        return Check(
            "site key",
            Status.WARN,
            "the database has no site key yet: its audit chain is not signed",
            "run `printpharm init` (a new database) or ask the administrator",
        )
    return Check("site key", Status.OK, f"key {key.key_id} loads and is the one in force")


def check_serial_ports() -> Check:
    """Report the USB serial ports this computer shows (printers and balances are USB)."""
    fix_find = (
        "plug the printer and the balance in (USB), then pass their ports with "
        "--printer-port/--balance-port"
    )
    try:
        ports = list_ports(usb_only=True)
    except PrintpharmError as exc:
        return Check("serial ports", Status.WARN, str(exc), fix_find)
    if not ports:
        return Check(
            "serial ports",
            Status.WARN,
            "no USB serial ports found (the built-in simulators work without any)",
            fix_find,
        )
    listed = "; ".join(f"{p.device} ({p.description})" for p in ports)
    return Check("serial ports", Status.OK, f"{len(ports)} USB serial port(s): {listed}")


def check_printer(port: str | None, baud: int = 115200, timeout_s: float = 5.0) -> Check:
    """Ask the printer on ``port`` who it is (``M115``); ``None``: not configured (warn)."""
    if port is None:
        return Check(
            "printer",
            Status.WARN,
            "no printer port given (the built-in simulator is used)",
            "pass --printer-port COM3 or /dev/ttyACM0 to check a real printer",
        )
    try:
        link = PrinterLink(open_transport(port, baudrate=baud))
        try:
            info = link.connect(timeout_s=timeout_s)
        finally:
            link.close()
    except PrintpharmError as exc:
        return Check(
            "printer",
            Status.FAIL,
            f"{port}: {exc}",
            "check power, USB cable, port name and baud rate (printer definition), and "
            "that no other program (slicer, terminal) holds the port",
        )
    version = info.fields.get("FIRMWARE_VERSION") or info.fields.get("MACHINE_TYPE", "")
    name = " ".join(part for part in (info.firmware_name, version) if part) or "unnamed firmware"
    return Check("printer", Status.OK, f"{port}: {name}")


def check_balance(
    port: str | None, baud: int = 9600, timeout_s: float = 5.0, db: Database | None = None
) -> list[Check]:
    """Ask the balance on ``port`` for model and serial number; ``None``: not configured.

    With a usable database, also whether that balance is registered with a
    calibration valid today (a recorded batch weighs on no other balance).
    """
    if port is None:
        return [
            Check(
                "balance",
                Status.WARN,
                "no balance port given (the built-in simulator is used)",
                "pass --balance-port COM4 or /dev/ttyUSB0 to check a real balance",
            )
        ]
    try:
        balance = Balance(open_transport(port, baudrate=baud), command_timeout_s=timeout_s)
        try:
            info = balance.identify()
        finally:
            balance.transport.close()
    except PrintpharmError as exc:
        return [
            Check(
                "balance",
                Status.FAIL,
                f"{port}: {exc}",
                "check power, cable, port name and that the balance speaks MT-SICS at "
                f"{baud} baud 8N1 (balance menu: interface settings)",
            )
        ]
    found = Check(
        "balance",
        Status.OK,
        f"{port}: {info.model}, capacity {info.capacity}, serial number {info.serial_number}",
    )
    if db is None or port.startswith("sim://"):
        return [found]
    with unit_of_work(db, AuditContext("doctor", __version__), write=False) as uow:
        row = uow.devices.get("balance", info.serial_number)
        judged = judge_registration(
            row, validity_days(uow), uow.now().date(), f"balance #{info.serial_number}"
        )
    fix = (
        ""
        if judged.passed
        else f"an administrator runs: printpharm devices register-balance {info.serial_number} "
        "--calibrated YYYY-MM-DD --user ADMIN (after calibrating it)"
    )
    return [found, Check("calibration", Status.OK if judged.passed else Status.FAIL,
                         judged.detail, fix)]  # fmt: skip


def check_due(db: Database | None) -> list[Check]:
    """What is due and when: equipment (calibration, maintenance, qualification) and training."""
    if db is None:
        return []
    with unit_of_work(db, AuditContext("doctor", __version__), write=False) as uow:
        equipment = due_report(uow)
        training = due_entries(uow)
    checks = []
    for view in equipment:
        d = view.device
        out = view.status.state == "out of service"
        detail = f"{d.kind.replace('_', ' ')} {d.asset_tag} ({d.model or '?'}): {view.status.text}"
        fix = f"printpharm equipment show {d.asset_tag} (qualify, maintain or reinstate it)"
        checks.append(Check("equipment", Status.FAIL if out else Status.WARN, detail, fix))
    for due in training:
        e = due.entry
        when = f"EXPIRED on {e.expires_on}" if due.expired else f"expires {e.expires_on}"
        fix = f"retrain and record it: printpharm training add {e.user_id} ... --trained-on DATE"
        checks.append(
            Check("training", Status.WARN, f"{e.user_id}: {e.subject_kind} {e.subject} {when}", fix)
        )
    return checks or [Check("due", Status.OK, "no equipment or training due")]


def run_checks(options: DoctorOptions | None = None) -> list[Check]:
    """Run every check in order: Python, Qt, catalog, database, audit chain, site key, ports,
    devices."""
    opts = options or DoctorOptions()
    checks = [check_python(), check_qt(), check_catalog()]
    database, db = check_database(opts.db_url)
    try:
        checks += [database, check_audit_chain(db), check_site_key(db)]
        checks += [
            check_serial_ports(),
            check_printer(opts.printer_port, opts.printer_baud, opts.device_timeout_s),
            *check_balance(opts.balance_port, opts.balance_baud, opts.device_timeout_s, db),
            *check_due(db),
        ]
    finally:
        if db is not None:
            db.dispose()
    return checks


def exit_code(checks: Sequence[Check]) -> int:
    """0 when no check failed, 1 otherwise (warnings do not fail)."""
    return 1 if any(check.status is Status.FAIL for check in checks) else 0
