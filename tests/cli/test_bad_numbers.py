"""Issue 10, "Also": typed numbers are read by one parser, and masses in grams are caught.

``1e308`` as an amount or a mass exited 3 ("internal error"); ``1_8`` was read as 18;
masses typed in grams were judged against the ≤ 80 mg band of 2.9.5 without a word.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.cli import main
from printpharm.core.units import MAX_TYPED_MAGNITUDE, parse_decimal, parse_integer
from printpharm.errors import InputError, UniformityInputError
from printpharm.services.station.workstation import DoseForm, build_workstation

TWENTY_MG = ["250.1", "249.8", "251.0", "248.7", "250.4"] * 4  # 20 units, mean 250 mg
TWENTY_G = [str(Decimal(m).scaleb(-3)) for m in TWENTY_MG]  # the same units in grams


def _one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1
    return err


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["dose", "--rule", "fixed", "--amount", "1e308"], "exponent notation"),
        (["dose", "--rule", "per-kg", "--amount", "1", "--weight-kg", "1e308"], "exponent"),
        (["dose", "--rule", "fixed", "--amount", "1" + "0" * 308], "not a plausible quantity"),
        (["qc", "mass", "--mass-mg", "1e308", *TWENTY_MG[1:]], "exponent notation"),
        (["qc", "av-mass", "--assay-pct", "1e308", "--mass-mg", *TWENTY_MG[:10]], "exponent"),
        (["dose", "--rule", "fixed", "--amount", "1_8"], "digit separators"),
        (["dose", "--rule", "per-kg", "--amount", "1", "--weight-kg", "1_8"], "digit separ"),
        (["qc", "mass", "--mass-mg", "2_50", *TWENTY_MG[1:]], "digit separators"),
        (["dose", "--rule", "fixed", "--amount", "12", "--doses-per-day", "1_2",
          "--step-mg", "1"], "digit separators"),
        (["plan", "--recipe", "cpm-chewable-disc", "--dose-mg", "10", "--units", "1_8",
          "--out", "x.gcode"], "--units = '1_8' is not a whole number"),
    ],
)  # fmt: skip
def test_exponents_separators_and_huge_numbers_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], argv: list[str], why: str
) -> None:
    err = _one_error_line(capsys, argv)
    assert why in err and "internal error" not in err


def test_option_types_use_the_same_parser(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "show", "--limit", "1_0", "--json"])
    assert code == 2
    assert "digit separators" in capsys.readouterr().err


def test_masses_in_grams_are_refused_with_the_reason_unless_the_unit_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    err = _one_error_line(capsys, ["qc", "mass", "--mass-mg", *TWENTY_G])
    assert "were they weighed in grams (0.2501 g = 250.1 mg)" in err
    assert "--mass-unit g" in err
    assert main(["qc", "mass", "--mass-mg", *TWENTY_MG, "--json"]) == 0
    in_mg = json.loads(capsys.readouterr().out)
    assert main(["qc", "mass", "--mass-mg", *TWENTY_G, "--mass-unit", "g", "--json"]) == 0
    in_g = json.loads(capsys.readouterr().out)
    assert in_g == in_mg and in_mg["limit_pct"] == 5.0  # the ≥ 250 mg band, not the 10 % one
    file = tmp_path / "masses.txt"
    file.write_text("\n".join(TWENTY_G) + "\n", encoding="utf-8")
    err = _one_error_line(capsys, ["qc", "mass", "--file", str(file)])
    assert "were they weighed in grams" in err


def test_the_desktop_forms_read_numbers_with_the_same_parser() -> None:
    ws = build_workstation()
    form = DoseForm(patient_id="P-001", prescriber="Dr A", rule="fixed", amount="1_8",
                    recipe_id="cpm-chewable-disc", units=20)  # fmt: skip
    assert "digit separators" in ws.preview_dose(form).errors["amount"]
    form = DoseForm(patient_id="P-001", prescriber="Dr A", rule="per_kg", amount="1",
                    weight_kg="1e308", recipe_id="cpm-chewable-disc", units=20)  # fmt: skip
    assert "exponent notation" in ws.preview_dose(form).errors["weight_kg"]
    with pytest.raises(UniformityInputError, match="were they weighed in grams"):
        ws.preview_qc("\n".join(TWENTY_G), "250", "7.5", "5")
    assert ws.preview_qc("\n".join(TWENTY_MG), "250", "7.5", "5").mass_2_9_5 is not None


@pytest.mark.parametrize(
    ("text", "value"), [("12.5", Decimal("12.5")), (" -3 ", Decimal(-3)), (".5", Decimal("0.5"))]
)
def test_plain_decimals_are_read_exactly(text: str, value: Decimal) -> None:
    assert parse_decimal(text, "x") == value


@pytest.mark.parametrize(
    ("text", "why"),
    [("1_8", "digit separators"), ("1e3", "exponent"), ("1,5", "decimal point"),
     ("١٢", "is not a number"), ("NaN", "not a finite number"), ("12 mg", "is not a number")],
)  # fmt: skip
def test_anything_else_is_refused_naming_why(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        parse_decimal(text, "x")


def test_the_magnitude_limit_is_exclusive_and_integers_refuse_decimals() -> None:
    below = str(MAX_TYPED_MAGNITUDE - 1)
    assert parse_decimal(below, "x") == MAX_TYPED_MAGNITUDE - 1
    with pytest.raises(InputError, match="not a plausible quantity"):
        parse_decimal(str(MAX_TYPED_MAGNITUDE), "x")
    assert parse_integer("20", "units") == 20
    with pytest.raises(InputError, match="no decimals"):
        parse_integer("2.0", "units")
