"""``printpharm doctor`` checks: each finds what is wrong and says how to fix it."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from printpharm.devices import list_ports
from printpharm.services.control.doctor import (
    Check,
    DoctorOptions,
    Status,
    check_audit_chain,
    check_balance,
    check_catalog,
    check_database,
    check_printer,
    check_python,
    check_qt,
    check_serial_ports,
    exit_code,
    run_checks,
)
from printpharm.storage.audit import AuditEntry
from printpharm.storage.db import Database
from printpharm.storage.repositories import unit_of_work
from tests.storage._dbs import make_context, sqlite_template

__all__ = ["sqlite_template"]

ALL_LIBS = {"EGL", "GL", "fontconfig", "xkbcommon", "dbus-1", "glib-2.0", "X11", "freetype"}


@pytest.fixture
def migrated(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "ws.sqlite3"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with unit_of_work(db, make_context()) as uow:
        uow.audit.append_many(AuditEntry("unit", "create", f"U{i}") for i in range(3))
    db.dispose()
    return path


def test_python_older_than_3_11_fails_with_a_fix() -> None:
    old = check_python((3, 10, 12))
    assert old.status is Status.FAIL and "3.10.12" in old.detail and "3.11" in old.fix
    assert check_python((3, 11, 0)).status is Status.OK
    assert check_python().status is Status.OK  # this interpreter


@pytest.mark.skipif(sys.platform != "linux", reason="Qt system libraries are checked on Linux")
def test_qt_names_the_missing_debian_packages() -> None:
    def without_egl(name: str) -> str | None:
        return None if name == "EGL" else f"lib{name}.so"

    check = check_qt(without_egl, {"DISPLAY": ":0"})
    assert check.status is Status.FAIL
    assert "libegl1" in check.detail and check.fix == "apt-get install libegl1"


@pytest.mark.skipif(sys.platform != "linux", reason="Qt system libraries are checked on Linux")
def test_qt_names_what_the_standalone_bundle_takes_from_the_desktop() -> None:
    """The bundle leaves GLib, X11 and FreeType to the system (installers/README.md)."""
    taken = {"glib-2.0", "X11", "freetype"}

    def without_them(name: str) -> str | None:
        return None if name in taken else f"lib{name}.so"

    check = check_qt(without_them, {"DISPLAY": ":0"})
    assert check.status is Status.FAIL
    assert check.fix == "apt-get install libglib2.0-0 libx11-6 libfreetype6"


@pytest.mark.skipif(sys.platform != "linux", reason="the display is checked on Linux")
def test_qt_without_a_display_warns_and_offscreen_is_fine() -> None:
    def found(name: str) -> str | None:
        return f"lib{name}.so" if name in ALL_LIBS else None

    headless = check_qt(found, {})
    assert headless.status is Status.WARN and "offscreen" in headless.fix
    assert check_qt(found, {"QT_QPA_PLATFORM": "offscreen"}).status is Status.OK
    assert check_qt(found, {"WAYLAND_DISPLAY": "wayland-0"}).status is Status.OK


def test_a_missing_sqlite_file_fails_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.sqlite3"
    check, db = check_database(str(path))
    assert db is None and check.status is Status.FAIL
    assert "does not exist" in check.detail and "printpharm init" in check.fix
    assert not path.exists()


def test_an_empty_database_asks_for_db_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    check, db = check_database(str(path))
    assert db is None and check.status is Status.FAIL
    assert "empty" in check.detail and "printpharm db upgrade" in check.fix


def test_an_older_schema_names_both_revisions(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = Database(f"sqlite:///{path}")
    old.upgrade("0002")
    head = old.head_revision()
    old.dispose()
    check, db = check_database(str(path))
    assert db is None and check.status is Status.FAIL
    assert "0002" in check.detail and head in check.detail and "db upgrade" in check.fix


def test_an_unreachable_server_fails_with_a_network_fix() -> None:
    url = "postgresql+psycopg://printpharm@127.0.0.1:1/printpharm"  # nothing listens on port 1
    check, db = check_database(url)
    assert db is None and check.status is Status.FAIL
    assert "pg_hba.conf" in check.fix


def test_current_database_and_intact_chain(migrated: Path) -> None:
    check, db = check_database(str(migrated))
    assert check.status is Status.OK and db is not None
    try:
        chain = check_audit_chain(db)
    finally:
        db.dispose()
    assert chain == Check("audit chain", Status.OK, "3 events, intact")


def test_an_edited_audit_event_fails_the_chain_check(migrated: Path) -> None:
    raw = sqlite3.connect(migrated)
    triggers = raw.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall()
    for (name,) in triggers:
        raw.execute(f'DROP TRIGGER "{name}"')
    raw.execute("UPDATE audit_events SET record_id = 'U9' WHERE seq = 2")
    raw.commit()
    raw.close()
    _, db = check_database(str(migrated))
    assert db is not None
    try:
        chain = check_audit_chain(db)
    finally:
        db.dispose()
    assert chain.status is Status.FAIL and "event 2" in chain.detail
    assert "restore" in chain.fix


def test_no_database_skips_the_chain_with_a_warning() -> None:
    assert check_audit_chain(None).status is Status.WARN


def test_serial_ports_check_reports_what_the_os_lists() -> None:
    check = check_serial_ports()
    usb = list_ports(usb_only=True)
    assert check.name == "serial ports"
    if usb:
        assert check.status is Status.OK
        for p in usb:
            assert p.device in check.detail
    else:
        assert check.status is Status.WARN
        assert "no USB serial ports" in check.detail and "--printer-port" in check.fix


def test_simulated_devices_identify_themselves() -> None:
    printer = check_printer("sim://printer")
    (balance,) = check_balance("sim://balance?seed=4")
    assert printer.status is Status.OK and "Marlin" in printer.detail
    assert balance.status is Status.OK and "serial number" in balance.detail


def test_devices_not_configured_warn_and_a_dead_port_fails(tmp_path: Path) -> None:
    assert check_printer(None).status is Status.WARN
    assert check_balance(None)[0].status is Status.WARN
    dead = str(tmp_path / "ttyACM9")
    printer = check_printer(dead, timeout_s=0.5)
    (balance,) = check_balance(dead, timeout_s=0.5)
    assert printer.status is Status.FAIL and dead in printer.detail and "cable" in printer.fix
    assert balance.status is Status.FAIL and "MT-SICS" in balance.fix


def test_run_checks_exit_code_follows_failures(migrated: Path, tmp_path: Path) -> None:
    good = run_checks(DoctorOptions(db_url=str(migrated), printer_port="sim://printer"))
    names = [c.name for c in good]
    assert names == [
        "python",
        "qt",
        "catalog",
        "database",
        "audit chain",
        "site key",
        "serial ports",
        "printer",
        "balance",
        "due",
    ]
    assert all(c.fix for c in good if c.status is not Status.OK)
    assert exit_code([c for c in good if c.name != "qt"]) == 0
    bad = run_checks(DoctorOptions(db_url=str(tmp_path / "missing.sqlite3")))
    assert exit_code(bad) == 1


def test_catalog_is_counted_and_a_broken_data_folder_fails(tmp_path: Path) -> None:
    shipped = check_catalog()
    assert shipped.status is Status.OK and " recipes, " in shipped.detail
    (tmp_path / "inks").mkdir()
    (tmp_path / "inks" / "bad.toml").write_text("schema_version = [", encoding="utf-8")
    broken = check_catalog(tmp_path)
    assert broken.status is Status.FAIL and "bad.toml" in broken.detail
    assert "PRINTPHARM_DATA_DIR" in broken.fix


def test_a_real_balance_is_checked_against_the_registry(migrated: Path) -> None:
    """The balance simulator on a pseudo-terminal counts as a real, unregistered balance."""
    from datetime import date

    from printpharm.devices.sim import PtyServer, build_balance
    from printpharm.storage.db import Database
    from printpharm.storage.repositories import unit_of_work
    from tests.storage._dbs import make_context

    db = Database(f"sqlite:///{migrated}")
    try:
        with PtyServer(build_balance({}), speed=1000.0) as served:
            found, calibration = check_balance(served.path, db=db)
            assert found.status is Status.OK and "serial number 1126493049" in found.detail
            assert calibration.status is Status.FAIL and "not registered" in calibration.detail
            assert "devices register-balance 1126493049" in calibration.fix
            with unit_of_work(db, make_context()) as uow:
                uow.devices.register("balance", "1126493049", uow.now(),
                                     calibration_date=date.today())  # fmt: skip
            _, calibration = check_balance(served.path, db=db)
        assert calibration.status is Status.OK and "valid until" in calibration.detail
    finally:
        db.dispose()


def test_doctor_lists_the_equipment_and_training_due(tmp_path: Path) -> None:
    """Issue 14: `printpharm doctor` names what is out of service or due, and who is due."""
    from datetime import UTC, datetime, timedelta

    from printpharm.services.access.training import record_training
    from printpharm.services.control.doctor import check_due
    from printpharm.services.control.equipment import add_equipment
    from printpharm.storage.db import Database
    from tests.services._records_fixtures import build_env
    from tests.storage._dbs import FakeClock

    db = Database(f"sqlite:///{tmp_path / 'due.sqlite3'}")
    db.upgrade()
    env = build_env(db, FakeClock(datetime.now(UTC)))  # doctor reads the real clock
    assert env.admin is not None
    today = env.clock().date()
    assert [c.name for c in check_due(db)] == ["due"]
    add_equipment(env.auth, env.admin, "printer", "PR-01", "uuid-1", "SSE-1")
    record_training(env.auth, env.admin, "tess", "sop", "SOP-7", today - timedelta(days=100),
                    "Tara", expires_on=today + timedelta(days=10))  # fmt: skip
    checks = {c.name: c for c in check_due(db)}
    assert checks["equipment"].status is Status.FAIL
    assert "printer PR-01 (SSE-1): out of service: not qualified" in checks["equipment"].detail
    assert checks["equipment"].fix.startswith("printpharm equipment show PR-01")
    assert checks["training"].status is Status.WARN
    assert checks["training"].detail == f"tess: sop SOP-7 expires {today + timedelta(days=10)}"
    db.dispose()


def test_the_site_key_check_says_whether_this_workstation_can_write(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from printpharm.services.control.doctor import check_site_key
    from printpharm.storage.sitekey import create_site_key

    monkeypatch.setenv("PRINTPHARM_KEY_DIR", str(tmp_path / "keys"))
    path = tmp_path / "ws.sqlite3"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        unkeyed = check_site_key(db)
        assert unkeyed.status is Status.WARN and "no site key yet" in unkeyed.detail
        key = create_site_key(tmp_path / "keys")
        with unit_of_work(db, make_context()) as uow:
            uow.register_key(key, None, "admin")
        held = check_site_key(db)
        assert held == Check(
            "site key", Status.OK, f"key {key.key_id} loads and is the one in force"
        )
        (file,) = (tmp_path / "keys").glob("*.key")
        with file.open("a") as f:
            f.write("left over from an editor\n")
        damaged = check_site_key(db)
        assert damaged.status is Status.FAIL and str(file) in damaged.detail
        assert "after its END line" in damaged.detail and "writes none" in damaged.detail
        assert "key backup" in damaged.fix
        file.unlink()
        assert check_site_key(db).status is Status.FAIL  # missing: same, with its reason
    finally:
        db.dispose()
    assert check_site_key(None).status is Status.WARN
