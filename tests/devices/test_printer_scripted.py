"""PrinterLink against scripted exchanges: connect, acknowledgements, resends, faults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.errors import DeviceTimeout, InputError, PrinterHalted
from tests.devices.conftest import Exchange, ScriptedTransport, framed

FAST = LinkOptions(ok_timeout_s=0.05, resend_ok_timeout_s=0.02, resend_quiet_s=0.05, poll_s=0.005)
M115 = (
    b"FIRMWARE_NAME:Marlin 2.1.2.1 (Jan  1 2024) SOURCE_CODE_URL:github.com/MarlinFirmware/"
    b"Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:SSE EXTRUDER_COUNT:1"
)


def hello(advanced: bool) -> list[Exchange]:
    ok0, ok1 = (b"ok N0 P16 B7", b"ok N1 P16 B7") if advanced else (b"ok", b"ok")
    return [
        (framed(0, "M110 N0"), ok0),
        (framed(1, "M115"), [M115, b"Cap:AUTOREPORT_TEMP:1", b"Cap:EMERGENCY_PARSER:1", ok1]),
    ]


def connected(
    exchanges: list[Exchange], advanced: bool = False
) -> tuple[PrinterLink, ScriptedTransport]:
    transport = ScriptedTransport(hello(advanced) + exchanges)
    link = PrinterLink(transport, FAST)
    link.connect(timeout_s=1.0)
    return link, transport


def test_connect_waits_out_the_boot_banner_and_reads_capabilities() -> None:
    transport = ScriptedTransport(
        [
            (None, [b"start", b"echo:Marlin 2.1.2.1", b"echo: External Reset"]),
            (framed(0, "M110 N0"), []),  # eaten by the bootloader
            *hello(advanced=False),
        ]
    )
    info = PrinterLink(transport, FAST).connect(timeout_s=2.0, hello_interval_s=1.0)
    assert info.firmware_name == "Marlin 2.1.2.1 (Jan  1 2024)"
    assert info.has("EMERGENCY_PARSER") and info.has("AUTOREPORT_TEMP")
    assert not transport.script


def test_connect_times_out_clearly_when_nothing_answers() -> None:
    transport = ScriptedTransport([(framed(0, "M110 N0"), [])] * 50)
    with pytest.raises(DeviceTimeout, match="M110 N0"):
        PrinterLink(transport, FAST).connect(timeout_s=0.15, hello_interval_s=0.05)


def test_resend_followed_by_ok_rewinds_once_and_swallows_that_ok() -> None:
    link, transport = connected(
        [
            (framed(2, "G28"), b"ok"),
            (framed(3, "G1 X1"), [b"Error:checksum mismatch, Last Line: 2", b"Resend: 3", b"ok"]),
            (framed(3, "G1 X1"), b"ok"),
            (framed(4, "G1 X2"), b"ok"),
            (framed(5, "M400"), b"ok"),
        ]
    )
    stats = link.stream(["G28 ; home", "", "G1 X1", "G1 X2", "M400"])
    assert (stats.lines, stats.lines_acked, stats.resends, stats.errors) == (4, 4, 1, 1)
    assert not transport.script


def test_resend_without_ok_is_handled_after_the_short_resend_timeout() -> None:
    link, transport = connected(
        [
            (
                framed(2, "G1 X1"),
                [b"Error:Line Number is not Last Line Number+1, Last Line: 1", b"Resend: 2"],
            ),
            (framed(2, "G1 X1"), b"ok"),
            (framed(3, "G1 X2"), b"ok"),
        ]
    )
    stats = link.stream(["G1 X1", "G1 X2"])
    assert (stats.lines_acked, stats.resends) == (2, 1)
    assert not transport.script


def test_teacup_style_rs_request_is_understood() -> None:
    link, _ = connected(
        [
            (framed(2, "G1 X1"), [b"rs N2 checksum"]),
            (framed(2, "G1 X1"), b"ok"),
        ]
    )
    assert link.stream(["G1 X1"]).resends == 1


def test_advanced_ok_fills_the_firmware_buffer_but_never_overflows_it() -> None:
    commands = [f"G1 X{i}" for i in range(12)]
    link, transport = connected(
        [(framed(2 + i, c), f"ok N{2 + i} P15 B7".encode()) for i, c in enumerate(commands)],
        advanced=True,
    )
    stats = link.stream(commands)
    assert stats.lines_acked == 12
    first_batch = transport.chunks[2].count(b"\n")
    assert first_batch == 8  # B7 free while idle: BUFSIZE is 8
    assert max(chunk.count(b"\n") for chunk in transport.chunks) == 8


def test_duplicate_resends_from_lines_in_flight_coalesce_into_one_rewind() -> None:
    dup = [b"Error:Line Number is not Last Line Number+1, Last Line: 2", b"Resend: 3", b"ok"]
    link, transport = connected(
        [
            (framed(2, "G1 X2"), b"ok N2 P15 B6"),
            (framed(3, "G1 X3"), [b"Error:checksum mismatch, Last Line: 2", b"Resend: 3", b"ok"]),
            (framed(4, "G1 X4"), dup),
            (framed(5, "G1 X5"), dup),
            (framed(6, "G1 X6"), dup),
            (framed(3, "G1 X3"), b"ok N3 P15 B6"),
            (framed(4, "G1 X4"), b"ok N4 P15 B6"),
            (framed(5, "G1 X5"), b"ok N5 P15 B6"),
            (framed(6, "G1 X6"), b"ok N6 P15 B7"),
        ],
        advanced=True,
    )
    stats = link.stream([f"G1 X{i}" for i in range(2, 7)])
    assert (stats.lines_acked, stats.resends, stats.errors) == (5, 1, 4)
    assert not transport.script


def test_a_lost_ok_is_probed_by_resending_and_the_firmware_check_prevents_a_duplicate() -> None:
    link, transport = connected(
        [
            (framed(2, "G1 X1"), b"ok"),
            (framed(3, "G1 X2"), []),  # executed, but its ok was lost on the wire
            (
                framed(3, "G1 X2"),
                [b"Error:Line Number is not Last Line Number+1, Last Line: 3", b"Resend: 4", b"ok"],
            ),
            (framed(4, "M400"), b"ok"),
        ]
    )
    stats = link.stream(["G1 X1", "G1 X2", "M400"])
    assert (stats.lines_acked, stats.probes) == (3, 1)
    assert not transport.script


def test_a_printer_that_stops_answering_is_declared_lost_after_probes() -> None:
    link, _ = connected([(framed(2, "G28"), [])] * 3)
    with pytest.raises(DeviceTimeout, match=r"N2 .*2 probes.*0 of 1"):
        link.stream(["G28"])


def test_fatal_error_raises_printer_halted() -> None:
    link, _ = connected(
        [
            (
                framed(2, "M109 S200"),
                [
                    b" T:25.00 /200.00 B:21.0 /0.0 W:?",
                    b"Error:Thermal Runaway, system stopped! Heater_ID: 0",
                    b"Error:Printer halted. kill() called!",
                ],
            )
        ]
    )
    with pytest.raises(PrinterHalted, match="Thermal Runaway"):
        link.stream(["M109 S200"])


def test_start_mid_job_means_the_board_reset_and_aborts() -> None:
    link, _ = connected(
        [(framed(2, "G1 X1"), b"ok"), (framed(3, "G1 X2"), [b"start", b"echo:Marlin"])]
    )
    with pytest.raises(PrinterHalted, match="restarted"):
        link.stream(["G1 X1", "G1 X2", "G1 X3"])


def test_unknown_command_is_still_acknowledged() -> None:
    link, _ = connected([(framed(2, "M999"), [b'echo:Unknown command: "M999"', b"ok"])])
    assert link.send("M999") == ['echo:Unknown command: "M999"']


def test_m105_temperatures_come_from_the_ok_line() -> None:
    link, _ = connected([(framed(2, "M105"), b"ok T:201.23 /200.00 B:60.01 /60.00 @:127 B@:0")])
    temps = link.temperatures()
    assert temps["T"].actual_c == Decimal("201.23") and temps["B"].target_c == Decimal("60.00")


def test_over_long_line_is_refused_before_anything_is_sent() -> None:
    link, transport = connected([])
    sent = len(transport.written)
    with pytest.raises(InputError, match="command 2 of 2"):
        link.stream(["G28", "M117 " + "x" * 100])
    assert len(transport.written) == sent


def test_garbled_resend_line_falls_back_to_the_error_lines_last_line() -> None:
    link, transport = connected(
        [
            (framed(2, "G1 X1"), [b"Error:checksum mismatch, Last Line: 1", b"Resend: 2l", b"ok"]),
            (framed(2, "G1 X1"), b"ok"),  # the ok after the garbled Resend was no ack
            (framed(3, "G1 X2"), b"ok"),
        ]
    )
    stats = link.stream(["G1 X1", "G1 X2"])
    assert (stats.lines_acked, stats.resends) == (2, 1)
    assert not transport.script


def test_a_resend_for_a_line_counted_as_done_rewinds_to_it() -> None:
    # both the Error and the Resend line were garbled: the ok after them looked like an ack
    link, transport = connected(
        [
            (framed(2, "G1 X1"), [b"Errxr:checksum mismatch", b"Rxsend: 2", b"ok"]),
            (
                framed(3, "G1 X2"),
                [b"Error:Line Number is not Last Line Number+1, Last Line: 1", b"Resend: 2", b"ok"],
            ),
            (framed(2, "G1 X1"), b"ok"),
            (framed(3, "G1 X2"), b"ok"),
        ]
    )
    assert link.stream(["G1 X1", "G1 X2"]).lines_acked == 2
    assert not transport.script


def test_a_garbled_final_ok_number_cannot_end_the_run_early() -> None:
    dup = [b"Error:Line Number is not Last Line Number+1, Last Line: 2", b"Resend: 3", b"ok"]
    link, transport = connected(
        [
            (framed(2, "G1 X1"), b"ok N4 P15 B7"),  # really "ok N2": one digit garbled
            (framed(3, "G1 X2"), [b"Error:checksum mismatch, Last Line: 2", b"Resend: 3", b"ok"]),
            (framed(4, "G1 X3"), dup),
            (framed(3, "G1 X2"), b"ok N3 P15 B7"),
            (framed(4, "G1 X3"), b"ok N4 P15 B7"),
        ],
        advanced=True,
    )
    stats = link.stream(["G1 X1", "G1 X2", "G1 X3"])
    assert (stats.lines_acked, stats.resends) == (3, 1)
    assert not transport.script
