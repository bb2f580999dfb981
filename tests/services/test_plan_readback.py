"""The plan proves each unit's dose from the G-code it wrote: a corrupted unit is refused.

The writer is wrapped so that, after it has written a correct plate, one unit's
text is altered (as a writer bug would); ``plan_batch`` must read the altered
text back and refuse the plan. Every other unit stays right, so the check is
per unit, not on the plate's total.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.errors import SlicingError
from printpharm.services.run import planning
from printpharm.slicing.analysis import analyse_gcode

RECIPE, DOSE, UNITS, BAD = "propranolol-ring", Decimal(11), 20, 7  # 21 fit its 10 mL syringe
_E = re.compile(r" E(\d+\.\d+)")
_PRINTING_E = re.compile(r"^G1 X\S+ Y\S+ E(\d+\.\d+)", re.MULTILINE)
_PRIME_E = re.compile(r"^G1 E(\d+\.\d+) F", re.MULTILINE)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _unit_span(text: str, n: int) -> tuple[int, int]:
    start = text.index(f";PRINTPHARM UNIT_START n={n} ")
    return start, text.index(f";PRINTPHARM UNIT_END n={n}\n", start)


def _more(block: str, pattern: re.Pattern[str], plunger_mm: float = 0.05) -> str:
    """The first match's E + 0.05 mm of plunger (≈ 8 mm³ ≈ 2 % of the unit)."""
    match = pattern.search(block)
    assert match is not None
    decimals = len(match.group(1).split(".")[1])
    bigger = f"{float(match.group(1)) + plunger_mm:.{decimals}f}"
    return block[: match.start(1)] + bigger + block[match.end(1) :]


def _one_move_more(block: str) -> str:
    return _more(block, _PRINTING_E)


def _one_move_more_commented(block: str) -> str:
    """The same, on a line that also carries a comment (read line by line, not in a run)."""
    changed = _one_move_more(block)
    line_end = changed.index("\n", _PRINTING_E.search(changed).start())  # type: ignore[union-attr]
    return changed[:line_end] + " ; primed" + changed[line_end:]


def _every_move_one_percent_less(block: str) -> str:
    return _E.sub(lambda m: f" E{float(m.group(1)) * 0.99:.6f}", block)


CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "one move +0.05 mm": _one_move_more,
    "one commented move +0.05 mm": _one_move_more_commented,
    "every move -1 %": _every_move_one_percent_less,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS))
def test_a_unit_whose_written_e_is_off_is_refused(
    catalog: Catalog, corrupt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = planning.write_plate
    written: list[str] = []

    def corrupted(*args: Any, **kwargs: Any) -> str:
        text = write(*args, **kwargs)
        start, end = _unit_span(text, BAD)
        text = text[:start] + CORRUPTIONS[corrupt](text[start:end]) + text[end:]
        written.append(text)
        return text

    monkeypatch.setattr(planning, "write_plate", corrupted)
    with pytest.raises(SlicingError, match="deposits .* away from the .* target; the plan is"):
        planning.plan_batch(catalog, RECIPE, DOSE, UNITS)
    volumes = {n: s.volume_mm3 for n, s in analyse_gcode(written[0]).units.items()}
    good = [v for n, v in volumes.items() if n != BAD]
    assert max(good) - min(good) <= 1e-6 * min(good)  # only unit 7 differs
    assert abs(volumes[BAD] / good[0] - 1) > planning.DOSE_TOLERANCE_FRACTION


def test_the_same_plate_uncorrupted_is_accepted(catalog: Catalog) -> None:
    plan = planning.plan_batch(catalog, RECIPE, DOSE, UNITS)
    assert len(plan.unit_volumes_mm3) == UNITS
    assert plan.worst_volume_error_fraction <= planning.DOSE_TOLERANCE_FRACTION


def test_a_unit_whose_prime_exceeds_its_retraction_is_refused(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = planning.write_plate

    def corrupted(*args: Any, **kwargs: Any) -> str:
        text = write(*args, **kwargs)
        start, end = _unit_span(text, BAD)
        return text[:start] + _more(text[start:end], _PRIME_E) + text[end:]

    monkeypatch.setattr(planning, "write_plate", corrupted)
    with pytest.raises(SlicingError, match="the plan is refused"):
        planning.plan_batch(catalog, RECIPE, DOSE, UNITS)
