"""Beyond-use date and the GS1 element string of a patient label (pure rules).

:func:`beyond_use_date` is the one place the beyond-use date (BUD) is computed:
the earlier of the day of printing plus the recipe's stability period and the
expiry of the ink lot (USP <795>: a BUD is never later than the expiry of any
component). :func:`gs1_elements` builds the GS1 element string of the label's
DataMatrix: AI (17) the BUD as YYMMDD, AI (10) the batch (lot) number, and —
when the batch ID is longer than AI (10)'s 20 characters — AI (91) (company
internal information, up to 90 characters) with the full batch ID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from printpharm.errors import InputError

__all__ = ["BeyondUse", "GS1Element", "beyond_use_date", "gs1_elements", "gs1_text"]

#: GS1 "AI encodable character set 82" (GS1 General Specifications, figure 7.11-1).
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$")


@dataclass(frozen=True)
class BeyondUse:
    """A beyond-use date and the sentence saying what limited it."""

    date: date
    basis: str


def beyond_use_date(printed_on: date, stability_days: int | None, ink_expiry: date) -> BeyondUse:
    """The beyond-use date of units printed on ``printed_on``.

    Parameters
    ----------
    printed_on
        The day the units were printed (compounded).
    stability_days
        The recipe's stability period in days (how long printed units stay within
        specification); ``None`` when the recipe declares none.
    ink_expiry
        Expiry of the ink lot used.

    Raises
    ------
    InputError
        The recipe declares no stability period, or the ink had expired when printed.
    """
    if stability_days is None:
        raise InputError(
            "the recipe declares no stability period, so no beyond-use date can be set; "
            'add `stability = { value = N, unit = "d" }` to the recipe after a stability study'
        )
    if ink_expiry < printed_on:
        raise InputError(f"the ink lot expired on {ink_expiry}, before printing on {printed_on}")
    by_stability = printed_on + timedelta(days=stability_days)
    if by_stability <= ink_expiry:
        return BeyondUse(
            by_stability, f"printed {printed_on} + {stability_days} days of recipe stability"
        )
    return BeyondUse(ink_expiry, f"ink lot expiry {ink_expiry} (earlier than the stability period)")


@dataclass(frozen=True)
class GS1Element:
    """One GS1 element: application identifier, value, and whether its length is fixed."""

    ai: str
    value: str
    fixed: bool


def gs1_elements(batch_id: str, bud: date) -> tuple[GS1Element, ...]:
    """The label's GS1 elements: (17) BUD, (10) lot, and (91) the full batch ID if needed.

    Raises
    ------
    InputError
        The batch ID has characters outside the GS1 character set or is over 90 long.
    """
    if not _CSET82.match(batch_id) or len(batch_id) > 90:
        raise InputError(
            f"batch ID {batch_id!r} cannot be put in a GS1 DataMatrix: use at most 90 letters, "
            "digits and GS1 punctuation"
        )
    elements = [GS1Element("17", bud.strftime("%y%m%d"), True)]
    if len(batch_id) <= 20:
        elements.append(GS1Element("10", batch_id, False))
    else:
        elements.append(GS1Element("10", batch_id[-20:], False))
        elements.append(GS1Element("91", batch_id, False))
    return tuple(elements)


def gs1_text(elements: tuple[GS1Element, ...]) -> str:
    """The human-readable interpretation: ``(17)271231(10)LOT(91)...``."""
    return "".join(f"({e.ai}){e.value}" for e in elements)
