"""The simulators as state machines: Marlin's checks, extrusion meaning, MT-SICS, URLs."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from printpharm.devices.marlin import frame_line
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import (
    BalanceSim,
    Plate,
    PrinterSim,
    build_balance,
    build_printer,
    default_balance_url,
    default_printer_url,
    parse_sim_url,
)
from printpharm.devices.transport import open_transport
from printpharm.errors import InputError


def exchange(sim: PrinterSim | BalanceSim, data: bytes, now_s: float = 0.0) -> list[str]:
    sim.take_output()
    sim.feed(data)
    sim.step(now_s)
    return sim.take_output().decode().splitlines()


def line(n: int, command: str) -> bytes:
    return (frame_line(n, command) + "\n").encode()


def test_printer_boots_with_start_banner() -> None:
    assert PrinterSim().take_output().decode().splitlines()[0] == "start"


def test_checksum_mismatch_flushes_and_requests_resend_then_ok() -> None:
    sim = PrinterSim()
    exchange(sim, line(0, "M110 N0"))
    bad = line(1, "G28").replace(b"*", b"*1")
    reply = exchange(sim, bad + line(2, "G1 X1"))
    assert reply == ["Error:checksum mismatch, Last Line: 0", "Resend: 1", "ok"]
    assert sim.executed == ["M110 N0"]  # the flush dropped N2 as well


def test_line_number_and_missing_checksum_errors() -> None:
    sim = build_printer({"ok_after_resend": "0", "advanced_ok": "0"})
    exchange(sim, line(0, "M110 N0"))
    assert exchange(sim, line(2, "G28")) == [
        "Error:Line Number is not Last Line Number+1, Last Line: 0",
        "Resend: 1",
    ]
    assert exchange(sim, b"N1 G28\n") == [
        "Error:No Checksum with line number, Last Line: 0",
        "Resend: 1",
    ]
    assert exchange(sim, line(1, "M114"))[-1] == "ok"


def test_m110_sets_the_last_line_and_advanced_ok_reports_buffers() -> None:
    sim = build_printer({"bufsize": "4", "planner_blocks": "16"})
    assert exchange(sim, line(41, "M110 N41")) == ["ok N41 P16 B3"]
    assert exchange(sim, line(42, "M114"))[-1] == "ok N42 P16 B3"
    assert exchange(sim, b"M105\n")[-1].startswith("ok T:")  # M105's own ok, no N/P/B


def test_unnumbered_lines_are_accepted_unchecked_like_marlin() -> None:
    sim = PrinterSim()
    assert exchange(sim, b"G92 E0\n") == ["ok P16 B7"]


def test_emergency_parser_acts_on_m112_even_with_a_full_buffer() -> None:
    sim = build_printer({"bufsize": "2"})
    exchange(sim, line(0, "M110 N0"))
    sim.feed(line(1, "G4 S60") + line(2, "G4 S60") + line(3, "G4 S60"))
    sim.step(0.0)
    reply = exchange(sim, b"M112\n", now_s=0.1)
    assert reply == ["echo:M112 Shutdown", "Error:Printer halted. kill() called!"]
    assert sim.halted and exchange(sim, line(4, "M105"), now_s=100.0) == []


@pytest.mark.parametrize(
    ("options", "mm3_per_e"),
    [
        ({"e_units": "mm3"}, 1.0),
        ({"e_units": "filament_mm", "diameter_mm": "1.75"}, math.pi * 1.75**2 / 4),
        ({"e_units": "plunger_mm", "diameter_mm": "14.5"}, math.pi * 14.5**2 / 4),
    ],
)
def test_deposited_volume_follows_the_meaning_of_e(
    options: dict[str, str], mm3_per_e: float
) -> None:
    plate = Plate()
    sim = build_printer(options, plate)
    gcode = [
        "G90",
        "M82",
        "G92 E0",
        "G1 X10 E2.0",  # absolute E: +2
        "G1 X20 E1.5",  # retract 0.5
        "G1 X30 E3.5",  # +2
        "M83",
        "G1 X40 E1.0",  # relative: +1
        "G91",
        "G1 X5 E0.5",  # G91 makes E relative too: +0.5
        "G90",
        "G92 E0",
        "G1 X0 E1",  # absolute again from a reset E: +1
        "M221 S50",
        "M83",
        "G1 X1 E2",  # flow 50 %: +1 effective
    ]
    exchange(sim, "".join(f"{c}\n" for c in gcode).encode(), now_s=100.0)
    assert plate.deposited_mm3 == pytest.approx(7.0 * mm3_per_e)


def test_unknown_e_units_are_refused() -> None:
    with pytest.raises(InputError, match="e_units"):
        build_printer({"e_units": "ml"})


def test_a_clog_starts_at_its_unit_by_tares_or_m118_markers_and_persists() -> None:
    plate = Plate()
    sim = build_printer({"clog_unit": "2", "clog_factor": "0.25"}, plate)
    exchange(sim, b"M83\nG1 X1 E4\n", now_s=1.0)
    plate.next_unit()
    plate.next_unit()
    exchange(sim, b"G1 X2 E4\n", now_s=2.0)
    exchange(sim, b"M118 PRINTPHARM UNIT 3\nG1 X3 E4\n", now_s=3.0)
    assert plate.deposited_mm3 == pytest.approx(4 + 1 + 1)  # units 2 and 3 clogged


def test_suck_back_never_takes_material_off_the_plate() -> None:
    plate = Plate()
    sim = build_printer({}, plate)
    # 4 deposited, 1.5 sucked back into the nozzle, 1.5 of prime refills it, then 2 more.
    exchange(sim, b"M83\nG1 X1 E4\nG1 E-1.5\nG1 E1.5\nG1 X2 E2\n", now_s=1.0)
    assert plate.deposited_mm3 == pytest.approx(6)


def test_clogged_unit_with_retractions_weighs_low_but_never_negative() -> None:
    plate = Plate()
    sim = build_printer({"clog_unit": "1", "clog_factor": "0.1"}, plate)
    plate.next_unit()
    exchange(sim, b"M83\n" + b"G1 X1 E2\nG1 E-1\nG1 E1\n" * 5, now_s=1.0)
    assert plate.deposited_mm3 == pytest.approx(5 * 2 * 0.1)


def test_busy_messages_during_homing_and_temperature_lines_during_m109() -> None:
    sim = PrinterSim()
    exchange(sim, b"G28\n")
    assert "echo:busy: processing" in exchange(sim, b"", now_s=2.5)
    assert exchange(sim, b"", now_s=3.5)[-1].startswith("ok")
    exchange(sim, b"M109 S60\n", now_s=4.0)
    waiting = exchange(sim, b"", now_s=6.0)
    assert any(x.startswith("T:") and x.endswith("W:?") for x in waiting)
    assert sim.hotend.target_c == 60


def test_thermal_model_overshoots_and_settles() -> None:
    sim = PrinterSim()
    sim.hotend.set_target(200.0, 0.0)
    peak = 0.0
    for k in range(1, 200):
        sim.hotend.advance(k * 0.5)
        peak = max(peak, sim.hotend.actual_c)
    assert 200.5 < peak <= 202.0
    assert sim.hotend.at_target() and abs(sim.hotend.actual_c - 200.0) < 0.1


def test_balance_needs_cr_lf() -> None:
    sim = BalanceSim()
    assert exchange(sim, b"S\n", now_s=5.0) == ["ES"]
    assert exchange(sim, b"S\r\n", now_s=5.0)[0].startswith("S S ")


def test_balance_waits_for_stability_after_a_deposit() -> None:
    plate = Plate()
    options = {"settle_s": "2", "balance_sd_mg": "0", "drift_mg_per_min": "0"}
    sim = build_balance(options, plate)
    exchange(sim, b"Z\r\n", now_s=5.0)
    plate.deposit(250.0, 250.0)  # 250 mm³ weighing 250 mg
    exchange(sim, b"", now_s=5.0)  # the balance sees the change
    # it approaches the load exponentially (tau = settle_s / 10): 1 - e^-2.5 of it at 0.5 s
    assert exchange(sim, b"SI\r\n", now_s=5.5) == ["S D     0.22948 g"]
    assert exchange(sim, b"S\r\n", now_s=6.0) == []  # still settling: S waits
    assert exchange(sim, b"", now_s=7.6) == ["S S     0.25000 g"]


def test_balance_tare_counts_units() -> None:
    plate = Plate()
    sim = BalanceSim(plate=plate)
    exchange(sim, b"T\r\n", now_s=5.0)
    exchange(sim, b"T\r\n", now_s=6.0)
    assert plate.unit == 2
    assert exchange(sim, b"XYZ\r\n", now_s=7.0) == ["ES"]


def test_sim_urls_parse_and_refuse_unknown_options() -> None:
    assert parse_sim_url("sim://printer?seed=3&fast=1") == ("printer", {"seed": "3", "fast": "1"})
    assert parse_sim_url(default_printer_url())[0] == "printer"
    assert parse_sim_url(default_balance_url(fast=True))[1]["fast"] == "1"
    with pytest.raises(InputError, match="'colour'"):
        open_transport("sim://printer?colour=red")
    with pytest.raises(InputError, match="sim://printer"):
        open_transport("sim://toaster")
    with pytest.raises(InputError, match="seed"):
        open_transport("sim://balance?seed=x")


def test_linked_default_sims_in_process() -> None:
    printer = PrinterLink(open_transport("sim://printer?plate=t1&fast=1&process_rsd=0"))
    printer.connect()
    from printpharm.devices.balance import Balance

    balance = Balance(open_transport("sim://balance?plate=t1&fast=1"))
    balance.tare()
    printer.stream(["M83", "G1 X10 E100 F600"])
    printer.wait_for_moves()
    assert balance.weigh().mass_mg == pytest.approx(Decimal("100"), abs=Decimal("0.1"))


def test_busy_lines_keep_a_long_command_alive_past_the_ok_timeout() -> None:
    # real-time clock ×4: a 6 s dwell takes 1.5 s of wall time, busy every 0.1 s
    transport = open_transport("sim://printer?speed=4&busy_interval_s=0.4")
    link = PrinterLink(transport, LinkOptions(ok_timeout_s=0.7, max_probes=0))
    link.connect()
    assert link.stream(["G4 S6"]).probes == 0


def test_m302_answers_like_marlin_instead_of_unknown_command() -> None:
    sim = build_printer({"advanced_ok": "0"})
    exchange(sim, line(0, "M110 N0"))
    assert exchange(sim, line(1, "M302 S0")) == [
        "echo:Cold extrudes are enabled (min temp 0C)",
        "ok",
    ]
    assert exchange(sim, line(2, "M302 S170")) == [
        "echo:Cold extrudes are disabled (min temp 170C)",
        "ok",
    ]
    assert exchange(sim, line(3, "M999")) == ['echo:Unknown command: "M999"', "ok"]
