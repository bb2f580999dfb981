"""The JSON-file recorder: one fsync'ed line per event, never overwrites, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.errors import RecordError
from printpharm.services.run.loop import run_batch
from printpharm.services.run.recording import (
    BatchRecorder,
    FanoutRecorder,
    JsonFileRecorder,
    MemoryRecorder,
    NullRecorder,
)
from printpharm.services.run.result import BatchHeader, UnitRecord
from tests.services.conftest import make_request, options

HEADER = BatchHeader(
    batch_id="b-1",
    recipe={"id": "r"},
    dose={"dose_mg": Decimal("10.5")},
    printer={"port": "sim://printer"},
    balance={"port": "sim://balance"},
    preflight=(),
    units_planned=2,
    started_at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
)


def test_every_recorder_fits_the_protocol(tmp_path: Path) -> None:
    for recorder in (NullRecorder(), MemoryRecorder(), JsonFileRecorder(tmp_path)):
        assert isinstance(recorder, BatchRecorder)


def test_each_event_is_on_disk_as_soon_as_it_is_recorded(tmp_path: Path) -> None:
    recorder = JsonFileRecorder(tmp_path / "records")
    recorder.batch_started(HEADER)
    unit = UnitRecord(
        1,
        Decimal(200),
        Decimal("200.13"),
        Decimal("0.065"),
        "pass",
        Decimal("7.5"),
        Decimal(100),
        raw_reading="S S     0.20013 g",
    )
    recorder.unit_weighed("b-1", unit)
    lines = (tmp_path / "records" / "b-1.events.jsonl").read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "batch_started" and first["data"]["dose"]["dose_mg"] == 10.5
    assert second["data"]["raw_reading"] == "S S     0.20013 g"
    assert second["data"]["measured_mg"] == 200.13


def test_an_existing_batch_record_is_never_overwritten(tmp_path: Path) -> None:
    JsonFileRecorder(tmp_path).batch_started(HEADER)
    with pytest.raises(RecordError, match="never overwritten"):
        JsonFileRecorder(tmp_path).batch_started(HEADER)


def test_recording_before_the_batch_started_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="before batch_started"):
        JsonFileRecorder(tmp_path).alarm("b-1", None)  # type: ignore[arg-type]


def test_an_unwritable_directory_is_a_record_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RecordError, match="cannot create"):
        JsonFileRecorder(blocker / "sub").batch_started(HEADER)


def test_a_fanout_passes_every_record_to_each_recorder_in_order(
    catalog: Catalog, sim_devices: Any, tmp_path: Path
) -> None:
    request = make_request(catalog, units=2)
    memory = MemoryRecorder()
    result = run_batch(
        request,
        sim_devices(request, bias=0.06),
        recorder=FanoutRecorder(memory, JsonFileRecorder(tmp_path)),
        options=options(),
    )
    expected = ["batch_started", "unit_weighed", "correction", "unit_weighed", "finished"]
    assert memory.kinds() == expected
    lines = (tmp_path / f"{result.batch_id}.events.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == memory.kinds()
    assert isinstance(FanoutRecorder(), BatchRecorder)
