"""Balance (MT-SICS) against scripted exchanges: every reply form of reference §2.1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.devices.balance import Balance, Weighing, parse_weight_reply
from printpharm.errors import (
    BalanceError,
    BalanceOverload,
    BalanceUnstable,
    DeviceTimeout,
    ProtocolError,
)
from tests.devices.conftest import ScriptedTransport, scripted


def test_weigh_reads_stable_value_exactly() -> None:
    with scripted(Balance, [(b"S", b"S S     12.3456 g")]) as balance:
        weighing = balance.weigh()
    assert weighing.mass == Decimal("12.3456") and weighing.unit == "g" and weighing.stable
    assert weighing.mass_mg == Decimal("12345.6000")
    assert weighing.mass_g == Decimal("12.3456")


def test_commands_end_with_cr_lf() -> None:
    transport = ScriptedTransport([(b"SI", b"S S     0.2513 g")])
    Balance(transport).weigh_immediate()
    assert transport.chunks == [b"SI\r\n"]


@pytest.mark.parametrize(
    ("reply", "mass_mg"),
    [
        ("S S     0.25130 g", Decimal("251.30000")),
        ("S S     251.30 mg", Decimal("251.30")),
        ("S S  0.0002513 kg", Decimal("251.3000000")),
        ("S S    -0.00012 g", Decimal("-0.12000")),
    ],
)
def test_mass_mg_converts_exactly_from_g_mg_kg(reply: str, mass_mg: Decimal) -> None:
    assert parse_weight_reply(reply).mass_mg == mass_mg


def test_unknown_unit_refuses_conversion() -> None:
    with pytest.raises(BalanceError, match="'ct'"):
        _ = parse_weight_reply("S S     1.25 ct").mass_mg


def test_unstable_reply_is_retried_then_refused() -> None:
    with scripted(Balance, [(b"S", b"S I"), (b"S", b"S I"), (b"S", b"S I")]) as balance:
        with pytest.raises(BalanceUnstable, match="3 attempts"):
            balance.weigh(timeout_s=1.0, retries=2)


def test_unstable_then_stable_succeeds_on_retry() -> None:
    with scripted(Balance, [(b"S", b"S I"), (b"S", b"S S     0.10010 g")]) as balance:
        assert balance.weigh(retries=1).mass == Decimal("0.10010")


@pytest.mark.parametrize(("reply", "word"), [(b"S +", "overload"), (b"S -", "underload")])
def test_over_and_underload(reply: bytes, word: str) -> None:
    with scripted(Balance, [(b"S", reply)]) as balance:
        with pytest.raises(BalanceOverload, match=word):
            balance.weigh()


@pytest.mark.parametrize(
    ("code", "meaning"), [(b"ES", "syntax"), (b"ET", "transmission"), (b"EL", "logical")]
)
def test_general_errors(code: bytes, meaning: str) -> None:
    with scripted(Balance, [(b"S", code)]) as balance:
        with pytest.raises(BalanceError, match=meaning):
            balance.weigh()


def test_dynamic_value_from_si_is_marked_unstable() -> None:
    with scripted(Balance, [(b"SI", b"S D     0.25071 g")]) as balance:
        weighing = balance.weigh_immediate()
    assert isinstance(weighing, Weighing) and not weighing.stable


def test_dynamic_value_is_never_accepted_as_a_stable_weight() -> None:
    with scripted(Balance, [(b"S", b"S D     0.25071 g")]) as balance:
        with pytest.raises(ProtocolError, match="dynamic"):
            balance.weigh()


@pytest.mark.parametrize("garbage", [b"S S   12.3x g", b"X S 1.0 g", b"S S 1.0"])
def test_garbled_weight_is_a_protocol_error(garbage: bytes) -> None:
    with scripted(Balance, [(b"S", garbage)]) as balance:
        with pytest.raises(ProtocolError):
            balance.weigh()


def test_identify_resets_then_reads_model_and_serial() -> None:
    exchanges = [
        (b"@", b'I4 A "1126493049"'),
        (b"I2", b'I2 A "XS204 Excellence 220.0090 g"'),
        (b"I4", b'I4 A "1126493049"'),
    ]
    with scripted(Balance, exchanges) as balance:
        info = balance.identify()
    assert (info.model, info.capacity, info.serial_number) == (
        "XS204 Excellence",
        "220.0090 g",
        "1126493049",
    )


def test_tare_and_zero() -> None:
    exchanges = [(b"Z", b"Z A"), (b"T", b"T S     12.50000 g")]
    with scripted(Balance, exchanges) as balance:
        balance.zero()
        assert balance.tare() == Decimal("12.50000")


@pytest.mark.parametrize(
    ("command", "reply", "error"),
    [
        ("zero", b"Z I", BalanceUnstable),
        ("zero", b"Z +", BalanceOverload),
        ("tare", b"T I", BalanceUnstable),
    ],
)
def test_tare_and_zero_refusals(command: str, reply: bytes, error: type[Exception]) -> None:
    with scripted(Balance, [(command[0].upper().encode(), reply)]) as balance:
        with pytest.raises(error):
            getattr(balance, command)()


def test_no_answer_is_a_device_timeout() -> None:
    with scripted(Balance, [(b"S", [])], command_timeout_s=0.01) as balance:
        with pytest.raises(DeviceTimeout, match="'S'"):
            balance.weigh(timeout_s=0.01)
