"""Lot codes typed or read by a keyboard-wedge scanner: GS1 element strings and plain numbers."""

from __future__ import annotations

from datetime import date

import pytest

from printpharm.errors import BarcodeError
from printpharm.services.control.barcodes import GS, read_lot_code

GTIN = "09506000134352"  # GS1's own example GTIN, check digit 2


@pytest.mark.parametrize(
    "code",
    [
        f"]d201{GTIN}17270600101234AB{GS}",  # GS1 DataMatrix, FNC1 after the variable lot
        f"]C101{GTIN}101234AB{GS}17270600",  # GS1-128, lot first then expiry
        f"01{GTIN}17270600101234AB",  # no symbology prefix (scanner set to send none)
        f"(01){GTIN}(17)270600(10)1234AB",  # human-readable, typed
        f"  (01){GTIN}(17)270600(10)1234AB\r\n",  # with the scanner's Enter
    ],
)
def test_gs1_codes_give_gtin_lot_and_expiry(code: str) -> None:
    read = read_lot_code(code)
    assert (read.gtin, read.lot_number, read.gs1) == (GTIN, "1234AB", True)
    assert read.expiry == date(2027, 6, 30)  # day 00: the last day of the month


def test_a_real_date_is_kept_and_an_impossible_one_refused() -> None:
    assert read_lot_code(f"(01){GTIN}(17)270215(10)X").expiry == date(2027, 2, 15)
    with pytest.raises(BarcodeError, match="270631"):
        read_lot_code(f"]d201{GTIN}17270631")


def test_a_wrong_gtin_check_digit_is_refused() -> None:
    with pytest.raises(BarcodeError, match="Invalid GTIN check digit"):
        read_lot_code(f"(01){GTIN[:-1]}3(10)X")


def test_plain_lot_numbers_and_bad_input() -> None:
    plain = read_lot_code("CPM-2026/11.07")
    assert (plain.lot_number, plain.gtin, plain.expiry, plain.gs1) == (
        "CPM-2026/11.07",
        None,
        None,
        False,
    )
    for bad, message in (("", "no lot number"), ("lot 7", "use letters, digits")):
        with pytest.raises(BarcodeError, match=message):
            read_lot_code(bad)
    with pytest.raises(BarcodeError, match="neither a lot"):
        read_lot_code("(17)270600")
