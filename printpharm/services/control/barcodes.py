"""Lot numbers, GTINs and expiry dates typed or read by a barcode scanner.

A USB barcode scanner in keyboard-wedge mode "types" what it reads. A GS1
DataMatrix or GS1-128 label arrives as an element string, with the symbology
prefix (``]d2``, ``]C1``) when the scanner sends it and FNC1 as the group
separator (ASCII 29, GS); a person may type the human-readable form
``(01)09506000134352(17)270600(10)LOT42``. The GS1 parsing is biip's (a
maintained parser of the GS1 General Specifications): application identifiers,
the GTIN check digit and YYMMDD dates (day ``00`` = the last day of the month).
printpharm uses AI 01 (GTIN), 10 (lot) and 17 (expiry). Anything that is not a
GS1 string is taken as a plain lot number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from biip import ParseConfig, ParseError, parse
from biip.gs1_messages import GS1Message

from printpharm.errors import BarcodeError

__all__ = ["GS", "ScannedLot", "read_lot_code"]

#: The group separator (FNC1 in a GS1 element string) a scanner sends.
GS = "\x1d"
_PLAIN_LOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_GS1_START = re.compile(r"^(\][A-Za-z]\d|\(\d{2,4}\)|01\d{14})")


@dataclass(frozen=True)
class ScannedLot:
    """What a code says: lot number (AI 10), GTIN (AI 01), expiry (AI 17), and the raw text."""

    lot_number: str | None
    gtin: str | None
    expiry: date | None
    raw: str
    gs1: bool


def _message(text: str) -> GS1Message:
    try:
        if text.startswith("("):
            return GS1Message.parse_hri(text)
        result = parse(text, config=ParseConfig(separator_chars=[GS]))
    except ParseError as exc:
        raise BarcodeError(f"GS1 code {text!r} cannot be read: {exc}") from exc
    if result.gs1_message is None:
        raise BarcodeError(
            f"GS1 code {text!r} cannot be read: {result.gs1_message_error or 'no GS1 data'}"
        )
    return result.gs1_message


def read_lot_code(text: str) -> ScannedLot:
    """Read a typed or scanned lot code.

    Raises
    ------
    BarcodeError
        An empty code, a GS1 string with a wrong GTIN check digit, an impossible date
        or an unknown application identifier, or a plain lot number with characters
        other than letters, digits and ``. _ / -`` (at most 64).
    """
    raw = text.strip("\r\n\t ")
    if not raw:
        raise BarcodeError("no lot number or code was given")
    if GS not in raw and not _GS1_START.match(raw):
        if not _PLAIN_LOT.match(raw):
            raise BarcodeError(
                f"lot number {raw!r}: use letters, digits and . _ / - (at most 64 characters), "
                "or scan the GS1 code"
            )
        return ScannedLot(raw, None, None, raw, gs1=False)
    message = _message(raw)
    found: dict[str, str] = {}
    expiry: date | None = None
    for element in message.element_strings:
        ai = element.ai.ai
        if ai == "01" and element.gtin_error:
            raise BarcodeError(f"GTIN {element.value}: {element.gtin_error}")
        if ai == "17":
            expiry = element.date
        found[ai] = element.value
    if "10" not in found and "01" not in found:
        raise BarcodeError(f"GS1 code {raw!r} holds neither a lot (10) nor a GTIN (01)")
    return ScannedLot(found.get("10"), found.get("01"), expiry, raw, gs1=True)
