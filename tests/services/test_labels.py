"""Patient labels: content, beyond-use date, NOT FOR PATIENT USE, DataMatrix decoded back, ZPL."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import InputError, PermissionDenied, RecordError
from printpharm.services.control.print_authority import begin_recorded_run
from printpharm.services.records.content_uniformity import CuService
from printpharm.services.records.export import build_view
from printpharm.services.records.labels import (
    CYTOTOXIC_WARNING,
    dispensable_units,
    label_content,
    print_label,
)
from printpharm.services.run.loop import run_batch
from tests.services._equipment_fixtures import CLEARED, train_operator
from tests.services._label_decode import decode_label_pdf
from tests.services._records_fixtures import (
    Env,
    build_env,
    clock,
    db,
    db_spec,
    env,
    sqlite_template,
)
from tests.services.conftest import RUN_DAY, make_request

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]


def _batch(
    env: Env, catalog: Catalog, sim_devices: Any, tech: Any, batch_id: str, units: int = 3
) -> str:
    request = dataclasses.replace(make_request(catalog, units=units), batch_id=batch_id)
    recorded = begin_recorded_run(env.auth, tech, request, clearance=CLEARED)
    devices = sim_devices(request)
    run_options = recorded.options(today=RUN_DAY, lines_per_check=5, connect_timeout_s=5.0)
    run_batch(request, devices, recorder=recorded.recorder, options=run_options)
    return batch_id


@pytest.fixture
def printed(env: Env, catalog: Catalog, sim_devices: Any) -> tuple[Any, str]:
    """A technician trained on the CPM recipe and a completed batch on the simulators."""
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    train_operator(env, "tech1")
    return tech, _batch(env, catalog, sim_devices, tech, "cpm-chewable-disc-20261203T0821Z-0a1b2c")


def test_a_pdf_label_carries_patient_dose_bud_warnings_and_a_gs1_datamatrix(
    env: Env, printed: tuple[Any, str], tmp_path: Path
) -> None:
    tech, batch_id = printed
    out = tmp_path / "label.pdf"
    result = print_label(env.auth, tech, batch_id, "pdf", out, "Chew one disc once daily",
                         patient="P-7731")  # fmt: skip
    c = result.content
    printed_on = env.clock().date()
    assert c.beyond_use.date == printed_on + timedelta(days=14)  # recipe stability, before expiry
    assert c.drug_line == "Cyclophosphamide 10 mg per unit" and c.units == 3
    assert c.banner == "NOT FOR PATIENT USE"  # weighed on the simulated balance: training only
    assert CYTOTOXIC_WARNING in c.warnings
    pdf = out.read_bytes()
    shown = " ".join(t.decode("latin-1") for t in re.findall(rb"\((.*?)\) Tj", pdf))
    shown = shown.replace("\\(", "(").replace("\\)", ")")
    for text in ("NOT FOR PATIENT USE", "Patient: P-7731", "Cyclophosphamide 10 mg per unit",
                 f"Use before (beyond-use date): {c.beyond_use.date}", "3 units",
                 "Directions: Chew one disc once daily", "CYTOTOXIC: wear gloves"):  # fmt: skip
        assert text in shown, (text, shown)
    decoded, symbology = decode_label_pdf(pdf)
    assert symbology == "]d2"  # GS1 DataMatrix: FNC1 in first position
    bud = c.beyond_use.date.strftime("%y%m%d")
    assert decoded == f"(17){bud}(10){batch_id[-20:]}(91){batch_id}"
    (event,) = env.events(batch_id=batch_id, action="label")
    assert event.new()["sha256"] == result.sha256 and event.new()["gs1"] == decoded
    with pytest.raises(RecordError, match="never overwrite"):
        print_label(env.auth, tech, batch_id, "pdf", out, "Chew one", patient="P-7731")


def test_a_zpl_label_uses_the_printers_own_gs1_datamatrix(
    env: Env, printed: tuple[Any, str], tmp_path: Path
) -> None:
    tech, batch_id = printed
    out = tmp_path / "label.zpl"
    result = print_label(env.auth, tech, batch_id, "zpl", out, "Chew one disc once daily",
                         patient="P-7731", width_mm=102)  # fmt: skip
    zpl = out.read_text(encoding="utf-8")
    assert zpl.startswith("^XA\n^CI28\n^PW816\n^LL608") and zpl.rstrip().endswith("^XZ")
    bud = result.content.beyond_use.date.strftime("%y%m%d")
    assert f"^BXN,4,200,,,,_^FD_117{bud}10{batch_id[-20:]}_191{batch_id}^FS" in zpl
    assert "^FH\\^FDNOT FOR PATIENT USE^FS" in zpl


def test_the_label_counts_only_the_units_left_to_dispense(
    env: Env, catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    """10 of 12 units taken for the 2.9.40 assay (destroyed) leave 2 for the patient: the
    label said 12 units. A unit outside its tolerance is not dispensed either."""
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    train_operator(env, "tech1")
    batch_id = _batch(env, catalog, sim_devices, tech, "cpm-chewable-disc-20261203T0822Z-0c1d2e",
                      units=12)  # fmt: skip
    sample = CuService(env.auth).select(tech, batch_id)  # 10 mg at 5 % w/w: CU is needed
    assert len(sample.units) == 10
    result = print_label(env.auth, tech, batch_id, "pdf", tmp_path / "a.pdf", "Chew one daily",
                         patient="P-7731")  # fmt: skip
    assert result.content.units == 2
    assert result.content.units_note == "2 of 12 weighed: 10 taken for the content-uniformity assay"
    (event,) = env.events(batch_id=batch_id, action="label")
    assert event.new()["units"] == 2
    with env.auth.uow(write=False) as uow:
        view = build_view(uow, batch_id, "insp")
    kept = next(u for u in view.units if u.reading.unit_index not in sample.units)
    failing = tuple(dataclasses.replace(u, verdict="fail") if u is kept else u for u in view.units)
    assert dispensable_units(dataclasses.replace(view, units=failing)) == (
        1, "1 of 12 weighed: 10 taken for the content-uniformity assay, 1 outside the unit "
        "tolerance",
    )  # fmt: skip
    every = tuple(dataclasses.replace(u, verdict="fail") for u in view.units)
    row = view.batch
    with pytest.raises(InputError, match="no unit left to dispense"):
        label_content(row, view.events, (True, ""), "Chew one", "P-1",
                      dispensable_units(dataclasses.replace(view, units=every)))  # fmt: skip


def test_a_label_needs_directions_a_patient_and_a_completed_batch(
    env: Env, printed: tuple[Any, str], tmp_path: Path
) -> None:
    tech, batch_id = printed
    with pytest.raises(InputError, match="needs the directions"):
        print_label(env.auth, tech, batch_id, "pdf", tmp_path / "a.pdf", " ", patient="P-1")
    with pytest.raises(InputError, match="patient pseudonym"):
        print_label(env.auth, tech, batch_id, "pdf", tmp_path / "b.pdf", "Chew one")
    _, insp = env.make_user("insp1", "inspector")
    with pytest.raises(PermissionDenied):
        print_label(env.auth, insp, batch_id, "pdf", tmp_path / "c.pdf", "Chew one", "P-1")
    with env.auth.uow() as uow:
        uow.batches.set_status(batch_id, "rejected", "test")
    with pytest.raises(InputError, match="is rejected: only a completed or released batch"):
        print_label(env.auth, tech, batch_id, "pdf", tmp_path / "d.pdf", "Chew one", "P-1")


def test_the_beyond_use_date_counts_from_the_local_day_the_batch_was_printed(
    db: Any, clock: Any, catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    # 00:30 UTC on 29 March is 19:30 on 28 March in New York (EST, UTC−5): the units were
    # printed on the 28th. Before, the label counted from the UTC day, the 29th: a
    # beyond-use date one day later than the stability study allows.
    est = timezone(timedelta(hours=-5), "EST")
    env = build_env(db, clock, zone=est)
    _, tech = env.make_user("tech1", "technician", "Tess Tech")
    train_operator(env, "tech1")
    batch_id = _batch(env, catalog, sim_devices, tech, "cpm-chewable-disc-20260329T0030Z-e5t")
    assert clock().date() == date(2026, 3, 29)
    result = print_label(env.auth, tech, batch_id, "zpl", tmp_path / "l.zpl", "Chew one",
                         patient="P-7731")  # fmt: skip
    assert result.content.beyond_use.date == date(2026, 3, 28) + timedelta(days=14)
    assert result.content.beyond_use.basis == "printed 2026-03-28 + 14 days of recipe stability"
