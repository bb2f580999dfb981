"""Issue 13: long names, reasons and IDs are refused or echoed cut, on both back-ends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from printpharm.catalog import Catalog
from printpharm.core.text import shown
from printpharm.devices.printer import PrinterLink
from printpharm.errors import InputError, PreflightError, RecordError
from printpharm.services.records.batches import BatchRecordsService
from printpharm.services.records.content_uniformity import CuService
from printpharm.services.records.export import BatchExportService
from printpharm.services.run.alarm_acks import AlarmAcknowledgements
from printpharm.services.run.db_recorder import DatabaseRecorder
from printpharm.services.run.loop import run_batch
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template
from tests.services.conftest import FAST_LINK, make_request, options

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

HUGE = 10_000


def test_shown_quotes_a_long_value_cut_with_its_length() -> None:
    assert shown("Tess Tech") == "'Tess Tech'"
    text = shown("N" * HUGE)
    assert text == f"'{'N' * 64}…' ({HUGE} characters)"


def test_a_full_name_of_ten_thousand_characters_is_refused_and_not_echoed(env: Env) -> None:
    assert env.admin is not None
    with pytest.raises(InputError) as refused:
        env.accounts.add_user(env.admin, "tess", "N" * HUGE, "technician")
    message = str(refused.value)
    assert "longer than 200 characters" in message and len(message) < 200
    assert f"({HUGE} characters)" in message
    assert [u.user_id for u in env.accounts.list_users(env.admin)] == ["admin"]


def test_long_ids_are_echoed_cut(env: Env) -> None:
    assert env.admin is not None
    with pytest.raises(InputError) as refused:
        env.accounts.add_user(env.admin, "u" * HUGE, "Tess Tech", "technician")
    assert len(str(refused.value)) < 200 and "must be 2-64" in str(refused.value)
    with pytest.raises(RecordError) as missing:
        BatchRecordsService(env.auth, env.records).get(env.admin, "B" * HUGE)
    assert len(str(missing.value)) < 200 and str(missing.value).endswith("does not exist")


def test_every_service_that_reads_one_batch_says_the_same_about_an_unknown_one(env: Env) -> None:
    """One rule (storage's ``BatchRepository.require``): named, cut, the same words."""
    admin = env.admin
    assert admin is not None
    reads = {
        "records": lambda b: BatchRecordsService(env.auth, env.records).get(admin, b),
        "export": lambda b: BatchExportService(env.auth, env.db).view(admin, b),
        "content uniformity": lambda b: CuService(env.auth).status(admin, b),
        "alarms": lambda b: AlarmAcknowledgements(env.auth).alarms(admin, b),
    }
    messages = {}
    for name, read in reads.items():
        with pytest.raises(RecordError) as missing:
            read("B" * HUGE)
        messages[name] = str(missing.value)
    expected = f"batch {shown('B' * HUGE)} does not exist"
    assert messages == dict.fromkeys(reads, expected)


class _StallingTransport:
    """The simulator's transport, but after ``after`` lines the firmware acknowledges
    nothing more and reports busy for ever (a firmware that never answers)."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.sent = inner, after, 0
        self.name = inner.name

    def write(self, data: bytes) -> None:
        self.sent += data.count(b"\n")
        self.inner.write(data)

    def readline(self, timeout_s: float) -> bytes | None:
        line = self.inner.readline(timeout_s)
        if self.sent <= self.after:
            return line
        if line is not None and line.startswith(b"ok"):
            return b"echo:busy: processing"
        return line if line is not None else b"echo:busy: processing"

    def close(self) -> None:
        self.inner.close()


def test_a_printer_that_never_answers_ends_the_batch_interrupted_and_closed(
    env: Env, catalog: Catalog, sim_devices: Any
) -> None:
    _, tech = env.make_user("tech1", "technician")
    request = make_request(catalog, units=4)
    devices = sim_devices(request)
    stalling = _StallingTransport(devices.printer.transport, after=45)  # inside unit 3
    options_ = dataclasses.replace(FAST_LINK, max_wait_s=0.5)
    devices = dataclasses.replace(devices, printer=PrinterLink(stalling, options_))
    result = run_batch(
        request, devices, recorder=DatabaseRecorder(env.auth, tech), options=options()
    )
    assert result.status == "interrupted"
    (alarm,) = result.alarms
    assert "not acknowledged within 0.5 s" in alarm.message
    with env.auth.uow(write=False) as uow:
        row = uow.batches.get(result.batch_id)
    assert row is not None and row.status == "interrupted"  # not left "printing"
    assert [u.unit_index for u in row.units] == [1, 2]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("G1 X260 Y20 E0.01 F600", "X260 mm is outside the bed"),
        ("M104 S90", "nozzle temperature 90 °C is above the printer's maximum 70 °C"),
        ("G1 X30 Y20 E2500 F600", "E move of 2500 (mm3) is beyond the sane bound of 1000"),
    ],
)
def test_the_run_refuses_a_program_beyond_the_printer_before_connecting(
    catalog: Catalog, sim_devices: Any, line: str, problem: str
) -> None:
    request = make_request(catalog, units=2)
    hostile = dataclasses.replace(
        request.program,
        units=(
            dataclasses.replace(
                request.program.units[0], lines=(*request.program.units[0].lines, line)
            ),
            *request.program.units[1:],
        ),
    )
    request = dataclasses.replace(request, program=hostile)
    devices = sim_devices(request)
    with pytest.raises(PreflightError, match="machine_limits") as refused:
        run_batch(request, devices, options=options())
    assert problem in str(refused.value)
    assert devices.printer.info is None  # refused before the printer was even greeted
