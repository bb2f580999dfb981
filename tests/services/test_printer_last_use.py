"""The cleaning rule's "last use" of a printer: the newer of its last batch and last series."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from printpharm.services.control.cleaning import last_use
from printpharm.storage.db import Database
from printpharm.storage.repositories import UserRecord, unit_of_work
from tests.storage._dbs import clock, db, db_spec, make_context, sqlite_template
from tests.storage.test_printer_uses import AT, _use

__all__ = ["clock", "db", "db_spec", "sqlite_template"]


def test_the_cleaning_rule_reads_the_newer_of_a_batch_and_a_series(db: Database) -> None:
    """A batch row and a series row are compared by time, whichever came last decides."""
    details = {"controls": {"product": {"api": "propranolol", "cytotoxic": False}}}
    with unit_of_work(db, make_context()) as uow:
        uow.users.add(UserRecord("tech1", "Tess", "technician", "$argon2id$x", AT, AT))
        printer = uow.equipment.add("printer", "uuid-1", "PR-01", AT)
        assert last_use(uow, printer) is None
        uow.batches.create("B-1", Decimal(5), 2, "tech1", AT + timedelta(minutes=10),
                           details=details, printer_id=printer)  # fmt: skip
        uow.printer_uses.add(_use(printer, 5, "cyclophosphamide", True))  # before the batch
    with unit_of_work(db, make_context(), write=False) as uow:
        first = last_use(uow, printer)
    assert first is not None and (first.what, first.api, first.cytotoxic) == (
        "batch B-1", "propranolol", False
    ) and first.details == {"after_batch": "B-1"}  # fmt: skip
    with unit_of_work(db, make_context()) as uow:
        uow.printer_uses.add(_use(printer, 20, "cyclophosphamide", True))  # after it
    with unit_of_work(db, make_context(), write=False) as uow:
        then = last_use(uow, printer)
    assert then is not None and (then.what, then.kind) == (
        "series at 20", "cyclophosphamide, cytotoxic"
    ) and then.details == {"after_calibration": "series at 20"}  # fmt: skip
