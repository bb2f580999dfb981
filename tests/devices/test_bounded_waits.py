"""Issue 13: every wait has a bound — a printer that talks but never acknowledges, a balance
that streams unasked, and the simulator's ``busy_interval_s=0`` (host keepalive off)."""

from __future__ import annotations

import pytest

from printpharm.devices.balance import Balance
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.transport import open_transport
from printpharm.errors import DeviceTimeout, ProtocolError
from tests.devices.conftest import ScriptedTransport, framed
from tests.devices.test_printer_scripted import hello

#: Waits short enough for a test; the defaults are minutes.
BOUNDED = LinkOptions(ok_timeout_s=0.05, resend_quiet_s=0.05, poll_s=0.005, max_wait_s=0.3)


class ChattyTransport(ScriptedTransport):
    """After the script, the firmware reports busy for ever and acknowledges nothing."""

    def readline(self, timeout_s: float) -> bytes | None:
        line = super().readline(timeout_s)
        if line is None and not self.script:
            return b"echo:busy: processing"
        return line


def test_a_printer_that_reports_busy_for_ever_is_declared_lost() -> None:
    transport = ChattyTransport([*hello(False), (framed(2, "M109 S40"), [])])
    link = PrinterLink(transport, BOUNDED)
    link.connect(timeout_s=1.0)
    with pytest.raises(DeviceTimeout, match=r"line N2 \(M109 S40\) not acknowledged within 0.3 s"):
        link.send("M109 S40")


def test_temperature_reports_do_not_keep_a_heater_wait_alive_for_ever() -> None:
    """A heater wait prints temperatures as its progress; they restart the probe clock
    (a line that only gets auto-reports is probed: the next test) but not the bound."""

    class Reporting(ChattyTransport):
        def readline(self, timeout_s: float) -> bytes | None:
            line = super().readline(timeout_s)
            return (
                b" T:25.0 /40.0 B:25.0 /0.0 @:0 B@:0" if line == b"echo:busy: processing" else line
            )

    transport = Reporting([*hello(False), (framed(2, "M109 S40"), [])])
    link = PrinterLink(transport, BOUNDED)
    link.connect(timeout_s=1.0)
    with pytest.raises(DeviceTimeout, match="kept reporting"):
        link.stream(["M109 S40"])


def test_a_long_heater_wait_with_busy_messages_is_fine_inside_the_bound() -> None:
    busy = [b"echo:busy: processing"] * 20
    transport = ScriptedTransport([*hello(False), (framed(2, "M109 S40"), [*busy, b"ok"])])
    link = PrinterLink(transport, BOUNDED)
    link.connect(timeout_s=1.0)
    assert link.send("M109 S40") == []


def test_a_balance_that_streams_unasked_is_refused_clearly() -> None:
    class Streaming(ScriptedTransport):
        def readline(self, timeout_s: float) -> bytes | None:
            return b"S D     0.2513 g"  # continuous output (SIR) left on

    balance = Balance(Streaming([]), command_timeout_s=0.1)
    with pytest.raises(ProtocolError, match="keeps sending without being asked"):
        balance.tare()


def test_the_simulator_without_busy_messages_heats_like_marlin_with_keepalive_off() -> None:
    """``busy_interval_s=0`` is Marlin's ``M113 S0``: no busy lines, the heater wait ends."""
    transport = open_transport("sim://printer?fast=1&busy_interval_s=0")
    link = PrinterLink(transport, BOUNDED)
    try:
        link.connect(timeout_s=5.0)
        said = link.send("M109 S40")  # Marlin reports the heating, then ok
        assert said and not [line for line in said if "busy" in line]
        assert link.temperatures()["T"].actual_c >= 39
    finally:
        link.close()


class AutoReporting(ScriptedTransport):
    """Marlin with ``M155 S1`` (and a pressure head's ``M1155``): reports keep coming."""

    def readline(self, timeout_s: float) -> bytes | None:
        line = super().readline(timeout_s)
        if line is None:
            self.reports += 1
            return self.REPORTS[self.reports % len(self.REPORTS)]
        return line

    REPORTS = (
        b" T:25.00 /25.00 B:25.00 /25.00 @:0 B@:0",
        b"echo:PRESSURE kPa:0.0 Q:0.00",
        b"echE:PRESSURE kPa:0.0 Q:0.00",  # line noise garbles a report now and then
        b"wait",
    )

    reports = 0


def test_a_lost_ok_is_probed_although_auto_reports_keep_coming() -> None:
    """A run turns auto-reports on; one ok eaten by line noise must cost a probe after
    ok_timeout_s, not the whole max_wait_s (10 min by default) and then the batch."""
    options = LinkOptions(ok_timeout_s=0.05, resend_quiet_s=0.05, poll_s=0.005, max_wait_s=5.0)
    probe_answer = [
        b"Error:Line Number is not Last Line Number+1, Last Line: 2",
        b"Resend: 3",
        b"ok",
    ]
    transport = AutoReporting(
        [*hello(False), (framed(2, "G1 X10 F600"), []), (framed(2, "G1 X10 F600"), probe_answer)]
    )
    link = PrinterLink(transport, options)
    link.connect(timeout_s=1.0)
    stats = link.stream(["G1 X10 F600"])  # its ok is lost; the printer only reports
    assert (stats.lines_acked, stats.probes) == (1, 1)
    assert stats.elapsed_s < 2.0
    assert transport.written.count(framed(2, "G1 X10 F600")) == 2  # sent once, probed once
