"""Ink lots as a pharmacy prepares them: beyond-use date, bulk assay, content per unit.

Pure rules on exact decimals (no database, no clock):

* :func:`beyond_use_date` — preparation date + the ink's stated stability, which a
  site may shorten but never lengthen.
* :class:`BulkAssay` — the assay of a prepared lot, as mg of API per g of ink or as
  % of the ink's label claim (its nominal drug load), with the method, the analyst
  and the expanded uncertainty where the laboratory gives one.
* :func:`unit_content` — a printed unit's API content: measured mass × the lot's
  assayed concentration (with the assay's uncertainty carried through; the balance's
  own uncertainty is far smaller and not added).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from printpharm.errors import InputError

__all__ = [
    "ASSAY_BASES",
    "AssayBasis",
    "BulkAssay",
    "UnitContent",
    "beyond_use_date",
    "unit_content",
]

AssayBasis = Literal["mg_per_g", "pct_label_claim"]
#: How a bulk assay may be expressed, and the unit each is written in.
ASSAY_BASES: dict[str, str] = {"mg_per_g": "mg/g", "pct_label_claim": "% of label claim"}

_MG = Decimal("0.0001")


def beyond_use_date(prepared_on: date, stability_days: int, site_date: date | None = None) -> date:
    """The lot's beyond-use date: ``prepared_on`` + ``stability_days``, or the site's earlier date.

    Parameters
    ----------
    prepared_on
        Date the lot was prepared.
    stability_days
        The ink's stability statement (days after preparation the ink may be used).
    site_date
        A beyond-use date the site chooses; it may only shorten the stability.

    Raises
    ------
    InputError
        The stability is not positive, or ``site_date`` is after the stability allows
        (a site may shorten it, never lengthen it) or before the preparation date.
    """
    if stability_days < 1:
        raise InputError(f"stability {stability_days} days: it must be at least 1 day")
    ceiling = prepared_on + timedelta(days=stability_days)
    if site_date is None:
        return ceiling
    if site_date > ceiling:
        raise InputError(
            f"beyond-use date {site_date} is after {ceiling} (prepared {prepared_on} + the ink's "
            f"stability of {stability_days} days): a site may shorten it, never lengthen it"
        )
    if site_date < prepared_on:
        raise InputError(
            f"beyond-use date {site_date} is before the preparation date {prepared_on}"
        )
    return site_date


def _plain(value: Decimal) -> str:
    """``49.2``, not the ``49.200000`` a NUMERIC column returns."""
    return f"{value.normalize():f}"


def _positive(value: Decimal, what: str) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise InputError(f"{what} {value} must be a positive number")
    return value


@dataclass(frozen=True)
class BulkAssay:
    """The assay of a prepared lot.

    ``value`` is mg of API per g of ink (``basis="mg_per_g"``) or % of the ink's
    label claim (``basis="pct_label_claim"``); ``uncertainty`` is in the same unit
    (the expanded uncertainty the laboratory reports), or ``None``.

    Raises
    ------
    InputError
        An unknown basis, a value that is not positive, above 1000 mg/g or outside
        50–150 % of the label claim, a negative uncertainty, or no method.
    """

    basis: AssayBasis
    value: Decimal
    method: str
    analyst: str = ""
    uncertainty: Decimal | None = None

    def __post_init__(self) -> None:
        if self.basis not in ASSAY_BASES:
            raise InputError(f"assay basis {self.basis!r} is not one of {list(ASSAY_BASES)}")
        _positive(self.value, "assay")
        if self.basis == "mg_per_g" and self.value > 1000:
            raise InputError(f"assay {self.value} mg/g is more than 1000 mg per g")
        if self.basis == "pct_label_claim" and not Decimal(50) <= self.value <= Decimal(150):
            raise InputError(
                f"assay {self.value} % of label claim is outside 50–150 %: check the result"
            )
        if self.uncertainty is not None and (
            not self.uncertainty.is_finite() or self.uncertainty < 0
        ):
            raise InputError(f"assay uncertainty {self.uncertainty} must be 0 or more")
        if not self.method.strip():
            raise InputError("an assay needs its analytical method (e.g. 'HPLC-UV, SOP QC-12')")

    @property
    def unit(self) -> str:
        """``mg/g`` or ``% of label claim``."""
        return ASSAY_BASES[self.basis]

    def text(self) -> str:
        """``52.1 ± 0.8 mg/g (HPLC-UV, by A. Analyst)``."""
        spread = f" ± {_plain(self.uncertainty)}" if self.uncertainty is not None else ""
        who = f", by {self.analyst}" if self.analyst else ""
        return f"{_plain(self.value)}{spread} {self.unit} ({self.method}{who})"

    def concentration_mg_per_g(self, label_claim_mg_per_g: Decimal) -> Decimal:
        """mg of API per g of ink; ``label_claim_mg_per_g`` is the ink's nominal drug load."""
        if self.basis == "mg_per_g":
            return self.value
        return _positive(label_claim_mg_per_g, "label claim (mg/g)") * self.value / 100

    def concentration_uncertainty_mg_per_g(self, label_claim_mg_per_g: Decimal) -> Decimal | None:
        """The uncertainty of :meth:`concentration_mg_per_g`, or ``None``."""
        if self.uncertainty is None:
            return None
        if self.basis == "mg_per_g":
            return self.uncertainty
        return label_claim_mg_per_g * self.uncertainty / 100

    def pct_of_label_claim(self, label_claim_mg_per_g: Decimal) -> Decimal:
        """The assay as % of the label claim (the A of Ph. Eur. 2.9.40 mass variation)."""
        if self.basis == "pct_label_claim":
            return self.value
        return self.value * 100 / _positive(label_claim_mg_per_g, "label claim (mg/g)")


@dataclass(frozen=True)
class UnitContent:
    """A unit's estimated API content in mg and its uncertainty (from the assay), if known."""

    content_mg: Decimal
    uncertainty_mg: Decimal | None = None

    def text(self) -> str:
        """``12.46 ± 0.21 mg`` (2 decimals for people; the record keeps 4)."""
        shown = self.content_mg.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if self.uncertainty_mg is None:
            return f"{shown} mg"
        spread = self.uncertainty_mg.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"{shown} ± {spread} mg"


def unit_content(
    mass_mg: Decimal, concentration_mg_per_g: Decimal, uncertainty_mg_per_g: Decimal | None = None
) -> UnitContent:
    """A unit's API content: ``mass_mg`` × ``concentration_mg_per_g`` / 1000, to 0.0001 mg.

    Raises
    ------
    InputError
        A mass or concentration that is not positive.
    """
    _positive(mass_mg, "unit mass (mg)")
    _positive(concentration_mg_per_g, "concentration (mg/g)")
    content = (mass_mg * concentration_mg_per_g / 1000).quantize(_MG, rounding=ROUND_HALF_UP)
    spread = None
    if uncertainty_mg_per_g is not None:
        spread = (mass_mg * uncertainty_mg_per_g / 1000).quantize(_MG, rounding=ROUND_HALF_UP)
    return UnitContent(content, spread)
