"""The flavour registry is the one list: the catalog, the templates and the simulator agree."""

from __future__ import annotations

from typing import get_args

import pytest

from printpharm.catalog import Catalog, load_catalog
from printpharm.core.flavours import FLAVOURS, FlavourName, flavour
from printpharm.devices.printer import PrinterInfo
from printpharm.devices.sim import build_printer
from printpharm.errors import InputError
from printpharm.services.run.preflight import check_device
from printpharm.slicing.gcode import TEMPLATE_DIR


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_registry_and_the_type_name_the_same_flavours() -> None:
    assert set(FLAVOURS) == set(get_args(FlavourName))
    assert all(name == f.name for name, f in FLAVOURS.items())


@pytest.mark.parametrize("name", list(FLAVOURS))
def test_every_flavour_has_its_start_and_end_templates(name: str) -> None:
    f = flavour(name)
    assert (TEMPLATE_DIR / f.start_template).is_file()
    assert (TEMPLATE_DIR / f.end_template).is_file()


def test_an_unknown_flavour_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InputError, match="'grbl' is unknown; known: marlin_fdm, marlin_sse"):
        flavour("grbl")
    with pytest.raises(InputError, match="'grbl' is unknown"):
        build_printer({"flavour": "grbl"})


def test_every_shipped_printer_runs_a_registered_flavour(catalog: Catalog) -> None:
    assert {p.flavour for p in catalog.printers()} == set(FLAVOURS)  # each one is shipped


@pytest.mark.parametrize("name", list(FLAVOURS))
def test_the_simulator_reports_a_firmware_that_preflight_accepts_for_its_flavour(
    name: str, catalog: Catalog
) -> None:
    sim = build_printer({"flavour": name})
    sim.feed(b"M115\n")
    sim.step(0.1)
    out = sim.take_output().decode()
    line = next(x for x in out.splitlines() if x.startswith("FIRMWARE_NAME:"))
    firmware = line.split("FIRMWARE_NAME:", 1)[1].split(" SOURCE_CODE_URL:")[0]
    assert firmware.startswith(flavour(name).simulator_firmware)
    info = PrinterInfo(firmware, {"FIRMWARE_NAME": firmware, "EXTRUDER_COUNT": "1"}, {})
    for printer in catalog.printers():
        ok = all(c.passed for c in check_device(printer, info))
        same_family = flavour(printer.flavour).firmware_family == flavour(name).firmware_family
        assert ok is same_family, (printer.id, name)
