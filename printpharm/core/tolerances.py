"""Named pharmacopoeial limits used by the uniformity tests, each citing its source.

The values are exact :class:`~decimal.Decimal` numbers written as the
pharmacopoeia tabulates them (``7.5``, ``10``, ``5``): the number of decimals of
a tabulated limit matters for the General-Notices rounding policy of 2.9.5.
Every field carries its source in ``dataclasses.field(metadata={"source": ...})``;
:func:`source_of` returns it for display in a batch record.

Sources (see ``shared/reference/pharmacopoeia.md``):

* Ph. Eur. 2.9.5 Uniformity of mass of single-dose preparations, Table 2.9.5.-1
  (01/2008:20905, unchanged in Ph. Eur. 11).
* Ph. Eur. 2.9.40 Uniformity of dosage units = USP <905> = JP 6.02 (harmonised,
  ICH Q4B Annex 6); USP <905> FAQ Q2 (L1 = 15.0 at both stages).
* USP General Notices 7.20 / Ph. Eur. General Notices (rounding to the decimals
  of the limit, half up).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["PH_EUR", "PharmacopoeiaTolerances", "source_of"]

_SRC_295 = "Ph. Eur. 2.9.5, Table 2.9.5.-1"
_SRC_2940 = "Ph. Eur. 2.9.40 / USP <905> (harmonised, ICH Q4B Annex 6)"


def _limit(value: str, source: str) -> Any:
    return dataclasses.field(default=Decimal(value), metadata={"source": source})


def _count(value: int, source: str) -> Any:
    return dataclasses.field(default=value, metadata={"source": source})


@dataclass(frozen=True)
class PharmacopoeiaTolerances:
    """Limits of Ph. Eur. 2.9.5 and 2.9.40 (units in the field names)."""

    # --- Ph. Eur. 2.9.5 -------------------------------------------------------------
    mass_units_required: int = _count(20, "Ph. Eur. 2.9.5: 'Weigh individually 20 units'")
    mass_max_units_outside_limit: int = _count(2, "Ph. Eur. 2.9.5: 'Not more than 2'")
    mass_max_units_outside_twice_limit: int = _count(
        0, "Ph. Eur. 2.9.5: 'none deviates by more than twice that percentage'"
    )
    tablet_small_max_mg: Decimal = _limit("80", _SRC_295 + ": tablets '80 mg or less'")
    tablet_small_limit_pct: Decimal = _limit("10", _SRC_295 + ": tablets <= 80 mg")
    tablet_medium_limit_pct: Decimal = _limit(
        "7.5", _SRC_295 + ": tablets 'more than 80 mg and less than 250 mg'"
    )
    tablet_large_min_mg: Decimal = _limit("250", _SRC_295 + ": tablets '250 mg or more'")
    tablet_large_limit_pct: Decimal = _limit("5", _SRC_295 + ": tablets >= 250 mg")
    capsule_large_min_mg: Decimal = _limit("300", _SRC_295 + ": capsules '300 mg or more'")
    capsule_small_limit_pct: Decimal = _limit("10", _SRC_295 + ": capsules < 300 mg")
    capsule_large_limit_pct: Decimal = _limit("7.5", _SRC_295 + ": capsules >= 300 mg")
    gn_average_band_dp: int = _count(
        0, "Ph. Eur. General Notices reading of 2.9.5: average rounded to whole mg for the band"
    )

    # --- Ph. Eur. 2.9.40 / USP <905> -----------------------------------------------
    av_stage1_n: int = _count(10, _SRC_2940 + ": stage 1, 10 units")
    av_stage2_n: int = _count(30, _SRC_2940 + ": stage 2, the 10 + 20 more units")
    av_stage1_k: Decimal = _limit("2.4", _SRC_2940 + ": k = 2.4 if n = 10")
    av_stage2_k: Decimal = _limit("2.0", _SRC_2940 + ": k = 2.0 if n = 30")
    av_l1: Decimal = _limit("15.0", _SRC_2940 + ": L1 = 15.0 at both stages (USP FAQ Q2)")
    av_l2_pct: Decimal = _limit("25.0", _SRC_2940 + ": L2 = 25.0, units within (1 -/+ 0.01 L2) M")
    av_m_low_pct: Decimal = _limit("98.5", _SRC_2940 + ": reference value M, lower bound 98.5")
    av_m_high_pct: Decimal = _limit("101.5", _SRC_2940 + ": reference value M, case 1 T <= 101.5")
    av_reported_dp: int = _count(
        1, "USP General Notices 7.20 / Ph. Eur. GN: AV rounded half-up to the decimals of L1"
    )
    mv_min_unit_content_mg: Decimal = _limit(
        "25", _SRC_2940 + ", Table 2.9.40.-1: mass variation only if >= 25 mg drug per unit"
    )
    mv_min_drug_fraction: Decimal = _limit(
        "0.25", _SRC_2940 + ", Table 2.9.40.-1: mass variation only if drug >= 25 % (w/w)"
    )


#: The limits printpharm applies (Ph. Eur. defaults, no monograph overrides).
PH_EUR = PharmacopoeiaTolerances()


def source_of(name: str) -> str:
    """Return the cited source of the tolerance field ``name``.

    Raises
    ------
    KeyError
        If ``name`` is not a field of :class:`PharmacopoeiaTolerances`.
    """
    for f in dataclasses.fields(PharmacopoeiaTolerances):
        if f.name == name:
            return str(f.metadata["source"])
    raise KeyError(f"no tolerance named {name!r}")
