"""A new calibration fit on site is weighted 1/m̂² (relative noise), stored and recorded so."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.catalog import Catalog
from printpharm.core.calibration import fit_calibration
from printpharm.core.calibration_checks import exact
from printpharm.errors import CalibrationError
from printpharm.services.control.calibration import CalibrationService, FitRequest
from printpharm.services.records._batch_csv import calibration_text
from tests.services._lot_fixtures import INK, Team, lock_items, make_team
from tests.services._records_fixtures import Env, clock, db, db_spec, env, sqlite_template

__all__ = ["clock", "db", "db_spec", "env", "sqlite_template"]

PRINTER = "marlin-sse"
VOLUMES = (12, 12, 25, 25, 50, 50, 100, 100, 170, 170)
#: 1.19 mg/mm³ − 0.5 mg with ±1 % relative scatter (a paste's noise is an RSD)
POINTS = tuple(
    (Decimal(v), Decimal(str(round((1.19 * v - 0.5) * (1.01 if i % 2 else 0.99), 3))))
    for i, v in enumerate(VOLUMES)
)


@pytest.fixture
def team(env: Env, catalog: Catalog) -> Team:
    people = make_team(env)
    lock_items(env, people, catalog, ("ink", INK))
    return people


@pytest.fixture
def service(env: Env) -> CalibrationService:
    return CalibrationService(env.auth, env.records)


def test_a_new_fit_is_weighted_and_says_so_in_its_record_audit_and_plan(
    env: Env, team: Team, service: CalibrationService
) -> None:
    record = service.fit(team["sup1"][1], FitRequest(INK, PRINTER, POINTS))
    assert record.weighting == "relative" and record.intact()
    assert record.content()["weighting"] == "relative"
    line = service.show(team["insp"][1], record.version).line
    expected = fit_calibration([float(v) for v, _ in POINTS], [float(m) for _, m in POINTS],
                               weighting="relative")  # fmt: skip
    six = Decimal("0.000001")
    assert line == expected and record.r2 == exact(expected.r2 or 0).quantize(six, "ROUND_DOWN")
    (created,) = [e for e in env.events(record_type="calibration") if e.action == "create"]
    assert created.new()["fit"]["weighting"] == "relative"
    assert Decimal(created.new()["fit"]["residual_sd_rel"]) == exact(expected.residual_sd_rel or 0)
    in_force = service.show(team["insp"][1], record.version).in_force().record()
    assert in_force["weighting"] == "relative" and in_force["residual_sd_rel"] is not None
    assert "fit: weighted least squares, weights 1/mass²" in calibration_text(in_force)
    assert "relative residual SD 1." in calibration_text(in_force)


def test_the_unweighted_fit_stays_available_and_is_recorded_as_such(
    team: Team, service: CalibrationService
) -> None:
    record = service.fit(team["sup1"][1], FitRequest(INK, PRINTER, POINTS, weighting="unweighted"))
    assert record.weighting == "unweighted" and "weighting" not in record.content()
    view = service.show(team["insp"][1], record.version)
    assert view.line == fit_calibration([float(v) for v, _ in POINTS],
                                        [float(m) for _, m in POINTS])  # fmt: skip
    assert "fit: ordinary least squares" in calibration_text(view.in_force().record())


def test_a_weighted_fit_is_refused_on_its_relative_residual_sd(
    team: Team, service: CalibrationService
) -> None:
    # ±9 % on every disc: the discs' RSD about the weighted line, √(n/(n−2)) × 9 %
    noisy = tuple((v, m * Decimal("1.08" if i % 2 else "0.92")) for i, (v, m) in
                  enumerate(POINTS))  # fmt: skip
    fit = fit_calibration([float(v) for v, _ in noisy], [float(m) for _, m in noisy],
                          weighting="relative")  # fmt: skip
    assert fit.residual_sd_rel == pytest.approx(0.09 * (10 / 8) ** 0.5, rel=0.01)
    with pytest.raises(CalibrationError) as refused:
        service.fit(team["sup1"][1], FitRequest(INK, PRINTER, noisy))
    assert (
        f"relative residual SD {(fit.residual_sd_rel or 0) * 100:.2f} % (the discs' RSD about "
        "the 1/m²-weighted line); the site allows 2 %"
    ) in str(refused.value)
    assert service.list(team["insp"][1]) == []


def test_the_calibration_plot_states_the_weighting(tmp_path: Path) -> None:
    from printpharm.services.control.calibration_plot import write_plot

    volumes, masses = [float(v) for v, _ in POINTS], [float(m) for _, m in POINTS]
    for weighting, said in (("relative", "least squares weighted 1/mass² (relative noise)"),
                            ("unweighted", "ordinary least squares (unweighted)")):  # fmt: skip
        line = fit_calibration(volumes, masses, weighting=weighting)  # type: ignore[arg-type]
        svg = write_plot(line, list(zip(volumes, masses, strict=True)), "t", tmp_path / "p.svg")
        text = svg.read_text(encoding="utf-8")
        assert f"fit: {said}" in text
        assert ("relative residual SD = 1" in text) is (weighting == "relative")
