"""A calibration's weighting (migration 0011): stored, hashed, frozen; old rows unweighted."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from printpharm.errors import RecordError
from printpharm.storage.calibrations import CalibrationRow, calibrations
from printpharm.storage.canonical import canonical_json, sha256_hex
from printpharm.storage.db import Database, _alembic_config
from printpharm.storage.repositories import unit_of_work
from tests.storage._dbs import BACKENDS, DbSpec, make_context, new_spec
from tests.storage.test_calibrations import AT, _draft, _seed


def test_a_weighted_version_binds_its_weighting_and_an_unweighted_one_hashes_as_before(
    db: Database,
) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        weighted = calibrations(uow).add(_draft(weighting="relative"), "sup1", AT)
        plain = calibrations(uow).add(_draft(), "sup1", AT)
    with unit_of_work(db, make_context(), write=False) as uow:
        weighted, plain = calibrations(uow).get(1), calibrations(uow).get(2)  # type: ignore[assignment]
    assert weighted is not None and plain is not None
    assert (weighted.weighting, plain.weighting) == ("relative", "unweighted")
    assert weighted.content()["weighting"] == "relative" and "weighting" not in plain.content()
    assert weighted.intact() and plain.intact()
    assert weighted.content_sha256 != plain.content_sha256  # same points, other fit
    # the hash of an unweighted version is the one its content had before 0011
    before = {k: v for k, v in plain.content().items() if k != "weighting"}
    assert plain.content_sha256 == sha256_hex(canonical_json(before))
    # a weighting changed behind the record no longer matches the hash it was signed with
    assert not dataclasses.replace(weighted, weighting="unweighted").intact()
    assert not dataclasses.replace(plain, weighting="relative").intact()


def test_an_unknown_weighting_is_not_stored(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        with pytest.raises(RecordError, match="weighting 'huber' is unknown"):
            calibrations(uow).add(_draft(weighting="huber"), "sup1", AT)


def test_the_database_refuses_to_change_a_versions_weighting(db: Database) -> None:
    with unit_of_work(db, make_context()) as uow:
        _seed(uow)
        calibrations(uow).add(_draft(), "sup1", AT)
    with pytest.raises(DBAPIError, match="never changes"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE calibrations SET weighting = 'relative'")
    with pytest.raises(DBAPIError, match="never changes"):  # 0009's columns stay frozen
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE calibrations SET b_mg = '0.5'")


@pytest.fixture(params=BACKENDS)
def empty_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbSpec]:
    yield from new_spec(request.param, tmp_path)


def _insert_at_0010(database: Database) -> str:
    """A calibration stored by printpharm at 0010 (no weighting column); its SHA-256."""
    with unit_of_work(database, make_context()) as uow:
        _seed(uow)
    draft = _draft()
    values = {
        "version": 1, "ink_id": draft.ink_id, "ink_version": draft.ink_version,
        "printer_type": draft.printer_type, "a_mg_per_mm3": draft.a_mg_per_mm3,
        "b_mg": draft.b_mg, "n_points": len(draft.points), "r2": draft.r2,
        "residual_sd_mg": draft.residual_sd_mg, "v_min_mm3": draft.points[0][0],
        "v_max_mm3": draft.points[-1][0],
        "points_json": canonical_json([[v, m] for v, m in draft.points]),
        "context_json": canonical_json(draft.context),
        "content_sha256": sha256_hex(canonical_json(draft.content())), "status": "locked",
        "fitted_by": "sup1", "fitted_at": AT,
    }  # fmt: skip
    table = CalibrationRow.__table__
    columns = [c for c in table.c if c.name != "weighting"]  # type: ignore[attr-defined]
    old_table = sa.table("calibrations", *[sa.column(c.name, c.type) for c in columns])
    with database.engine.begin() as conn:
        conn.execute(sa.insert(old_table), [values])
    return str(values["content_sha256"])


def test_a_calibration_stored_before_0011_reads_unweighted_and_intact(empty_spec: DbSpec) -> None:
    database = empty_spec.open()
    try:
        database.upgrade("0010")
        sha = _insert_at_0010(database)
        database.upgrade()
        assert database.current_revision() == database.head_revision()
        with unit_of_work(database, make_context(), write=False) as uow:
            stored = calibrations(uow).get(1)
        assert stored is not None and stored.weighting == "unweighted"
        assert stored.content_sha256 == sha and stored.intact()
        with pytest.raises(DBAPIError, match="never changes"):
            with database.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE calibrations SET weighting = 'relative'")
        _downgrade(database, "0010")  # and back: the column goes, the version stays frozen
        with pytest.raises(DBAPIError, match="never changes"):
            with database.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE calibrations SET b_mg = '0.5'")
        with pytest.raises(DBAPIError, match="append-only"):
            with database.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM calibrations")
        with database.engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_columns("calibrations")}
        assert "weighting" not in names and "content_sha256" in names
    finally:
        database.dispose()


def _downgrade(database: Database, revision: str) -> None:
    from alembic import command

    with database.engine.connect() as conn:
        command.downgrade(_alembic_config(conn), revision)
        conn.commit()
