"""A weight-band edge no patient can reach is a unit slip, refused like a weight (rvdose).

'<=10000:5; >10000:10' (a 10 kg edge typed in grams) gave every child up to 300 kg the
lower band's 5 mg: a 15 kg child, prescribed 10 mg, got half.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from printpharm.cli import main
from printpharm.core.dose_rules import parse_band_table
from printpharm.core.prescription import DEFAULT_LIMITS
from printpharm.errors import DoseInputError


@pytest.mark.parametrize(
    "table",
    [("<=10000:5", ">10000:10"), ("<10000:5", "*:10"), ("<=10:2", "<=20000:5", ">20000:10")],
)
def test_an_edge_in_grams_is_refused_with_the_hint(table: tuple[str, ...]) -> None:
    with pytest.raises(DoseInputError, match=r"above the limit of 300 kg.*did you enter grams"):
        parse_band_table(table)


def test_an_edge_above_the_weight_limit_is_refused() -> None:
    with pytest.raises(DoseInputError, match=r"band '<=400:5' .*400 kg.*limit of 300 kg"):
        parse_band_table(("<=400:5", ">400:10"))


def test_edges_up_to_the_weight_limit_are_accepted() -> None:
    table = parse_band_table(("<=20:10", "<=300:20", ">300:30"))
    assert [b.upper_kg for b in table] == [Decimal(20), DEFAULT_LIMITS.max_weight_kg, None]


def test_the_command_line_refuses_it(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["dose", "--rule", "band", "--band", "<=10000:5", "--band", ">10000:10",
            "--weight-kg", "15"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "10000 kg" in err and "did you enter grams" in err and err.count("\n") == 1
