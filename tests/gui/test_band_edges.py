"""Issue 10, finding 2: a patient at a band edge gets the same dose from the CLI and the GUI.

Before, ``--band '<=20:10'`` was read as "< 20" by the command line, and the
new-batch form stripped ``<`` so that ``<20`` meant "≤ 20": at exactly 20 kg the
two front ends printed different doses. Both now read bands with
:func:`printpharm.core.dose_rules.parse_band_table`.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from printpharm.cli import main
from printpharm.gui.main_window import MainWindow

pytestmark = pytest.mark.gui

SILDENAFIL = ["dose", "--rule", "band", "--json"]


def _cli_dose(capsys: pytest.CaptureFixture[str], bands: list[str], weight: str) -> Decimal:
    argv = [*SILDENAFIL, *(f"--band={b}" for b in bands), "--weight-kg", weight]
    assert main(argv) == 0, capsys.readouterr().err
    return Decimal(str(json.loads(capsys.readouterr().out)["final_dose_mg"]))


def _gui_dose(window: MainWindow, bands: list[str], weight: str) -> Decimal:
    window.show_page("new_batch")
    page = window.new_batch
    page.rule.setCurrentIndex(page.rule.findData("weight_band"))
    page.drug.setCurrentIndex(page.drug.findData("sildenafil"))
    page.weight_kg.setText(weight)
    page.bands.setText("; ".join(bands))
    result = page.preview.result
    assert result is not None, page.preview.errors
    return result.final_dose_mg


@pytest.mark.parametrize(
    ("bands", "weight", "dose"),
    [
        (["<=20:10", "inf:20"], "20", 10),  # the CLI read this as "< 20" → 20 mg
        (["≤20:10", ">20:20"], "20.0", 10),
        (["≤20:10", ">20:20"], "20.01", 20),
        (["<20:10", ">=20:20"], "20", 20),  # the GUI read this as "≤ 20" → 10 mg
        (["<20:10", "≥20:20"], "19.99", 10),
    ],
)
def test_both_front_ends_give_the_same_dose_at_the_band_edge(
    qtbot, window: MainWindow, capsys: pytest.CaptureFixture[str], bands: list[str],  # type: ignore[no-untyped-def]
    weight: str, dose: int,
) -> None:  # fmt: skip
    assert _cli_dose(capsys, bands, weight) == dose
    assert _gui_dose(window, bands, weight) == dose


def test_an_ambiguous_band_is_refused_by_both_with_the_accepted_forms(
    qtbot,
    window: MainWindow,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    assert main([*SILDENAFIL, "--band", "20:10", "--band", "inf:20", "--weight-kg", "20"]) == 2
    cli_error = json.loads(capsys.readouterr().err)["error"]
    gui_error = _gui_refusal(window, ["20:10", "inf:20"])
    for message in (cli_error, gui_error):
        assert "band '20:10' is ambiguous (does 20 kg itself belong to this band?)" in message
        assert "'<=20:10' or '≤20:10'" in message and "'<20:10'" in message
    assert not window.new_batch.next_button.isEnabled()


def _gui_refusal(window: MainWindow, bands: list[str]) -> str:
    window.show_page("new_batch")
    page = window.new_batch
    page.rule.setCurrentIndex(page.rule.findData("weight_band"))
    page.weight_kg.setText("20")
    page.bands.setText("; ".join(bands))
    assert page.errors["bands"].isVisible()
    return page.errors["bands"].text()
