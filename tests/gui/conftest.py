"""GUI fixtures: a workstation over the shipped catalog and a window with throw-away settings."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from printpharm.gui._pyside_fix import repair_singleton_refcounts  # noqa: E402
from printpharm.gui.main_window import MainWindow  # noqa: E402
from printpharm.services.station.equipment_desk import EquipmentDesk  # noqa: E402
from printpharm.services.station.records_app import HASHER_ENV, WORKSTATION_ENV  # noqa: E402
from printpharm.services.station.workstation import (  # noqa: E402
    StationSession,
    Workstation,
    WorkstationConfig,
    build_workstation,
)


@pytest.fixture(scope="session", autouse=True)
def _pyside_refcounts(qapp) -> None:  # type: ignore[no-untyped-def]
    """PySide6 6.12 on Python 3.11 steals references to None/True (see gui/_pyside_fix)."""
    repair_singleton_refcounts()


@pytest.fixture(autouse=True)
def _collect_on_gui_thread() -> Iterator[None]:
    """As the application does (gui/_gc): no automatic collection in worker threads."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(scope="session")
def workstation() -> Workstation:
    """The workstation over the shipped inks and recipes (loaded once)."""
    ws = build_workstation()
    assert ws.catalog_error is None, ws.catalog_error
    return ws


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Window settings in a temporary INI file, never the user's."""
    return QSettings(str(tmp_path / "printpharm.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, workstation: Workstation, settings: QSettings) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The main window, shown."""
    win = MainWindow(workstation, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win


# -- a database with three accounts, copied per test ------------------------------------------

ADMIN = ("admin.root", "Ada Admin", "correct-horse-42-battery")
SUPERVISOR = ("m.keller", "Maria Keller", "keller-pharmacist-pass-7")
SECOND_SUPERVISOR = ("p.braun", "Paul Braun", "braun-pharmacist-pass-8")
SECOND_ADMIN = ("b.admin", "Bea Admin", "bea-admin-passphrase-42")
TECHNICIAN = ("t.nguyen", "Tam Nguyen", "nguyen-technician-pass-3")
REVIEWER = ("r.weiss", "Rosa Weiss", "weiss-technician-pass-5")


class Clock:
    """A controllable aware UTC clock for audit events, idle timeouts and research expiry."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters so login tests stay fast (production uses the defaults)."""
    monkeypatch.setenv(HASHER_ENV, "1,8,1")
    monkeypatch.setenv(WORKSTATION_ENV, "gui-test")


#: What the GUI tests' people are trained on (besides their role): every shipped ink family
#: and printer type, so any recipe may be printed (a recorded run needs both, issue 14).
OPERATOR_TRAINING = (("ink", "sse-paste-base"), ("ink", "fdm-filament-base"),
                     ("printer", "marlin-sse"), ("printer", "marlin-fdm"))  # fmt: skip


def clear_line(page: Any) -> None:
    """Tick every item of the print page's line-clearance checklist."""
    for box in page.clearance.boxes.values():
        box.setChecked(True)


def train(session: StationSession, user_id: str, role: str) -> None:
    """The logged-in administrator records ``user_id``'s role and operator training."""
    desk = EquipmentDesk(session)
    for kind, subject in (("role", role), *OPERATOR_TRAINING):
        desk.add_training(user_id, kind, subject, "2026-11-01", "Tara Trainer")


def _add_account(session: StationSession, who: tuple[str, str, str], role: str) -> None:
    session.login(ADMIN[0], ADMIN[2])
    train(session, who[0], role)
    one_time = session.add_user(who[0], who[1], role)
    session.logout()
    session.login(who[0], one_time)
    session.change_password(one_time, who[2])
    session.logout()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file: two administrators, two supervisors and two technicians.

    The second administrator verifies the signers' identities: the administrator who
    created an account may not (issue 13).
    """
    path = tmp_path_factory.mktemp("template") / "printpharm.sqlite3"
    mp = pytest.MonkeyPatch()
    mp.setenv(HASHER_ENV, "1,8,1")
    try:
        session = StationSession(f"sqlite:///{path}", Clock())
        session.create_administrator(*ADMIN)
        _add_account(session, SECOND_ADMIN, "administrator")
        _add_account(session, SUPERVISOR, "supervisor")
        _add_account(session, SECOND_SUPERVISOR, "supervisor")
        _add_account(session, TECHNICIAN, "technician")
        _add_account(session, REVIEWER, "technician")
        for signer in (SUPERVISOR, SECOND_SUPERVISOR, REVIEWER):  # enrol them for e-signatures
            session.login(SECOND_ADMIN[0], SECOND_ADMIN[2])
            session.verify_identity(signer[0], "staff badge checked in person")
            session.logout()
            session.login(signer[0], signer[2])
            session.acknowledge_signature(signer[2])
            session.logout()
        session.close()
    finally:
        mp.undo()
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def station(
    workstation: Workstation, template_db: Path, tmp_path: Path, clock: Clock
) -> Iterator[Workstation]:
    """A workstation over a fresh copy of the three-account database, nobody logged in."""
    path = tmp_path / "printpharm.sqlite3"
    shutil.copy(template_db, path)
    url = f"sqlite:///{path}"
    ws = Workstation(
        WorkstationConfig(database_url=url),
        workstation.catalog,
        None,
        StationSession(url, clock),
    )
    assert ws.session.open(), ws.session.open_error
    yield ws
    ws.session.close()


@pytest.fixture
def logged_in_window(
    qtbot, station: Workstation, settings: QSettings
) -> Callable[[tuple[str, str, str]], MainWindow]:  # type: ignore[no-untyped-def]
    """Log ``who`` in and open the main window over ``station``."""

    def open_as(who: tuple[str, str, str]) -> MainWindow:
        station.session.login(who[0], who[2])
        win = MainWindow(station, settings)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        return win

    return open_as


def released_lot(station: Workstation, number: str, quantity: str = "20") -> None:
    """The technician records a lot of the CPM paste (prepared the day before the clock's
    day); the pharmacist releases it. The ink must be locked in the library."""
    from printpharm.services.station.lots import LotForm

    session = station.session
    session.login(TECHNICIAN[0], TECHNICIAN[2])
    station.lots.add(
        LotForm(number, "cyclophosphamide-sse-chewable", "2026-11-21", quantity, "mL",
                "2 × 10 mL syringes", assay="98.4", assay_basis="pct_label_claim",
                method="HPLC-UV, SOP QC-12")
    )  # fmt: skip
    session.logout()
    session.login(SUPERVISOR[0], SUPERVISOR[2])
    station.lots.release(number, SUPERVISOR[0], SUPERVISOR[2], "assay in specification")
    session.logout()


def use_lot(plan: object, number: str) -> None:
    """Type ``number`` into the plan page's lot field and use it (the lot must pass)."""
    field = plan.lot_field  # type: ignore[attr-defined]
    field.code.setText(number)
    field.use_button.click()
    assert field.verdict.text() == "lot accepted", field.detail.text()


# -- a bench: the simulators on pseudo-terminals standing in for registered hardware -----------

#: The balance simulator's serial number and model (I4, I2).
BENCH_BALANCE = ("1126493049", "XS205 DualRange")
#: The printer simulator's M115 UUID.
BENCH_PRINTER_UUID = "00000000-0000-4000-8000-000000000000"


def _equip_bench(ws: Workstation, balance_port: str) -> None:
    """The administrator registers the bench; a pharmacist signs IQ/OQ(/PQ); the technician
    runs the routine balance check over MT-SICS (issue 14's gates of a recorded run)."""
    from tests.services.conftest import HARDWARE_IDENTITY

    session = ws.session
    session.login(ADMIN[0], ADMIN[2])
    desk = EquipmentDesk(session, balance_port)
    desk.add("printer", "PR-01", BENCH_PRINTER_UUID, HARDWARE_IDENTITY["machine_type"],
             firmware=HARDWARE_IDENTITY["firmware_name"], printer_type="marlin-sse")  # fmt: skip
    desk.add("balance", "BAL-01", *BENCH_BALANCE)
    for tag in ("PR-01", "BAL-01"):
        desk.maintain(tag, "calibration", "2026-11-01", "CAL-CERT-7")
    desk.add_weight("W-100", "100", "100.00003", "0.05", "E2", "CAL-1", "2027-06-01")
    session.logout()
    session.login(SUPERVISOR[0], SUPERVISOR[2])
    for tag, stages in (("PR-01", ("IQ", "OQ", "PQ")), ("BAL-01", ("IQ", "OQ"))):
        for stage in stages:
            desk.qualify(tag, stage, "2026-11-01", f"QP-{stage}-01", SUPERVISOR[2])
    session.logout()
    session.login(TECHNICIAN[0], TECHNICIAN[2])
    assert desk.check_balance("W-100", lambda _text: None, wait_s=20.0).passed
    session.logout()


@pytest.fixture
def bench_station(
    workstation: Workstation, template_db: Path, tmp_path: Path, clock: Clock
) -> Iterator[Workstation]:
    """A workstation whose printer and balance are on pseudo-terminals, as hardware would be.

    The printer simulator answers M115 as a bench printer (a printer that says
    "simulator" never makes a batch for patient use); printer and balance are
    registered, calibrated and qualified, and the balance passed its check today.
    Nobody is logged in.
    """
    from printpharm.devices.sim import Plate, PtyServer, build_balance, build_printer
    from tests.services.conftest import HARDWARE_IDENTITY

    plate = Plate()
    ideal = {"process_rsd": "0", "mass_per_mm3": "1.19", "mass_offset_mg": "-0.5"}  # the paste's
    printer = build_printer(
        {"e_units": "plunger_mm", "diameter_mm": "14.5", **ideal, **HARDWARE_IDENTITY}, plate
    )
    balance = build_balance({"check_weight_g": "100.00003"}, plate)
    path = tmp_path / "printpharm.sqlite3"
    shutil.copy(template_db, path)
    url = f"sqlite:///{path}"
    with PtyServer(printer, speed=1000.0) as p_port, PtyServer(balance, speed=1000.0) as b_port:
        config = WorkstationConfig(
            database_url=url, printer_url=p_port.path, balance_url=b_port.path
        )
        ws = Workstation(config, workstation.catalog, None, StationSession(url, clock))
        assert ws.session.open(), ws.session.open_error
        _equip_bench(ws, b_port.path)
        yield ws
        ws.session.close()


def lock_drug(
    station: Workstation, drug: str = "cyclophosphamide", kinds: tuple[str, ...] = ("recipe", "ink")
) -> None:
    """Import the shipped files; one supervisor validates the drug's versions, another locks."""
    session = station.session
    session.login(SUPERVISOR[0], SUPERVISOR[2])
    assert station.catalog is not None
    station.import_library()
    recipe_ids = {r.id for r in station.recipes(drug)}
    inks = {station.catalog.recipe(r).ink for r in recipe_ids}
    wanted = [
        (row.kind, row.item_id, row.version)
        for row in station.library_rows()
        if row.kind in kinds
        and ((row.kind == "recipe" and row.item_id in recipe_ids) or row.item_id in inks)
    ]
    for step, who in (("validate", SUPERVISOR), ("lock", SECOND_SUPERVISOR)):
        if session.user is None or session.user.user_id != who[0]:
            session.logout()
            session.login(who[0], who[2])
        for row in station.library_rows():
            if (row.kind, row.item_id, row.version) in wanted:
                station.sign_library(step, row, who[0], who[2], "PQ report 7")
    session.logout()
