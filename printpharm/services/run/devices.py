"""Open the printer and balance a run uses: real ports or linked simulators.

:func:`simulator_urls` builds ``sim://`` URLs for a printer and a balance that
share one build plate, with the physics of the recipe's printer and ink (what
an E unit deposits, the mass the calibration in force predicts — the locked site
calibration the plan sized with, else the ink file's —, the process noise of
that kind of ink), so the balance weighs what the printer deposited and planning
and simulation agree. :func:`run_simulator_urls` does it for a prepared run.
:func:`open_devices` opens any two URLs (``COM3``, ``/dev/ttyACM0``,
``sim://...``), builds the drivers and reads the balance's identity.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from printpharm.catalog.schema import Ink, PrinterDefinition
from printpharm.devices.balance import Balance
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.sim import BALANCE_OPTIONS, COMMON_OPTIONS, PRINTER_OPTIONS
from printpharm.devices.transport import Transport, open_transport
from printpharm.errors import DeviceError, InputError
from printpharm.services.run.calibration import CalibrationInForce
from printpharm.services.run.request import RunDevices, RunRequest

__all__ = [
    "calibration_physics",
    "connected_devices",
    "ink_physics",
    "open_devices",
    "run_simulator_urls",
    "simulator_urls",
    "split_sim_options",
]


def split_sim_options(options: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Sort ``key=value`` simulator options (faults, seeds) into printer and balance options.

    ``seed`` and ``speed`` (simulated seconds per wall second) go to both.

    Raises
    ------
    InputError
        An option neither simulator knows.
    """
    printer: dict[str, str] = {}
    balance: dict[str, str] = {}
    for key, value in options.items():
        if key in PRINTER_OPTIONS and key != "seed":
            printer[key] = value
        elif key in BALANCE_OPTIONS and key != "seed":
            balance[key] = value
        elif key in ("seed", "speed"):
            printer[key] = balance[key] = value
        elif key in COMMON_OPTIONS:
            raise InputError(f"simulator option {key!r} is set by printpharm for a run")
        else:
            known = ", ".join(sorted({*PRINTER_OPTIONS, *BALANCE_OPTIONS, "speed"}))
            raise InputError(f"simulator option {key!r} is unknown; accepted options: {known}")
    return printer, balance


def simulator_urls(
    printer: PrinterDefinition,
    ink: Ink,
    options: Mapping[str, str] | None = None,
    *,
    fast: bool = True,
    plate: str | None = None,
    calibration: CalibrationInForce | None = None,
) -> tuple[str, str]:
    """``sim://`` URLs of a linked printer and balance for this printer definition and ink.

    Parameters
    ----------
    printer, ink
        Set the firmware the simulator reports (``flavour``), the E-axis meaning
        (``e_axis``; syringe bore or filament diameter in mm), the deposited mass
        (the ink's calibration ``mass = a·V + b``, as dispensed: a dried ink weighs
        more wet, in line) and the kind of ink (its realistic process noise).
    calibration
        The calibration in force the plan sized with: a site calibration (fitted
        from discs weighed in line, as dispensed) sets the deposited mass
        (:func:`calibration_physics`); ``None`` or the ink file's keeps the ink's.
        ``mass_per_mm3``/``mass_offset_mg`` in ``options`` (a paste that differs
        from every calibration) win over both.
    options
        Extra simulator options (faults, ``seed``), sorted by :func:`split_sim_options`.
    fast
        Virtual clock (instant, deterministic) instead of real time; a ``speed``
        option (simulated seconds per wall second) overrides it.
    plate
        Name of the shared plate (default: a fresh random name per call).

    Raises
    ------
    InputError
        An unknown option.
    """
    printer_opts, balance_opts = split_sim_options(options or {})
    name = plate or f"run-{secrets.token_hex(6)}"
    diameter = None
    if ink.syringe is not None:
        diameter = ink.syringe.inner_diameter.value
    elif ink.filament_diameter is not None:
        diameter = ink.filament_diameter.value
    physics = {
        "plate": name,
        "e_units": printer.e_axis,
        "flavour": printer.flavour,
        **ink_physics(ink),
        **calibration_physics(calibration),
    }
    if diameter is not None:
        physics["diameter_mm"] = str(diameter)
    common = {"fast": "1"} if fast and "speed" not in printer_opts else {}
    printer_query = urlencode({**physics, **common, **printer_opts})
    balance_query = urlencode({"plate": name, **common, **balance_opts})
    return f"sim://printer?{printer_query}", f"sim://balance?{balance_query}"


