"""The extrusion-pressure channel: the simulated load cell (flow, viscosity, clogs, bubbles),
its reports (M1105, M1155, Cap:PRESSURE_REPORT) and the host reading them."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest

from printpharm.devices.marlin import PressureReading, parse_firmware_info, parse_pressure
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import PrinterSim, build_printer
from printpharm.errors import InputError
from tests.devices.conftest import ScriptedTransport, framed

FAST = LinkOptions(ok_timeout_s=0.05, resend_ok_timeout_s=0.02, resend_quiet_s=0.05, poll_s=0.005)
#: A bead of the base paste: 0.9 × 0.6 mm at 7.4 mm/s = 4 mm³/s.
FEED_4MM3_S = 7.407 * 60


def _out(sim: PrinterSim) -> list[str]:
    return [line for line in sim.take_output().decode().splitlines() if line]


def _pressures(lines: list[str]) -> list[PressureReading]:
    return [r for line in lines if (r := parse_pressure(line)) is not None]


def print_beads(sim: PrinterSim, beads: int, feed: float = FEED_4MM3_S, unit_every: int = 0,
                report_s: float = 0.5) -> list[PressureReading]:  # fmt: skip
    """Extrude ``beads`` beads of 0.9 × 0.6 × 8 mm (E in mm³); the pressure reports of them.

    ``unit_every`` > 0 starts a new unit (a tare) every that many beads.
    """
    now = 0.0
    sim.feed(f"M83\nM1155 S{report_s}\n".encode())
    sim.step(now)
    reports: list[PressureReading] = []
    for b in range(beads):
        if unit_every and b % unit_every == 0:
            sim.plate.next_unit()
        y = 8 if b % 2 == 0 else 0
        sim.feed(f"G1 X{b % 3} Y{y} E4.32 F{feed:.1f}\n".encode())
        end = now + 8 / (feed / 60)
        while now < end:  # let the firmware run and report on the way
            now = min(end, now + 0.05)
            sim.step(now)
        reports += _pressures(_out(sim))
    return reports


def test_the_head_announces_its_load_cell_and_answers_a_poll() -> None:
    sim = build_printer({"process_rsd": "0"})
    sim.feed(b"M115\nM1105\n")
    sim.step(0.0)
    lines = _out(sim)
    info = parse_firmware_info(lines)
    assert info.has("PRESSURE_REPORT")
    (reading,) = _pressures(lines)
    assert reading == PressureReading(reading.kpa, Decimal("0.00")) and reading.kpa < 2
    assert lines[-1].startswith("ok")
    without = build_printer({"pressure_sensor": "0"})
    without.feed(b"M115\nM1105\n")
    without.step(0.0)
    lines = _out(without)
    assert not parse_firmware_info(lines).has("PRESSURE_REPORT")
    assert 'echo:Unknown command: "M1105"' in lines and not _pressures(lines)


def test_steady_pressure_follows_flow_and_viscosity_as_a_power_law_paste() -> None:
    def steady(options: dict[str, str], feed: float = FEED_4MM3_S) -> float:
        sim = build_printer({"process_rsd": "0", "pressure_noise_kpa": "0", **options})
        reports = print_beads(sim, round(12 * feed / FEED_4MM3_S), feed)  # >= 12 s of flow
        return statistics.median(float(r.kpa) for r in reports if r.extruding)

    base = steady({})
    # Hagen–Poiseuille at 4 mm³/s: 8 · 30 Pa·s · 12.7 mm · 4 mm³/s / (π · 0.42⁴ mm⁴) ≈ 124.7 kPa
    assert base == pytest.approx(124.7, rel=0.03)
    assert steady({"viscosity_pa_s": "60"}) == pytest.approx(2 * base, rel=0.03)
    assert steady({}, feed=FEED_4MM3_S * 4) == pytest.approx(2 * base, rel=0.03)  # P ~ Q^0.5
    assert steady({"flow_index": "1"}, feed=FEED_4MM3_S * 2) == pytest.approx(2 * base, rel=0.03)
    assert steady({"nozzle_diameter_mm": "0.6"}) == pytest.approx(base * (0.84 / 0.6) ** 4, 0.03)


def test_a_clog_raises_the_pressure_within_seconds_a_full_one_to_the_stall() -> None:
    options = {"process_rsd": "0", "pressure_noise_kpa": "0", "clog_unit": "2"}
    reports = print_beads(build_printer(options), 24, unit_every=12)
    clean, clogged = reports[: len(reports) // 2], reports[len(reports) // 2 :]
    normal = max(float(r.kpa) for r in clean)
    assert normal < 130
    # half the flow gets through: twice the pressure, reached within ~2 s (4 reports)
    assert float(clogged[4].kpa) > 1.6 * normal
    assert max(float(r.kpa) for r in clogged) == pytest.approx(2 * 124.7, rel=0.03)
    full = print_beads(build_printer({**options, "clog_factor": "0"}), 24, unit_every=12)
    assert max(float(r.kpa) for r in full) == pytest.approx(800, rel=0.01)  # stall_kpa


def test_an_air_bubble_makes_the_pressure_dip_by_its_size() -> None:
    def lowest(loss: str) -> float:
        options = {"process_rsd": "0", "pressure_noise_kpa": "0", "bubble_rate": "1",
                   "bubble_loss": loss, "seed": "3"}  # fmt: skip
        reports = print_beads(build_printer(options), 24, unit_every=24)
        return min(float(r.kpa) for r in reports[4:] if r.extruding)  # after the first rise

    assert lowest("0.02") > 0.85 * 124.7  # a typical small bubble: a shallow dip
    assert lowest("0.25") < 0.3 * 124.7  # an air pocket: the pressure collapses


def test_the_same_seed_reports_the_same_pressures() -> None:
    first = print_beads(build_printer({"seed": "5"}), 10)
    assert first == print_beads(build_printer({"seed": "5"}), 10)
    assert first != print_beads(build_printer({"seed": "6"}), 10)  # the noise is seeded


def test_bad_pressure_options_are_refused_with_their_range() -> None:
    with pytest.raises(InputError, match=r"viscosity_pa_s=0.0: must be in 0.01..10000"):
        build_printer({"viscosity_pa_s": "0"})
    with pytest.raises(InputError, match="flow_index"):
        build_printer({"flow_index": "2"})


def test_the_host_keeps_pressure_reports_apart_from_command_output() -> None:
    transport = ScriptedTransport(
        [
            (framed(0, "M110 N0"), b"ok"),
            (framed(1, "M115"), [b"FIRMWARE_NAME:Marlin", b"Cap:PRESSURE_REPORT:1", b"ok"]),
            (framed(2, "M1155 S0.5"), [b"echo:PRESSURE kPa:0.4 Q:0.00", b"ok"]),
            (framed(3, "G1 X8 E4"), [b"echo:PRESSURE kPa:98.2 Q:4.00", b"ok"]),
            (framed(4, "M1105"), [b"echo:PRESSURE kPa:121.5 Q:4.00", b"ok"]),
            (framed(5, "M114"), [b"echo:PRESSURE kPa:120.9 Q:4.00", b"X:8.00 Y:0.00", b"ok"]),
        ]
    )
    link = PrinterLink(transport, FAST)
    link.connect(timeout_s=1.0)
    assert link.reports_pressure
    link.start_pressure_report(Decimal("0.5"))
    link.stream(["G1 X8 E4"])
    assert link.pressure() == PressureReading(Decimal("121.5"), Decimal("4.00"))
    assert link.send("M114") == ["X:8.00 Y:0.00"]  # a report is no part of an answer
    taken = link.take_pressures()
    assert [r.kpa for r in taken] == [Decimal(x) for x in ("0.4", "98.2", "121.5", "120.9")]
    assert link.take_pressures() == []  # each report is taken once
    with pytest.raises(InputError, match="outside 0-60 s"):
        link.start_pressure_report(Decimal("90"))


@pytest.mark.parametrize(
    ("line", "reading"),
    [
        ("echo:PRESSURE kPa:152.3 Q:4.32", PressureReading(Decimal("152.3"), Decimal("4.32"))),
        ("PRESSURE kPa:0", PressureReading(Decimal("0"), None)),
        ("echo:busy: processing", None),
        ("T:25.0 /25.0 B:24.9 /25.0", None),
        ("echo:PRESSURE kPa:high", None),
    ],
)
def test_parse_pressure(line: str, reading: PressureReading | None) -> None:
    assert parse_pressure(line) == reading
