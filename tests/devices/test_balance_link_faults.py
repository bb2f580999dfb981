"""The balance simulator's link faults: garbled replies, a silent balance, a dropped one.

In-process (``sim://``-style SimTransport on the virtual clock) for the exact bytes,
and over a REAL pseudo-terminal for what the driver sees when the balance goes.
"""

from __future__ import annotations

from typing import Any

import pytest

from printpharm.devices.balance import Balance
from printpharm.devices.sim import BALANCE_OPTIONS, build_balance, options_help
from printpharm.devices.sim.pty import SimTransport
from printpharm.devices.transport import open_transport
from printpharm.errors import DeviceDisconnected, DeviceTimeout

COMMANDS = [b"@", b"I2", b"S", b"T", b"S", b"S", b"SI", b"S", b"S", b"S"]


def replies(**options: Any) -> list[bytes | None]:
    """The reply to each of :data:`COMMANDS` from a fresh seeded balance (None: no reply)."""
    transport = SimTransport(build_balance({k: str(v) for k, v in options.items()}), "sim")
    out: list[bytes | None] = []
    for command in COMMANDS:
        transport.write(command + b"\r\n")
        out.append(transport.readline(0.3))
    return out


def byte_changes(a: bytes, b: bytes) -> list[tuple[int, int, int]]:
    assert len(a) == len(b)
    return [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_the_options_are_listed_and_read_from_text() -> None:
    names = (
        "balance_corrupt_tx_rate",
        "balance_garble_weight_reply",
        "balance_silent_after_commands",
        "balance_drop_after_commands",
    )
    assert all(name in BALANCE_OPTIONS and name in options_help() for name in names)
    sim = build_balance({"balance_corrupt_tx_rate": "0.5", "balance_drop_after_commands": "7"})
    assert sim.config.faults.balance_corrupt_tx_rate == 0.5
    assert sim.config.faults.balance_drop_after_commands == 7


def test_the_nth_weight_reply_has_one_digit_changed_and_nothing_else_differs() -> None:
    clean = replies(seed=4)
    garbled = replies(seed=4, balance_garble_weight_reply=3)
    # the stable weight replies are to S, S, S, SI(stable), S...: the 3rd is COMMANDS[5]
    for k, (a, b) in enumerate(zip(clean, garbled, strict=True)):
        assert a is not None and b is not None
        if k != 5:
            assert a == b  # the readings themselves are not shifted by the fault
            continue
        ((index, was, now),) = byte_changes(a, b)
        assert chr(was).isdigit() and chr(now).isdigit() and was != now
        assert a.split()[:2] == b.split()[:2] == [b"S", b"S"]
    assert garbled == replies(seed=4, balance_garble_weight_reply=3)  # seeded


def test_line_noise_changes_exactly_one_byte_of_a_reply_and_is_seeded() -> None:
    clean = replies(seed=2)
    noisy = replies(seed=2, balance_corrupt_tx_rate=1)
    for a, b in zip(clean, noisy, strict=True):
        assert a is not None and b is not None
        assert len(byte_changes(a, b)) == 1
    assert noisy == replies(seed=2, balance_corrupt_tx_rate=1)
    some = replies(seed=2, balance_corrupt_tx_rate=0.3)
    assert 0 < sum(a != b for a, b in zip(clean, some, strict=True)) < len(COMMANDS)


def test_a_silent_balance_answers_nothing_after_n_commands() -> None:
    out = replies(balance_silent_after_commands=4)
    assert all(line is not None for line in out[:4])
    assert out[4:] == [None] * (len(COMMANDS) - 4)


def test_a_dropped_balance_answers_n_commands_then_the_link_is_gone() -> None:
    transport = SimTransport(build_balance({"balance_drop_after_commands": "2"}), "sim")
    for command in (b"@", b"S"):
        transport.write(command + b"\r\n")
        assert transport.readline(0.3) is not None
    with pytest.raises(DeviceDisconnected):
        transport.write(b"S\r\n")


def test_over_a_pty_a_silent_balance_times_out(pty_balance: Any) -> None:
    _, server = pty_balance(balance_silent_after_commands=4)
    balance = Balance(open_transport(server.path, baudrate=9600), command_timeout_s=2.0)
    assert balance.identify().serial_number == "1126493049"  # @, I2, I4
    balance.weigh(timeout_s=5.0)  # the 4th
    with pytest.raises(DeviceTimeout, match="no answer to 'S'"):
        balance.weigh(timeout_s=0.5)
    balance.transport.close()


def test_over_a_pty_a_dropped_balance_is_a_disconnection(pty_balance: Any) -> None:
    _, server = pty_balance(balance_drop_after_commands=4)
    balance = Balance(open_transport(server.path, baudrate=9600), command_timeout_s=2.0)
    balance.identify()
    balance.weigh(timeout_s=5.0)  # the 4th answer still arrives
    with pytest.raises(DeviceDisconnected):
        balance.weigh(timeout_s=5.0)
    balance.transport.close()
