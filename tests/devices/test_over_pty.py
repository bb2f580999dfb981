"""The drivers against the simulators over REAL pseudo-terminals (pyserial, no mocks)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from printpharm.devices.balance import Balance
from printpharm.devices.marlin import clean_gcode
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import Plate
from printpharm.devices.transport import open_transport
from printpharm.errors import (
    BalanceOverload,
    BalanceUnstable,
    DeviceDisconnected,
    PrinterHalted,
)
from tests.devices.conftest import tablet_gcode

# generous: a loaded 2-core machine can delay the simulator thread by much more than its ms
OPTIONS = LinkOptions(ok_timeout_s=3.0, resend_quiet_s=0.02)


def connect(server: Any) -> PrinterLink:
    link = PrinterLink(open_transport(server.path), OPTIONS)
    link.connect(timeout_s=20.0)
    return link


def test_one_percent_noise_each_way_executes_every_line_once_in_order(pty_printer: Any) -> None:
    sim, server = pty_printer(seed=7, corrupt_rx=0.01, corrupt_tx=0.01)
    link = connect(server)
    gcode = tablet_gcode(units=3)
    start = len(sim.executed)
    stats = link.stream(gcode)
    link.wait_for_moves()
    expected = clean_gcode(gcode)
    assert len(expected) > 3000
    with sim.lock:
        assert sim.executed[start : start + len(expected)] == expected
        # then the host's M400 (repeated only if its ok was lost on the wire)
        assert set(sim.executed[start + len(expected) :]) == {"M400"}
    assert stats.lines_acked == stats.lines == len(expected)
    assert stats.resends > 10 and stats.errors >= stats.resends  # the noise really happened
    link.close()


def test_dropped_connection_raises_with_the_acknowledged_count(pty_printer: Any) -> None:
    sim, server = pty_printer(seed=1, drop_after=500)
    link = connect(server)
    start = len(sim.executed)
    with pytest.raises(DeviceDisconnected, match=r"after 498 of \d+ lines acknowledged"):
        link.stream(tablet_gcode(units=1))
    assert link.last_stats is not None and link.last_stats.lines_acked == 498
    assert len(sim.executed) - start == 498
    link.close()


def test_thermal_runaway_raises_printer_halted(pty_printer: Any) -> None:
    sim, server = pty_printer(thermal_runaway=1)
    link = connect(server)
    with pytest.raises(PrinterHalted, match="Thermal Runaway"):
        link.heat_and_wait(hotend_c=Decimal("200"))
    assert sim.halted
    link.close()


def test_emergency_stop_goes_out_of_band_and_halts(pty_printer: Any) -> None:
    sim, server = pty_printer()
    link = connect(server)
    assert link.info is not None and link.info.has("EMERGENCY_PARSER")

    def stop_at_200(acked: int, total: int) -> None:
        if acked == 200:
            link.emergency_stop()

    with pytest.raises(PrinterHalted, match="M112"):
        link.stream(tablet_gcode(units=1), on_progress=stop_at_200)
    assert sim.halted and sim.executed[-1] == "M112"
    assert sim.hotend.target_c == 0 and sim.bed.target_c == 0
    link.close()


def test_abort_stops_then_leaves_heaters_and_motors_off(pty_printer: Any) -> None:
    sim, server = pty_printer()
    link = connect(server)
    gcode = tablet_gcode(units=1)

    def abort_at_100(acked: int, total: int) -> None:
        if acked == 100:
            link.abort()

    stats = link.stream(gcode, on_progress=abort_at_100)
    assert stats.aborted and 100 <= stats.lines_acked < stats.lines
    with sim.lock:
        assert sim.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]
        assert sim.executed.count(f"M110 N{link._wire.next_n - 5}") == 1  # resynchronised
    assert sim.hotend.target_c == 0 and sim.bed.target_c == 0
    link.send("M400")  # the link stays usable
    link.close()


def test_pause_sends_nothing_until_resumed(pty_printer: Any) -> None:
    sim, server = pty_printer()
    link = connect(server)
    seen: list[int] = []

    def pause_at_50(acked: int, total: int) -> None:
        if acked == 50:
            link.pause()
            threading.Thread(target=watch_then_resume, daemon=True).start()

    def watch_then_resume() -> None:
        paused = threading.Event()
        for _ in range(2):
            paused.wait(0.2)
            with sim.lock:
                seen.append(len(sim.executed))
        link.resume()

    stats = link.stream(tablet_gcode(units=1), on_progress=pause_at_50)
    assert stats.lines_acked == stats.lines and not stats.aborted
    assert len(seen) == 2 and seen[0] == seen[1]
    link.close()


def test_balance_that_never_settles_raises_balance_unstable(pty_balance: Any) -> None:
    _, server = pty_balance(never_settles=1)
    balance = Balance(open_transport(server.path, baudrate=9600))
    assert balance.identify().serial_number == "1126493049"
    with pytest.raises(BalanceUnstable, match="2 attempts"):
        balance.weigh(timeout_s=10.0, retries=1)
    assert not balance.weigh_immediate().stable  # SI answers S D
    balance.transport.close()


def test_overloaded_balance_raises_balance_overload(pty_balance: Any) -> None:
    _, server = pty_balance(overload=1)
    balance = Balance(open_transport(server.path, baudrate=9600))
    with pytest.raises(BalanceOverload, match="overload"):
        balance.weigh(timeout_s=10.0)
    balance.transport.close()


def unit_gcode(x_mm: float) -> list[str]:
    """One unit depositing exactly 20 mm³ (e_units=mm3): 40 moves of 0.5 mm³."""
    return ["M83", *(f"G1 X{x_mm + k * 0.1:.2f} Y10 E0.5 F1200" for k in range(40)), "M400"]


def test_linked_sims_weigh_the_deposit_and_a_clog_persists_from_its_unit_on(
    pty_printer: Any, pty_balance: Any
) -> None:
    plate = Plate()
    # an ideal process (process_rsd=0) depositing 1.25 mg per mm³ (the ink's calibration)
    _, printer_server = pty_printer(
        plate, clog_unit=2, clog_factor=0.6, mass_per_mm3=1.25, process_rsd=0
    )
    _, balance_server = pty_balance(plate)
    link = connect(printer_server)
    balance = Balance(open_transport(balance_server.path, baudrate=9600))
    masses_mg: list[Decimal] = []
    for unit in range(3):
        balance.tare(timeout_s=10.0)  # the sim numbers units by tares
        link.stream(unit_gcode(20.0 * unit))
        masses_mg.append(balance.weigh(timeout_s=10.0).mass_mg)
    expected_mg = Decimal("25")  # 20 mm³ × 1.25 mg/mm³
    assert abs(masses_mg[0] - expected_mg) < Decimal("0.2")
    # a clog does not clear by itself: units 2 and 3 both weigh 60 %
    assert abs(masses_mg[1] - expected_mg * Decimal("0.6")) < Decimal("0.2")
    assert abs(masses_mg[2] - expected_mg * Decimal("0.6")) < Decimal("0.2")
    link.close()
    balance.transport.close()


def test_abort_during_a_heater_wait_breaks_it_with_m108(pty_printer: Any) -> None:
    sim, server = pty_printer(speed=1.0)  # real time: heating to 200 °C takes about a minute
    link = connect(server)
    timer = threading.Timer(0.3, link.abort)
    timer.start()
    stats = link.stream(["M109 S200", "G1 X1"])  # both are in the firmware's buffer at once
    timer.join()
    assert stats.aborted
    with sim.lock:
        assert sim.executed[-4:] == ["M104 S0", "M140 S0", "M107", "M84"]
        assert "M108" in sim.executed
    assert sim.hotend.target_c == 0 and sim.hotend.actual_c < 100  # never got near 200 °C
    link.close()


def test_without_advanced_ok_noise_is_survived_too(pty_printer: Any) -> None:
    # ping-pong: every lost ok costs a probe, so keep the job small and the ok timeout short
    # (a spurious probe is harmless: the firmware's line check refuses a second copy)
    sim, server = pty_printer(seed=1, corrupt_rx=0.01, corrupt_tx=0.01, advanced_ok=0)
    link = PrinterLink(open_transport(server.path), LinkOptions(ok_timeout_s=0.3, max_probes=10))
    link.connect(timeout_s=20.0)
    gcode = tablet_gcode(units=1, layers=4)
    start = len(sim.executed)
    stats = link.stream(gcode)
    expected = clean_gcode(gcode)
    with sim.lock:
        assert sim.executed[start:] == expected
    assert stats.resends > 0
    link.close()
