"""Every shipped ink, recipe and printer file loads (new files are covered automatically)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.catalog.loader import KIND_DIRS, Kind
from printpharm.catalog.schema import Ink, PrinterDefinition, Recipe
from printpharm.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED: list[tuple[Kind, Path]] = [
    (kind, path) for kind, sub in KIND_DIRS.items() for path in sorted((ROOT / sub).glob("*.toml"))
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ROOT)


def test_there_are_shipped_files_of_every_kind() -> None:
    assert {kind for kind, _ in SHIPPED} == {"ink", "recipe", "printer"}


@pytest.mark.parametrize(("kind", "path"), SHIPPED, ids=[p.name for _, p in SHIPPED])
def test_shipped_file_loads(catalog: Catalog, kind: Kind, path: Path) -> None:
    source = catalog.sources(kind, path.stem)[0]
    assert source.path == path
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert catalog.file_sha256(kind, path.stem) == source.sha256
    model_type = {"ink": Ink, "recipe": Recipe, "printer": PrinterDefinition}[kind]
    getter = {"ink": catalog.ink, "recipe": catalog.recipe, "printer": catalog.printer}[kind]
    if "abstract = true" in path.read_text(encoding="utf-8"):
        with pytest.raises(CatalogError, match="abstract base"):
            getter(path.stem)
    else:
        model = getter(path.stem)
        assert isinstance(model, model_type)
        assert model.id == path.stem
        assert model.example or model.source


def test_required_ids_are_shipped(catalog: Catalog) -> None:
    assert {r.id for r in catalog.recipes()} >= {
        "cpm-chewable-disc",
        "sildenafil-caplet",
        "propranolol-ring",
        "hydrocortisone-fdm-tablet",
        "minoxidil-capsule-fill",
        "calibration-series",
    }
    assert {i.id for i in catalog.inks()} >= {
        "cyclophosphamide-sse-chewable",
        "hydrocortisone-fdm",
        "sildenafil-sse",
        "minoxidil-sse",
        "propranolol-sse-chewable",
        "placebo-sse-calibration",
    }
    assert {p.id for p in catalog.printers()} >= {
        "marlin-sse",
        "marlin-fdm",
        "klipper-sse",
        "reprap-fdm",
    }


def test_cpm_recipe_is_the_documented_one(catalog: Catalog) -> None:
    recipe = catalog.recipe("cpm-chewable-disc")
    assert recipe.dose is not None
    assert (recipe.dose.range.min, recipe.dose.range.max) == (Decimal(5), Decimal(40))
    assert str(recipe.dose.step.value) == "0.5"
    assert recipe.form.template == "disc"
    assert recipe.form.free_dimensions() == ("diameter", "height")
    assert recipe.form.reference("diameter") == 12
    assert recipe.form.limits("diameter") == (Decimal(9), Decimal(13))
    assert recipe.form.reference("height") is None
    assert recipe.form.unit("height") == "mm"
    assert recipe.form.describe("diameter") == "12.0 mm (9.0–13.0 mm)"
    with pytest.raises(KeyError, match="width is not a dimension of disc"):
        recipe.form.limits("width")


def test_every_recipe_resolves_completely(catalog: Catalog) -> None:
    for recipe in catalog.recipes():
        resolved = catalog.resolve(recipe.id)
        assert resolved.process.layer_height.unit == "mm"
        assert set(resolved.settings) >= {"layer_height", "line_width", "nozzle_temperature"}


def test_abstract_bases_are_inherited_not_listed(catalog: Catalog) -> None:
    assert "sse-paste-base" not in {i.id for i in catalog.inks()}
    chain = [s.id for s in catalog.sources("ink", "cyclophosphamide-sse-chewable")]
    assert chain == ["cyclophosphamide-sse-chewable", "sse-paste-base"]
    # inherited from the base, overridden by the child
    ink = catalog.ink("cyclophosphamide-sse-chewable")
    assert ink.syringe is not None and str(ink.syringe.inner_diameter.value) == "14.5"
    assert str(ink.calibration.a.value) == "1.19"
    assert catalog.origin("ink", ink.id)["syringe.inner_diameter"] == "inks/sse-paste-base.toml"


def test_default_calibrations_load_into_the_core_type(catalog: Catalog) -> None:
    for ink in catalog.inks():
        calibration = ink.calibration.to_linear()
        assert calibration.a_mg_per_mm3 == float(ink.calibration.a.value)
        assert calibration.v_max_mm3 == float(ink.calibration.volume_range.max)
        middle = (calibration.v_min_mm3 + calibration.v_max_mm3) / 2
        mass = calibration.mass_for_volume(middle)
        assert calibration.volume_for_mass(mass) == pytest.approx(middle)


def test_default_root_is_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRINTPHARM_DATA_DIR", raising=False)
    assert load_catalog().root == ROOT


def test_env_var_overrides_the_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRINTPHARM_DATA_DIR", str(tmp_path))
    with pytest.raises(CatalogError, match="catalog directory not found"):
        load_catalog()


def test_files_lists_every_shipped_file(catalog: Catalog) -> None:
    files = catalog.files()
    assert len(files) == len(SHIPPED)
    assert files["recipes/cpm-chewable-disc.toml"] == catalog.file_sha256(
        "recipe", "cpm-chewable-disc"
    )


@pytest.mark.parametrize(
    ("readme", "models"),
    [
        ("inks/README.md", ["Ink", "Syringe", "Calibration", "PressureLimits"]),
        (
            "recipes/README.md",
            ["Recipe", "FormSpec", "DoseSpec", "Tolerances", "QcPolicy", "ProcessLayer"],
        ),
        ("recipes/README.md", ["PrinterDefinition", "ValidatedWindows"]),
    ],
)
def test_readme_documents_every_key(readme: str, models: list[str]) -> None:
    from printpharm.catalog import schema

    text = (ROOT / readme).read_text(encoding="utf-8")
    for name in models:
        model = getattr(schema, name)
        for key in model.model_fields:
            documented = f"`{key}`" in text or f"`[{key}]`" in text
            assert documented, f"{readme} does not document {name}.{key}"


def test_printer_templates_exist(catalog: Catalog) -> None:
    templates = ROOT / "gcode" / "templates"
    for printer in catalog.printers():
        for name in (printer.start_template, printer.end_template):
            assert (templates / name).is_file(), f"{printer.id}: gcode/templates/{name} missing"
