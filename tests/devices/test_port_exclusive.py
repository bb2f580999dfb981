"""Two hosts on one printer: the second open of a port a run holds is refused.

Two printpharm processes on one workstation (the GUI and a CLI run, or two CLI
runs) that both open ``/dev/ttyACM0`` would each read the other's ``ok`` lines:
the lines of both jobs interleave on the plate, and each host counts
acknowledgements of the other's commands as its own. The port is opened in
exclusive mode (``flock`` on POSIX; Windows COM ports are exclusive anyway).
"""

from __future__ import annotations

import sys

import pytest

from printpharm.devices.printer import PrinterLink
from printpharm.devices.sim import PrinterSim, PtyServer
from printpharm.devices.transport import open_transport
from printpharm.errors import DeviceDisconnected

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def test_a_second_open_of_a_port_in_use_is_refused_and_the_first_link_keeps_working() -> None:
    server = PtyServer(PrinterSim(), speed=1000.0).start()
    try:
        first = PrinterLink(open_transport(server.path))
        first.connect(timeout_s=20.0)
        with pytest.raises(DeviceDisconnected, match=server.path):
            open_transport(server.path)
        assert first.send("M105")  # the run's link is untouched by the refused open
        first.close()
        second = open_transport(server.path)  # released on close: the next run may open it
        second.close()
    finally:
        server.stop()
