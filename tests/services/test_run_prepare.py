"""prepare_run: the planner's plate becomes a run request (targets, heaters, batch id)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import DesignSpaceError, InputError
from printpharm.services.run.prepare import new_batch_id, prepare_run


def test_a_planned_plate_becomes_a_run_request(catalog: Catalog) -> None:
    prepared = prepare_run(catalog, "cpm-chewable-disc", Decimal(10), 3, dose_record={"rule": "x"})
    request = prepared.request
    assert [u.n for u in request.program.units] == [1, 2, 3]
    assert request.program.targets_mg == (Decimal("200.0000"),) * 3  # 10 mg at 50 mg/g
    assert prepared.plan.target_mass_mg == pytest.approx(200.0)
    assert (request.nozzle_c, request.bed_c) == (Decimal(40), Decimal(25))
    assert request.recipe_sha256 == catalog.file_sha256("recipe", "cpm-chewable-disc")
    assert request.dose_record == {"rule": "x"}
    assert request.batch_id is not None and request.batch_id.startswith("cpm-chewable-disc-")
    assert any(line.startswith("G28") for line in request.program.preamble)


def test_batch_ids_are_readable_and_unique() -> None:
    moment = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)
    first, second = new_batch_id("r", moment), new_batch_id("r", moment)
    assert re.fullmatch(r"r-20261122T030405Z-[0-9a-f]{6}", first)
    assert first != second


def test_no_units_or_a_dose_outside_the_design_space_is_refused(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="at least 1 unit"):
        prepare_run(catalog, "cpm-chewable-disc", Decimal(10), 0)
    with pytest.raises(DesignSpaceError, match="outside the validated range"):
        prepare_run(catalog, "cpm-chewable-disc", Decimal(41), 1)
