"""The printer simulator's serial line speed (``baud``) and its planner underruns.

On the virtual clock the host costs no time, so every delay comes from the
simulated line (10 bits per byte) and the planner (move length / feed rate):
the figures below follow from the bytes exchanged and are checked exactly.
"""

from __future__ import annotations

import time

import pytest

from printpharm.devices.marlin import frame_line
from printpharm.devices.printer import PrinterLink
from printpharm.devices.sim import PrinterSim, PrinterSimConfig, PtyServer, SimTransport
from printpharm.devices.sim.link import SerialWire
from printpharm.devices.transport import open_transport
from printpharm.errors import InputError

BAUD = 115_200
BYTE_S = 10 / BAUD


def _link(**config: object) -> tuple[PrinterLink, PrinterSim, SimTransport]:
    sim = PrinterSim(PrinterSimConfig(**config))  # type: ignore[arg-type]
    transport = SimTransport(sim, "sim://printer")  # virtual clock
    link = PrinterLink(transport)
    link.connect()
    return link, sim, transport


# -- the wire --------------------------------------------------------------------------------


def test_wire_delivers_one_byte_per_ten_bit_times_back_to_back() -> None:
    wire = SerialWire(BAUD)
    wire.send(b"ok\n", 1.0)
    wire.send(b"ab", 1.0)  # queued behind the first three bytes
    assert wire.receive(1.0 + 0.5 * BYTE_S) == b""
    assert wire.receive(1.0 + 1.0 * BYTE_S) == b"o"
    assert wire.next_line_s() == pytest.approx(1.0 + 3 * BYTE_S)
    assert wire.receive(1.0 + 3 * BYTE_S) == b"k\n"
    assert wire.receive(1.0 + 4.5 * BYTE_S) == b"a"
    assert wire.receive(10.0) == b"b" and not wire.busy
    wire.send(b"x", 20.0)  # an idle wire starts at the time of sending
    assert wire.receive(20.0 + BYTE_S) == b"x"
    assert wire.bytes_sent == 6 and wire.bytes_per_s == BAUD / 10


@pytest.mark.parametrize("baud", [0, -9600, 1.5, True])
def test_wire_refuses_a_rate_that_is_not_a_positive_integer(baud: object) -> None:
    with pytest.raises(InputError, match="baud"):
        SerialWire(baud)  # type: ignore[arg-type]


def test_baud_reaches_the_simulator_from_its_url() -> None:
    inner = open_transport("sim://printer?baud=250000&fast=1").inner  # type: ignore[attr-defined]
    assert isinstance(inner, SimTransport) and isinstance(inner.sim, PrinterSim)
    assert inner.sim.config.baud == 250_000
    with pytest.raises(InputError, match="baud"):
        open_transport("sim://printer?baud=fast")


# -- line rate ---------------------------------------------------------------------------


def test_streaming_is_bounded_by_the_line_in_both_directions() -> None:
    # planner large enough never to wait: only the line limits the rate
    link, sim, transport = _link(baud=BAUD, planner_blocks=100_000)
    commands = [f"G1 X{i % 50}.125 Y{i % 7}.5 E0.02 F3000" for i in range(300)]
    sent = sum(len(frame_line(link._wire.next_n + i, c)) + 1 for i, c in enumerate(commands))
    start = transport._virtual_s
    stats = link.stream(commands)
    elapsed = transport._virtual_s - start
    assert stats.lines_acked == 300
    line_s = sent * BYTE_S  # what the host->printer direction needs at least
    assert elapsed >= line_s
    # a window of lines keeps the line busy: the acknowledgements travel the other way
    # at the same time, so the run takes little more than the bytes sent
    assert elapsed <= line_s * 1.05
    assert sim.underruns == 0


def test_replies_are_paced_too() -> None:
    link, sim, transport = _link(baud=9600)
    start = transport._virtual_s
    lines = link.send("M115")  # a firmware report of several hundred bytes
    elapsed = transport._virtual_s - start
    reply_bytes = sum(len(line) + 1 for line in lines) + len("ok N1 P16 B7\n")
    assert reply_bytes > 300
    assert elapsed >= reply_bytes * 10 / 9600


def test_without_baud_the_simulator_takes_no_line_time() -> None:
    link, sim, transport = _link()
    start = transport._virtual_s
    link.stream([f"G1 X{i}.5 F60000" for i in range(50)])
    assert transport._virtual_s - start < 0.05  # only the planner (16 short moves) waits


# -- planner underruns ------------------------------------------------------------------------


def test_short_fast_moves_starve_the_planner_over_a_slow_line() -> None:
    # each 0.1 mm move at 100 mm/s lasts 1 ms; its ~19-byte line takes ~1.6 ms at 115 200
    link, sim, transport = _link(baud=BAUD)
    commands = ["G1 X0 Y0 F6000"] + [f"G1 X{0.1 * (i + 1):.1f} Y0" for i in range(40)]
    first = link._wire.next_n
    link.stream(commands)
    # the first real move starts the print; every later one arrives a line time after the
    # previous one started and finds it finished 1 ms after that
    sizes = [len(frame_line(first + i, c)) + 1 for i, c in enumerate(commands)]
    assert sim.underruns == 39
    assert sim.stall_s == pytest.approx(sum(n * BYTE_S - 1e-3 for n in sizes[2:]), rel=1e-6)


def test_long_moves_keep_the_planner_fed() -> None:
    # each 5 mm move at 20 mm/s lasts 250 ms: the line easily keeps 16 blocks queued
    link, sim, transport = _link(baud=BAUD)
    link.stream(["G1 X0 Y0 F1200"] + [f"G1 X{5 * (i % 2)} Y{i}" for i in range(1, 60)])
    link.wait_for_moves()
    assert sim.underruns == 0 and sim.stall_s == 0.0


def test_a_deliberate_stop_is_no_underrun() -> None:
    link, sim, transport = _link(baud=BAUD)
    link.stream(["G1 X10 F600", "M400", "G4 P500", "G1 X20", "M400", "G1 X30"])
    link.wait_for_moves()
    assert sim.underruns == 0


def test_a_slow_line_over_a_pseudo_terminal_takes_at_least_its_byte_time() -> None:
    baud = 19_200
    with PtyServer(PrinterSim(PrinterSimConfig(baud=baud, planner_blocks=100_000))) as server:
        link = PrinterLink(open_transport(server.path))
        link.connect()
        commands = [f"G1 X{i}.25 Y1.5 F3000" for i in range(60)]
        sent = sum(len(frame_line(link._wire.next_n + i, c)) + 1 for i, c in enumerate(commands))
        start = time.monotonic()
        assert link.stream(commands).lines_acked == 60
        assert time.monotonic() - start >= sent * 10 / baud
        link.close()
