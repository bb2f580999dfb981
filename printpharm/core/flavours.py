"""The printer flavours printpharm writes G-code for: one registry, read everywhere.

A flavour is the firmware family a printer definition (``gcode/printers/*.toml``,
``flavour = ...``) runs. Everything that depends on it reads :data:`FLAVOURS`:

* the catalog accepts exactly these names (:data:`FlavourName`);
* the slicer's machine settings refuse an unknown flavour and volumetric E where the
  firmware has no ``M200`` (:attr:`Flavour.volumetric_e`), and the G-code writer
  takes the start/end templates (:attr:`Flavour.start_template`) by default;
* preflight checks the ``M115`` ``FIRMWARE_NAME`` the printer reports against
  :attr:`Flavour.firmware_family`;
* the printer simulator reports :attr:`Flavour.simulator_firmware`, so each
  shipped printer definition runs end to end on the simulators.

To add a flavour: a row here (its name in :data:`FlavourName` too), and its two
templates in ``gcode/templates/``; ``tests/core/test_flavours.py`` checks both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from printpharm.errors import InputError

__all__ = ["FLAVOURS", "Flavour", "FlavourName", "flavour"]

FlavourName = Literal["marlin_fdm", "marlin_sse", "klipper", "reprap"]


@dataclass(frozen=True)
class Flavour:
    """One firmware flavour.

    Attributes
    ----------
    name
        The ``flavour`` value of a printer definition.
    label
        What a person calls it.
    firmware_family
        Lower-case fragment the ``M115`` ``FIRMWARE_NAME`` must contain.
    volumetric_e
        Whether the firmware has a volumetric E mode (``M200``), needed for E in mm³.
    simulator_firmware
        The ``FIRMWARE_NAME`` (and version) the printer simulator reports for it.
    """

    name: FlavourName
    label: str
    firmware_family: str
    volumetric_e: bool
    simulator_firmware: str

    @property
    def start_template(self) -> str:
        """Default start template in ``gcode/templates/``."""
        return f"{self.name}_start.gcode"

    @property
    def end_template(self) -> str:
        """Default end template in ``gcode/templates/``."""
        return f"{self.name}_end.gcode"


FLAVOURS: dict[str, Flavour] = {
    f.name: f
    for f in (
        Flavour("marlin_fdm", "Marlin (FDM)", "marlin", True, "Marlin 2.1.2.1"),
        Flavour("marlin_sse", "Marlin (syringe SSE)", "marlin", True, "Marlin 2.1.2.1"),
        Flavour("klipper", "Klipper", "klipper", False, "Klipper v0.12.0"),
        Flavour("reprap", "RepRapFirmware", "reprapfirmware", True, "RepRapFirmware 3.5.1"),
    )
}


def flavour(name: str) -> Flavour:
    """The flavour called ``name``.

    Raises
    ------
    InputError
        An unknown name; the message lists the known ones.
    """
    try:
        return FLAVOURS[name]
    except KeyError:
        raise InputError(f"flavour {name!r} is unknown; known: {', '.join(FLAVOURS)}") from None
