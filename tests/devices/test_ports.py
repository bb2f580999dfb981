"""Serial port enumeration (the real OS listing; nothing is mocked)."""

from __future__ import annotations

import os
import sys

import pytest

from printpharm.devices import PortInfo, list_ports


def test_ports_are_real_sorted_and_usb_filter_holds() -> None:
    ports = list_ports()
    assert all(isinstance(p, PortInfo) for p in ports)
    assert [p.device for p in ports] == sorted(p.device for p in ports)
    if sys.platform.startswith("linux"):
        for p in ports:
            assert os.path.exists(p.device), f"{p.device} listed but does not exist"
    usb = list_ports(usb_only=True)
    assert all(p.is_usb and p.vid is not None for p in usb)
    assert {p.device for p in usb} <= {p.device for p in ports}


@pytest.mark.parametrize("usb_only", [True, False])
def test_listing_is_stable_between_calls(usb_only: bool) -> None:
    assert list_ports(usb_only) == list_ports(usb_only)
