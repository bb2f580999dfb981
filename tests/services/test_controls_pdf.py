"""The batch record's controls section names what the cleaning followed: a batch or a series."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from printpharm.services.records._controls_pdf import controls_section
from printpharm.services.records._pdf_parts import _fonts


def _cleaning_row(cleaning: dict[str, Any]) -> str:
    _fonts()  # as every PDF export registers them first
    view = SimpleNamespace(batch=SimpleNamespace(details={"controls": {"cleaning": cleaning}}))
    _, table = controls_section(view)  # type: ignore[arg-type]
    rows = {str(_text(k)): str(_text(v)) for k, v in table._cellvalues}
    return rows["Cleaning"]


def _text(cell: Any) -> str:
    return str(getattr(cell, "text", cell))


CLEANED = {"cleaned_at": "2026-12-03 10:00", "cleaned_by": "tech1", "method_sop": "SOP-CYTO-2",
           "parts": "nozzle", "checked_by": "sup2"}  # fmt: skip


@pytest.mark.parametrize(
    ("after", "shown"),
    [
        ({"after_batch": "B-1"}, "(after batch B-1)"),
        (
            {"after_calibration": "calibration series of cyclophosphamide-sse-chewable"},
            "(after calibration series of cyclophosphamide-sse-chewable)",
        ),
    ],
)
def test_the_cleaning_row_names_the_use_it_followed(after: dict[str, str], shown: str) -> None:
    row = _cleaning_row({**CLEANED, **after})
    assert row.endswith(shown) and "checked by sup2" in row and "batch None" not in row


def test_no_cleaning_needed_says_so() -> None:
    assert _cleaning_row({}) == "— (no earlier use needed one)"
