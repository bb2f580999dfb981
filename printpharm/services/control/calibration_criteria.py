"""The site's acceptance criteria of a calibration fit, as site settings ``calibration.*``.

Declared here (meaning, unit, default, limits) and registered with the other
site settings in :mod:`printpharm.services.control.site_settings`, where an
administrator changes them with a reason and a signature. Decimal settings are
stored as their exact text (``"0.995"``).
"""

from __future__ import annotations

from decimal import Decimal

from printpharm.core.calibration_checks import AcceptanceCriteria
from printpharm.storage.repositories import UnitOfWork

__all__ = ["CRITERIA_SETTINGS", "criteria_in_force"]

_D = AcceptanceCriteria()
#: key → (meaning, unit, default, low, high); a Decimal low makes a decimal setting.
CRITERIA_SETTINGS: dict[str, tuple[str, str, object, int | Decimal, int | Decimal]] = {
    "calibration.min_r2": (
        "smallest R² a calibration fit may have", "", f"{_D.min_r2}", Decimal("0.9"), Decimal(1)
    ),
    "calibration.max_residual_sd_pct": (
        "largest residual SD of a calibration fit, in % of the mean weighed mass (a "
        "1/m²-weighted fit: its relative residual SD, the discs' RSD about the line)", "%",
        f"{_D.max_residual_sd_pct}", Decimal("0.1"), Decimal(10),
    ),
    "calibration.min_points": (
        "fewest weighed discs a calibration fit may have", "points", _D.min_points, 3, 100
    ),
    "calibration.min_volume_ratio": (
        "smallest ratio of the largest to the smallest volume of a calibration series", "×",
        f"{_D.min_volume_ratio}", Decimal("1.5"), Decimal(100),
    ),
    "calibration.min_points_per_decade": (
        "fewest calibration points per decade of volume", "points", f"{_D.min_points_per_decade}",
        Decimal(1), Decimal(100),
    ),
}  # fmt: skip


def criteria_in_force(uow: UnitOfWork) -> AcceptanceCriteria:
    """The acceptance criteria from the stored site settings (defaults where unset)."""

    def value(key: str) -> object:
        stored = uow.settings.get(key)
        return CRITERIA_SETTINGS[key][2] if stored is None else stored.value

    return AcceptanceCriteria(
        min_r2=Decimal(str(value("calibration.min_r2"))),
        max_residual_sd_pct=Decimal(str(value("calibration.max_residual_sd_pct"))),
        min_points=int(str(value("calibration.min_points"))),
        min_volume_ratio=Decimal(str(value("calibration.min_volume_ratio"))),
        min_points_per_decade=Decimal(str(value("calibration.min_points_per_decade"))),
    )