def run_simulator_urls(
    request: RunRequest, options: Mapping[str, str] | None = None, **kwargs: Any
) -> tuple[str, str]:
    """:func:`simulator_urls` for a prepared run: its printer, ink and calibration in force.

    Raises
    ------
    InputError
        An unknown option.
    """
    prediction = request.prediction
    calibration = None if prediction is None else prediction.calibration
    return simulator_urls(
        request.printer_definition, request.ink, options, calibration=calibration, **kwargs
    )


def calibration_physics(calibration: CalibrationInForce | None) -> dict[str, str]:
    """The deposited mass ``a·V + b`` of a site calibration (as dispensed), or nothing.

    The ink file's calibration (or none) leaves :func:`ink_physics` in charge.
    """
    if calibration is None or not calibration.fitted:
        return {}
    line = calibration.line
    return {"mass_per_mm3": repr(line.a_mg_per_mm3), "mass_offset_mg": repr(line.b_mg)}


def ink_physics(ink: Ink) -> dict[str, str]:
    """Printer-simulator options that make it deposit (and push against) what ``ink`` does.

    The calibration gives the *weighed* mass (dried, for an ink that loses
    solvent); the in-line balance weighs the unit wet, as dispensed, which is
    ``weighed × dried load / drug load`` (the run's in-line target, see
    :func:`~printpharm.services.run.weighing.inline_target`).
    """
    a, b = ink.calibration.a.value, ink.calibration.b.value
    if ink.dried_drug_load is not None and ink.drug_load.value > 0:
        wet = ink.dried_drug_load.value / ink.drug_load.value
        a, b = a * wet, b * wet
    physics = {"ink_kind": ink.kind, "mass_per_mm3": str(a), "mass_offset_mg": str(b)}
    if ink.kind != "sse_paste":
        physics["pressure_sensor"] = "0"  # a load cell under a plunger: syringe heads only
    if ink.viscosity is not None:
        physics["viscosity_pa_s"] = str(ink.viscosity.value)
    if ink.process.nozzle_inner_diameter is not None:
        physics["nozzle_diameter_mm"] = str(ink.process.nozzle_inner_diameter.value)
    return physics


def open_devices(
    printer_url: str,
    balance_url: str,
    *,
    baudrate: int = 115200,
    balance_baudrate: int = 9600,
    link_options: LinkOptions | None = None,
    balance_timeout_s: float = 5.0,
    serial_logs: tuple[Path, Path] | None = None,
) -> RunDevices:
    """Open both transports, build the drivers and identify the balance (``@``, I2, I4).

    The printer is connected (M110/M115) by the run itself, in its preflight.
    ``serial_logs`` = (printer log, balance log) files receive every byte
    exchanged (the batch's serial log).

    Raises
    ------
    DeviceError
        A port cannot be opened or the balance does not identify.
    InputError
        A malformed ``sim://`` URL.
    """
    printer_log, balance_log = serial_logs or (None, None)
    printer_transport = open_transport(printer_url, baudrate=baudrate, log_path=printer_log)
    balance_transport: Transport | None = None
    try:
        balance_transport = open_transport(
            balance_url, baudrate=balance_baudrate, log_path=balance_log
        )
        balance = Balance(balance_transport, command_timeout_s=balance_timeout_s)
        info = balance.identify()
    except (DeviceError, InputError):
        printer_transport.close()
        if balance_transport is not None:
            balance_transport.close()
        raise
    return RunDevices(
        printer=PrinterLink(printer_transport, link_options),
        balance=balance,
        printer_port=printer_url,
        balance_port=balance_url,
        balance_identity={
            "model": info.model,
            "capacity": info.capacity,
            "serial_number": info.serial_number,
        },
    )


@contextmanager
def connected_devices(
    printer_url: str,
    balance_url: str,
    *,
    baudrate: int = 115200,
    balance_baudrate: int = 9600,
    link_options: LinkOptions | None = None,
    balance_timeout_s: float = 5.0,
    serial_logs: tuple[Path, Path] | None = None,
) -> Iterator[RunDevices]:
    """:func:`open_devices` as a context manager that closes both transports."""
    devices = open_devices(
        printer_url,
        balance_url,
        baudrate=baudrate,
        balance_baudrate=balance_baudrate,
        link_options=link_options,
        balance_timeout_s=balance_timeout_s,
        serial_logs=serial_logs,
    )
    try:
        yield devices
    finally:
        devices.printer.close()
        if isinstance(devices.balance, Balance):
            devices.balance.transport.close()
