"""Malformed files give CatalogError messages naming file, key, value and limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from printpharm.catalog import load_catalog
from printpharm.errors import CatalogError
from tests.catalog.conftest import edit

CPM = "recipes/cpm-chewable-disc.toml"
SPEED = 'print_speed = { value = 6, unit = "mm/s" }'


def refused(root: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    return str(info.value)


def test_the_copy_loads(data_root: Path) -> None:
    assert load_catalog(data_root).recipe("cpm-chewable-disc").id == "cpm-chewable-disc"


def test_value_above_maximum(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, SPEED + '\nlayer_height = { value = 3.0, unit = "mm" }')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: process.layer_height = 3.0 mm "
        "is above the maximum of 2.0 mm"
    )


def test_value_below_minimum(data_root: Path) -> None:
    edit(data_root, CPM, "min = 5, max = 40", "min = -5, max = 40")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: dose.range = -5–40 mg: min -5 mg must be greater than 0 mg"
    )


def test_wrong_unit(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, SPEED + '\nlayer_height = { value = 0.06, unit = "cm" }')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: process.layer_height = 0.06 cm has the wrong unit: "
        'expected "mm"'
    )


def test_missing_key(data_root: Path) -> None:
    edit(data_root, CPM, 'api = "cyclophosphamide"\n', "")
    assert refused(data_root) == "recipes/cpm-chewable-disc.toml: api is missing (required)"


def test_missing_unit_inside_a_quantity(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, "print_speed = { value = 6 }")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: process.print_speed.unit is missing (required)"
    )


def test_unknown_key_lists_the_known_ones(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, SPEED + '\nlayer_heigth = { value = 0.6, unit = "mm" }')
    message = refused(data_root)
    assert message.startswith(
        "recipes/cpm-chewable-disc.toml: process.layer_heigth is not a known key (known keys: "
    )
    assert "layer_height" in message


def test_number_written_as_text(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, 'print_speed = { value = "6", unit = "mm/s" }')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: process.print_speed.value = '6' is not a number"
    )


def test_span_in_the_wrong_order(data_root: Path) -> None:
    edit(data_root, CPM, "min = 5, max = 40", "min = 40, max = 5")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: dose.range: min 40 mg is above max 5 mg"
    )


def test_literal_choice(data_root: Path) -> None:
    edit(data_root, CPM, 'alarm_policy = "stop"', 'alarm_policy = "ignore"')
    message = refused(data_root)
    assert message.startswith("recipes/cpm-chewable-disc.toml: alarm_policy = 'ignore': ")
    assert "'stop'" in message and "'pause'" in message


def test_inherits_cycle(data_root: Path) -> None:
    edit(
        data_root,
        "inks/sse-paste-base.toml",
        "abstract = true\n",
        'abstract = true\ninherits = "cyclophosphamide-sse-chewable"\n',
    )
    message = refused(data_root)
    assert message.startswith("inks/")
    assert "makes a cycle: " in message
    assert re.search(r"cyclophosphamide-sse-chewable → sse-paste-base → cyclophosphamide", message)


def test_inherits_missing_parent(data_root: Path) -> None:
    edit(data_root, "inks/minoxidil-sse.toml", 'inherits = "sse-paste-base"', 'inherits = "nope"')
    message = refused(data_root)
    assert message.startswith("inks/minoxidil-sse.toml: inherits = 'nope': no ink with that id")
    assert "sse-paste-base" in message


def test_id_must_equal_file_stem(data_root: Path) -> None:
    edit(data_root, CPM, 'id = "cpm-chewable-disc"', 'id = "cpm-disc"')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: id = 'cpm-disc' must equal the file name "
        "'cpm-chewable-disc'"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("schema_version = 2", "schema_version = 2 is newer than this program reads (1)"),
        ('schema_version = "1"', "schema_version = '1' is not an integer"),
        ("", "schema_version is missing (this program reads 1)"),
        ("schema_version = 0", "schema_version = 0 cannot be read: no migration from 0 to 1"),
    ],
)
def test_bad_schema_version(data_root: Path, line: str, expected: str) -> None:
    edit(data_root, CPM, "schema_version = 1", line)
    assert refused(data_root).startswith(f"{CPM}: {expected}")


def test_not_toml(data_root: Path) -> None:
    (data_root / "inks" / "broken.toml").write_text("id = [unclosed\n", encoding="utf-8")
    assert refused(data_root).startswith("inks/broken.toml: not a valid UTF-8 TOML file")


def test_abstract_base_still_checks_its_values(data_root: Path) -> None:
    edit(
        data_root,
        "inks/sse-paste-base.toml",
        'density = { value = 1.20, unit = "g/cm3" }',
        'density = { value = 12, unit = "g/cm3" }',
    )
    assert refused(data_root) == (
        "inks/sse-paste-base.toml: density = 12 g/cm3 is above the maximum of 3.0 g/cm3"
    )


def test_recipe_names_an_unknown_ink(data_root: Path) -> None:
    edit(data_root, CPM, 'ink = "cyclophosphamide-sse-chewable"', 'ink = "cpm-paste"')
    message = refused(data_root)
    assert message.startswith("recipes/cpm-chewable-disc.toml: ink = 'cpm-paste': no such ink")
    assert "minoxidil-sse" in message


def test_recipe_on_a_printer_for_the_other_ink_kind(data_root: Path) -> None:
    edit(data_root, CPM, 'printer = "marlin-sse"', 'printer = "marlin-fdm"')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: printer = 'marlin-fdm' prints fdm_filament, "
        "but ink 'cyclophosphamide-sse-chewable' is sse_paste"
    )


def test_resolved_temperature_outside_the_validated_window(data_root: Path) -> None:
    edit(data_root, CPM, "min = 37, max = 43", "min = 30, max = 35")
    assert refused(data_root) == (
        "recipe cpm-chewable-disc: nozzle_temperature = 40 °C "
        "(from inks/cyclophosphamide-sse-chewable.toml) is outside the validated window "
        "30–35 °C"
    )


def test_dose_range_not_on_the_step(data_root: Path) -> None:
    edit(data_root, CPM, "min = 5, max = 40", "min = 5.25, max = 40")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: dose: range end 5.25 mg is not a multiple of "
        "the step 0.5 mg"
    )


def test_form_reference_outside_its_bounds(data_root: Path) -> None:
    edit(data_root, CPM, "min = 9.0, max = 13.0", "min = 9.0, max = 11.0")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: form: diameter reference 12.0 mm is outside its "
        "bounds 9.0–11.0 mm"
    )


def test_form_dimension_neither_given_nor_bounded(data_root: Path) -> None:
    edit(data_root, CPM, 'height = { min = 0.6, max = 7.0, unit = "mm" }\n', "")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: form: height of disc is neither given nor bounded"
    )


def test_solve_height_needs_a_reference_footprint(data_root: Path) -> None:
    edit(data_root, CPM, 'diameter = { value = 12.0, unit = "mm" }\n', "")
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: strategy fixed_diameter_solve_height needs a "
        "reference value of diameter in [form]"
    )


def test_uniform_scale_needs_one_scale(data_root: Path) -> None:
    edit(
        data_root,
        "recipes/hydrocortisone-fdm-tablet.toml",
        "min = 0.6, max = 1.8",
        "min = 0.6, max = 2.0",
    )
    assert refused(data_root) == (
        "recipes/hydrocortisone-fdm-tablet.toml: strategy uniform_scale needs the same "
        "max/min scale for diameter, height"
    )


def test_needs_source_or_example(data_root: Path) -> None:
    edit(data_root, CPM, "example = true\n", "")
    assert refused(data_root) == (
        'recipes/cpm-chewable-disc.toml: needs a "source" citation or "example = true" '
        "(example to validate on site)"
    )


def test_process_value_set_by_no_layer(data_root: Path) -> None:
    edit(data_root, "inks/sse-paste-base.toml", 'line_width = { value = 0.9, unit = "mm" }\n', "")
    message = refused(data_root)
    assert "process.line_width set by no layer (batch override, recipe, ink " in message


def test_resolved_layer_height_above_line_width(data_root: Path) -> None:
    edit(data_root, CPM, SPEED, SPEED + '\nline_width = { value = 0.5, unit = "mm" }')
    assert refused(data_root) == (
        "recipes/cpm-chewable-disc.toml: resolved process: layer_height 0.6 mm is above "
        "the line width 0.5 mm"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9" * 5000, "a number is too long to read"),  # beyond Python's 4300-digit limit
        ("9" * 4000, "is an integer of more than 18 digits"),
        ("[" * 5000 + "]" * 5000, "nested too deeply to read"),  # tomllib recursion
        ("[" * 300 + "]" * 300, "is nested deeper than 16"),
        ("{ a = " * 200 + "1" + " }" * 200, "is nested deeper than 16"),
    ],
)
def test_huge_numbers_and_deep_nesting_are_refused_clearly(
    data_root: Path, value: str, expected: str
) -> None:
    """Issue 13: not an internal error, not a RecursionError."""
    path = data_root / "inks" / "hostile.toml"
    path.write_text(f'schema_version = 1\nid = "hostile"\nx = {value}\n', encoding="utf-8")
    message = refused(data_root)
    assert message.startswith("inks/hostile.toml: ") and expected in message
    assert len(message) < 300  # the value is not echoed


BASE = "inks/sse-paste-base.toml"
PRESSURE_MAX = 'max = { value = 180, unit = "kPa" }'


def test_pressure_limits_need_kpa_and_min_below_max(data_root: Path) -> None:
    edit(data_root, BASE, PRESSURE_MAX, 'max = { value = 180, unit = "bar" }')
    assert refused(data_root).startswith(
        "inks/cyclophosphamide-sse-chewable.toml: pressure.max = 180 bar has the wrong unit: "
        'expected "kPa"'
    )
    edit(
        data_root, BASE, 'max = { value = 180, unit = "bar" }', 'max = { value = 30, unit = "kPa" }'
    )
    message = refused(data_root)
    assert "pressure: pressure min = 40 kPa must be below max = 30 kPa" in message


def test_pressure_limits_are_for_pastes_only(data_root: Path) -> None:
    fdm = "inks/fdm-filament-base.toml"
    text = (data_root / fdm).read_text(encoding="utf-8")
    (data_root / fdm).write_text(text + '\n[pressure]\nmax = { value = 180, unit = "kPa" }\n',
                                 encoding="utf-8")  # fmt: skip
    assert "[pressure] and viscosity are for sse_paste inks" in refused(data_root)
