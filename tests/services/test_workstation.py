"""The workstation facade: dose preview refusals, recipe ranges, bands, masses (no Qt)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from printpharm.errors import CatalogError, UniformityInputError
from printpharm.services.run.prepare import prepare_run
from printpharm.services.station.batch import plan_for_form, unit_mesh
from printpharm.services.station.workstation import (
    DoseForm,
    MeshView,
    Workstation,
    build_workstation,
    describe_dose,
    format_mass,
    parse_masses,
)


@pytest.fixture(scope="module")
def ws() -> Workstation:
    station = build_workstation()
    assert station.catalog_error is None, station.catalog_error
    return station


@pytest.fixture
def form() -> DoseForm:
    return DoseForm(
        patient_id="P-2026-0147",
        prescriber="Dr Weber",
        rule="per_m2",
        amount="20",
        height_cm="110",
        weight_kg="18",
        recipe_id="cpm-chewable-disc",
        units=20,
    )


def test_ready_form_gives_bsa_and_rounded_dose(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(form)
    assert preview.ready
    assert preview.bsa_m2 is not None
    assert abs(preview.bsa_m2 - Decimal("0.741620")) < Decimal("0.000001")
    assert preview.result is not None
    assert preview.result.final_dose_mg == Decimal("15")  # 14.83 → step 0.5 from the recipe
    assert any("from recipe cpm-chewable-disc" in n for n in preview.notes)


def test_weight_above_hard_limit_is_refused_on_the_weight_field(
    ws: Workstation, form: DoseForm
) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, weight_kg="450"))
    assert not preview.ready
    assert preview.result is None
    assert "weight_kg = 450 is above the limit of 300 kg" in preview.errors["weight_kg"]


def test_metres_for_centimetres_gives_a_hint_on_height(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, height_cm="1.1"))
    assert "did you enter metres" in preview.errors["height_cm"]


def test_dose_outside_recipe_range_is_refused(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, amount="60"))
    assert preview.result is not None  # the dose is shown, the recipe refuses it
    refusal = preview.errors["recipe_id"]  # the recipe's own rule (core.dose_rules.check_in_range)
    assert "dose 44.5 mg is outside the validated range 5–40 mg" in refusal
    assert refusal.endswith("(above 40 mg)")
    assert not preview.ready


def test_dose_shown_before_identity_is_complete(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, patient_id="", prescriber=""))
    assert preview.result is not None
    assert set(preview.missing) == {"patient_id", "prescriber"}
    assert not preview.ready


def test_unknown_recipe_and_bad_units(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, recipe_id="nope", units=0))
    assert "not a patient recipe" in preview.errors["recipe_id"]
    assert "units = 0" in preview.errors["units"]


def test_cap_that_is_not_a_number_is_refused_on_cap(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(dataclasses.replace(form, cap_mg="ten"))
    assert "cap_mg" in preview.errors["cap_mg"]


def test_calibration_recipes_are_not_offered(ws: Workstation) -> None:
    assert ws.recipes()
    assert all(r.dose_min_mg > 0 for r in ws.recipes())
    assert "calibration-series" not in {r.id for r in ws.recipes()}
    with pytest.raises(CatalogError):
        ws.recipe("calibration-series")


def test_parse_masses_refuses_decimal_comma_tokens() -> None:
    assert parse_masses("250.1\n249.9; 251, 252") == (
        Decimal("250.1"),
        Decimal("249.9"),
        Decimal(251),
        Decimal(252),
    )
    with pytest.raises(UniformityInputError, match="decimal point"):
        parse_masses("250,1")
    with pytest.raises(UniformityInputError, match="not a number"):
        parse_masses("250.1 abc")


def test_describe_dose_names_each_step(ws: Workstation, form: DoseForm) -> None:
    result = ws.preview_dose(dataclasses.replace(form, cap_mg="12")).result
    assert result is not None
    assert describe_dose(result) == (  # the same lines as the command line (core.dose_report)
        "rule: mg/m² × body surface area",
        "basis: 20 mg/m² × BSA 0.7416 m² (Mosteller; 110 cm, 18 kg)",
        "calculated dose: 14.8324 mg",
        "capped at 12 mg (the cap)",
        "rounded to 12 mg (step 0.5 mg, half-up): deviation +0.00 %, within the ±10 % tolerance",
        "flags: capped",
        "warning: calculated dose 14.8324 mg capped at 12 mg",
    )


def test_qc_preview_judges_twenty_units(ws: Workstation) -> None:
    masses = "\n".join(["250"] * 19 + ["300"])
    qc = ws.preview_qc(masses, "250", "7.5", "5")
    assert qc.mass_2_9_5 is not None
    assert qc.local is not None
    assert qc.local.result == "FAIL"  # unit 20 is 20 % over its target
    short = ws.preview_qc("250 251", "250", "7.5", "5")
    assert short.mass_2_9_5 is None and short.mass_2_9_5_error


def test_masses_are_shown_with_two_decimals_without_losing_digits() -> None:
    assert format_mass(Decimal("300")) == "300.00"
    assert format_mass(Decimal("249.8")) == "249.80"
    assert format_mass(Decimal("249.875")) == "249.875"  # a measured mass keeps every digit
    assert format_mass(Decimal("249.875"), exact=False) == "249.88"  # a computed target
    assert format_mass(301.23456, exact=False) == "301.23"


def _closed_and_outward(mesh: MeshView) -> float:
    """Check every edge is shared by exactly two faces in opposite directions; the volume."""
    edges: dict[tuple[int, int], int] = {}
    volume = 0.0
    for face in mesh.faces:
        assert all(0 <= i < len(mesh.vertices) for i in face)
        for a, b in ((face[0], face[1]), (face[1], face[2]), (face[2], face[0])):
            edges[(a, b)] = edges.get((a, b), 0) + 1
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = (mesh.vertices[i] for i in face)
        det = ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx)
        volume += det / 6
    assert all(n == 1 and edges.get((b, a)) == 1 for (a, b), n in edges.items())
    return volume


def test_planned_batch_carries_the_unit_mesh(ws: Workstation, form: DoseForm) -> None:
    preview = ws.preview_dose(form)
    assert ws.catalog is not None
    batch = plan_for_form(ws.catalog, form, preview)
    mesh, dims = batch.mesh, batch.plan.dimensions_mm
    assert 100 <= len(mesh.faces) <= 5000  # small enough to draw on every repaint
    xs, ys, zs = zip(*mesh.vertices, strict=True)
    assert max(xs) - min(xs) == pytest.approx(dims["diameter_mm"], rel=1e-6)
    assert max(ys) - min(ys) == pytest.approx(dims["diameter_mm"], rel=1e-6)
    assert (min(zs), max(zs)) == pytest.approx((0.0, dims["height_mm"]), rel=1e-6)
    volume = _closed_and_outward(mesh)
    assert volume > 0  # faces wind outwards
    assert volume == pytest.approx(batch.plan.target_volume_mm3, rel=0.1)


def test_unit_mesh_of_a_ring_has_its_hole(ws: Workstation) -> None:
    assert ws.catalog is not None
    plan = prepare_run(ws.catalog, "propranolol-ring", Decimal("2"), 1).plan
    mesh = unit_mesh(plan)
    outer, inner = plan.dimensions_mm["outer_diameter_mm"], plan.dimensions_mm["inner_diameter_mm"]
    radii = [(x * x + y * y) ** 0.5 for x, y, _ in mesh.vertices]
    assert max(radii) == pytest.approx(outer / 2, rel=1e-6)
    assert min(radii) == pytest.approx(inner / 2, rel=1e-6)
    assert _closed_and_outward(mesh) > 0
