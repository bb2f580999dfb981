"""The dosage forms printpharm sizes and prints: one registry, read everywhere.

A recipe names its form in ``[form] template = ...``. Everything that depends on the
form reads :data:`FORMS`:

* the catalog accepts exactly these templates (:data:`TemplateName`), asks for their
  :attr:`DosageForm.dimensions` in ``[form]`` / ``[form.bounds]`` and lets a recipe
  use only the sizing :attr:`DosageForm.strategies` that apply to the form;
* planning (``services/run/planning.py``) builds the sizing spec from the form's
  geometry (``geometry/tablet.py``), one builder per template.

To add a dosage form: a row here (its name in :data:`TemplateName` too), its solid
in ``geometry/tablet.py`` (a :class:`~printpharm.geometry.tablet.Form`) and its
builder in ``services/run/planning.py``; ``tests/core/test_forms.py`` checks that
each registered form has both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FORMS", "STRATEGY_SOLVES", "DosageForm", "Strategy", "TemplateName"]

TemplateName = Literal["disc", "caplet", "ring", "minitablet", "capsule_fill"]
Strategy = Literal[
    "fixed_diameter_solve_height",
    "fixed_footprint_solve_height",
    "uniform_scale",
    "solve_fill_fraction",
]

#: The dimension each sizing strategy solves for (it must be bounded in ``[form.bounds]``).
STRATEGY_SOLVES: dict[str, str] = {
    "fixed_diameter_solve_height": "height",
    "fixed_footprint_solve_height": "height",
    "uniform_scale": "height",
    "solve_fill_fraction": "fill_fraction",
}


@dataclass(frozen=True)
class DosageForm:
    """One dosage form.

    Attributes
    ----------
    name
        The recipe's ``[form] template``.
    label
        What a person calls it.
    dimensions
        Its dimensions, fixed or bounded in ``[form]`` / ``[form.bounds]``: lengths in
        mm, ``*_ratio`` a ratio, ``fill_fraction`` a fraction.
    strategies
        The sizing strategies that apply to it.
    """

    name: TemplateName
    label: str
    dimensions: tuple[str, ...]
    strategies: tuple[Strategy, ...]


_HEIGHT_OF_A_ROUND_FORM: tuple[Strategy, ...] = ("fixed_diameter_solve_height", "uniform_scale")
_HEIGHT_OF_A_FOOTPRINT: tuple[Strategy, ...] = ("fixed_footprint_solve_height", "uniform_scale")

FORMS: dict[str, DosageForm] = {
    f.name: f
    for f in (
        DosageForm("disc", "disc tablet", ("diameter", "height"), _HEIGHT_OF_A_ROUND_FORM),
        DosageForm(
            "caplet", "caplet", ("width", "length_width_ratio", "height"), _HEIGHT_OF_A_FOOTPRINT
        ),
        DosageForm(
            "ring",
            "ring tablet",
            ("outer_diameter", "inner_outer_ratio", "height"),
            _HEIGHT_OF_A_FOOTPRINT,
        ),
        DosageForm("minitablet", "mini-tablets", ("diameter", "height"), _HEIGHT_OF_A_ROUND_FORM),
        DosageForm("capsule_fill", "capsule fill", ("fill_fraction",), ("solve_fill_fraction",)),
    )
}
