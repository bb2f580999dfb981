"""Pure Marlin protocol helpers: framing, checksums and every reply format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.devices.marlin import (
    MAX_FRAMED_LINE_CHARS,
    checksum,
    clean_gcode,
    frame_line,
    is_fatal_error,
    parse_firmware_info,
    parse_ok,
    parse_resend,
    parse_temperatures,
)
from printpharm.errors import InputError


@pytest.mark.parametrize(
    ("number", "command", "expected"),
    [
        (0, "M115", "N0 M115*38"),
        (0, "M110 N0", "N0 M110 N0*125"),
        (-1, "M110 N-1", "N-1 M110 N-1*125"),
    ],
)
def test_frame_line_matches_the_reference_examples(
    number: int, command: str, expected: str
) -> None:
    assert frame_line(number, command) == expected


def test_checksum_covers_the_line_number_prefix() -> None:
    assert checksum("N1 G28") != checksum("G28")
    assert checksum("N1 G28") == checksum("N1 G28 ") ^ ord(" ")


def test_over_long_line_is_refused_naming_it() -> None:
    command = "G1 X1.000000 Y2.000000 Z3.000000 E4.000000 F1500.000000 ; " + "X" * 40
    command = command.split(";")[0] + "S" + "9" * 60
    with pytest.raises(InputError, match=r"N12345.*95"):
        frame_line(12345, command)
    fits = "G1 " + "X" * (MAX_FRAMED_LINE_CHARS - len("N1 *00") - 3)
    assert len(frame_line(1, fits)) <= MAX_FRAMED_LINE_CHARS


def test_clean_gcode_strips_comments_and_blank_lines() -> None:
    assert clean_gcode(["; header", "G28 ; home", "", "   ", "G1 X1  ", "M400"]) == [
        "G28",
        "G1 X1",
        "M400",
    ]


@pytest.mark.parametrize("bad", ["G1 X1*5", "M117 Größe"])
def test_clean_gcode_refuses_unsendable_characters_naming_the_line(bad: str) -> None:
    with pytest.raises(InputError, match="line 2"):
        clean_gcode(["G28", bad])


@pytest.mark.parametrize(
    ("line", "number", "planner", "buffer"),
    [
        ("ok N1234 P15 B3", 1234, 15, 3),
        ("ok P15 B3", None, 15, 3),
        ("ok N0 P16 B7", 0, 16, 7),
    ],
)
def test_parse_advanced_ok(line: str, number: int | None, planner: int, buffer: int) -> None:
    ok = parse_ok(line)
    assert ok is not None and ok.advanced
    assert (ok.line, ok.planner_free, ok.buffer_free) == (number, planner, buffer)


def test_parse_plain_ok_and_m105_ok() -> None:
    plain = parse_ok("ok")
    assert plain is not None and not plain.advanced and plain.line is None
    temps = parse_ok("ok T:201.23 /200.00 B:60.01 /60.00 @:127 B@:0")
    assert temps is not None and "T:201.23" in temps.rest


@pytest.mark.parametrize(
    "noise", ["ok N12 P1x B3", "ox N12 P1 B3", "okay", "ok N12 P15", "echo:ok"]
)
def test_noisy_ok_lines_are_not_acknowledgements(noise: str) -> None:
    assert parse_ok(noise) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Resend: 5", 5),
        ("Resend:5", 5),
        ("resend: N:7", 7),
        ("RESEND: N12", 12),
        ("rs N5 expected line", 5),
        ("rs 9", 9),
        ("Resend: 5x", None),
        ("Resend: ", None),
        ("ok N5 P1 B1", None),
    ],
)
def test_parse_resend_variants(line: str, expected: int | None) -> None:
    assert parse_resend(line) == expected


D = Decimal


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "ok T:201.23 /200.00 B:60.01 /60.00 @:127 B@:0",
            {"T": (D("201.23"), D("200.00")), "B": (D("60.01"), D("60.00"))},
        ),
        (
            " T:210.0 /210.0 B:60.0 /60.0",
            {"T": (D("210.0"), D("210.0")), "B": (D("60.0"), D("60.0"))},
        ),
        (
            "T:21.30/ 0.00 B:21.30/ 0.00",
            {"T": (D("21.30"), D("0.00")), "B": (D("21.30"), D("0.00"))},
        ),
        ("ok T:0", {"T": (D("0"), None)}),
        (" T:190.12 E:0 W:?", {"T": (D("190.12"), None)}),
        (
            "T:200.0 /200.0 T0:200.0 /200.0 T1:25.0 /0.0 B:60.0 /60.0 C:30.1 /35.0",
            {
                "T": (D("200.0"), D("200.0")),
                "T0": (D("200.0"), D("200.0")),
                "T1": (D("25.0"), D("0.0")),
                "B": (D("60.0"), D("60.0")),
                "C": (D("30.1"), D("35.0")),
            },
        ),
        ("T:-14.50 /0.00", {"T": (D("-14.50"), D("0.00"))}),
        ("echo:busy: processing", {}),
    ],
)
def test_parse_temperatures_in_every_reference_format(
    line: str, expected: dict[str, tuple[Decimal, Decimal | None]]
) -> None:
    parsed = parse_temperatures(line)
    assert {k: (v.actual_c, v.target_c) for k, v in parsed.items()} == expected


def test_parse_m115_fields_with_spaces_and_capabilities() -> None:
    info = parse_firmware_info(
        [
            "FIRMWARE_NAME:Marlin 2.1.2.1 (Jan  1 2024 12:00:00) SOURCE_CODE_URL:github.com/"
            "MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 "
            "EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
            "Cap:SERIAL_XON_XOFF:0",
            "Cap:AUTOREPORT_TEMP:1",
            "Cap:EMERGENCY_PARSER:1",
            "area:{full:{min:{x:0,y:0,z:0},max:{x:235,y:235,z:250}}}",
        ]
    )
    assert info.firmware_name == "Marlin 2.1.2.1 (Jan  1 2024 12:00:00)"
    assert info.fields["MACHINE_TYPE"] == "Ender-3 V2"
    assert info.fields["EXTRUDER_COUNT"] == "1"
    assert info.has("AUTOREPORT_TEMP") and info.has("EMERGENCY_PARSER")
    assert not info.has("SERIAL_XON_XOFF") and not info.has("PROMPT_SUPPORT")


def test_parse_klipper_m115_on_the_ok_line() -> None:
    info = parse_firmware_info(["ok FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0"])
    assert info.firmware_name == "Klipper"
    assert info.capabilities == {}


@pytest.mark.parametrize(
    ("line", "fatal"),
    [
        ("Error:Printer halted. kill() called!", True),
        ("Error:Thermal Runaway, system stopped! Heater_ID: 0", True),
        ("Error:MINTEMP triggered, system stopped! Heater_ID: E0", True),
        ("Error:Printer stopped due to errors. Fix the error and use M999 to restart.", True),
        ("Error:checksum mismatch, Last Line: 12", False),
        ("Error:Line Number is not Last Line Number+1, Last Line: 12", False),
        ("Error:No Checksum with line number, Last Line: 12", False),
    ],
)
def test_fatal_errors_are_told_apart(line: str, fatal: bool) -> None:
    assert is_fatal_error(line) is fatal
