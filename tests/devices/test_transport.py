"""The serial seam: URLs, the serial log, pyserial errors translated."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from printpharm.devices.printer import PrinterLink
from printpharm.devices.sim import PrinterSim, PtyServer
from printpharm.devices.transport import SERIAL_LOGGER, SerialTransport, open_transport, pop_line
from printpharm.errors import DeviceDisconnected


def test_missing_port_is_device_disconnected_naming_it() -> None:
    with pytest.raises(DeviceDisconnected, match="/dev/printpharm-no-such-port"):
        open_transport("/dev/printpharm-no-such-port")


def test_refused_socket_url_is_device_disconnected() -> None:
    with socket.socket() as probe:  # find a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeviceDisconnected, match="socket://"):
        open_transport(f"socket://127.0.0.1:{port}")


def test_every_byte_goes_to_the_serial_log_and_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_file = tmp_path / "serial.log"
    with caplog.at_level(logging.DEBUG, logger=SERIAL_LOGGER.name):
        link = PrinterLink(open_transport("sim://printer?fast=1", log_path=log_file))
        link.connect()
        link.close()
    text = log_file.read_text(encoding="utf-8")
    assert "> b'N0 M110 N0*125\\n'" in text and "< b'FIRMWARE_NAME:" in text
    assert any("N1 M115*39" in r.getMessage() for r in caplog.records)


def test_pty_dtr_pulse_is_tolerated_and_a_closed_pty_is_a_disconnect() -> None:
    server = PtyServer(PrinterSim(), speed=1000.0).start()
    transport = SerialTransport(server.path)
    transport.pulse_dtr()  # OSError ENOTTY on a pty: logged, not raised
    server.sim.disconnected = True  # the simulator "pulls the cable"
    with pytest.raises(DeviceDisconnected):
        while True:
            transport.readline(1.0)
    transport.close()
    server.stop()


def test_auto_reported_temperatures_arrive_without_polling() -> None:
    link = PrinterLink(open_transport("sim://printer?fast=1"))
    link.connect()
    link.start_auto_report(1)
    printed = link.send("G4 S3")
    assert sum(line.startswith("T:") for line in printed) >= 2
    assert link.last_temperatures["T"].target_c is not None


def test_pop_line_takes_one_line_at_a_time_and_keeps_a_partial_one() -> None:
    buffer = bytearray(b"ok T:20.0\r\nwait\nST,GS,+")
    assert pop_line(buffer) == b"ok T:20.0"
    assert pop_line(buffer) == b"wait"
    assert pop_line(buffer) is None
    assert buffer == bytearray(b"ST,GS,+")
