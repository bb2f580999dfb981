"""The preflight of a print run: the static checks, then connect and identify the printer.

Nothing is printed or recorded before :func:`preflight` passes. The printer is
put in a known state before anything is printed: whatever flow factor a previous
job left (``M221`` survives between jobs), the batch prints at the factor it records.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from printpharm.services.jobs import EventHub
from printpharm.services.run.events import PreflightPassed
from printpharm.services.run.parts import RunLedger
from printpharm.services.run.preflight import (
    PreflightCheck,
    check_device,
    check_program_limits,
    check_static,
    raise_failures,
)
from printpharm.services.run.printing import PrinterPart
from printpharm.services.run.request import RunDevices, RunOptions, RunRequest

__all__ = ["preflight"]


def _static_checks(
    req: RunRequest, devices: RunDevices, options: RunOptions, ledger: RunLedger, today: date
) -> list[PreflightCheck]:
    ledger.lock = options.lock_policy(req.recipe, req.recipe_sha256)
    temps = (req.nozzle_c, req.bed_c)
    checks = check_static(
        req.recipe, req.ink, req.program, req.dose_mg, temps, ledger.lock, today,
        options.lot, req.ink_need, options.ink_version,
        dose_record=req.dose_record, dose_override=options.dose_override,
        printer=req.printer_definition,
    )  # fmt: skip
    checks.append(check_program_limits(req.printer_definition, req.program, temps))
    checks.extend(options.recorded_checks)
    if options.balance_policy is not None:
        checks.extend(options.balance_policy(devices.balance_identity, devices.balance_port))
    return checks


def preflight(
    req: RunRequest,
    devices: RunDevices,
    options: RunOptions,
    ledger: RunLedger,
    today: date,
    printer: PrinterPart,
    hub: EventHub,
    flow_pct: Decimal,
) -> None:
    """Static checks, connect and identify the printer, device checks, start flow factor.

    The checks, the lock and the printer's identity go into ``ledger``.

    Raises
    ------
    PreflightError
        A check failed.
    DeviceError
        The printer could not be reached.
    """
    ledger.checks = _static_checks(req, devices, options, ledger, today)
    raise_failures(ledger.checks)
    info = devices.printer.connect(timeout_s=options.connect_timeout_s)
    ledger.checks.extend(check_device(req.printer_definition, info))
    if options.printer_policy is not None:
        identity = {**info.fields, "firmware": info.firmware_name}
        ledger.checks.extend(options.printer_policy(identity, devices.printer_port))
    raise_failures(ledger.checks)
    start_flow = f"M221 S{flow_pct}"
    devices.printer.send(start_flow)
    ledger.printer_record.update(
        firmware=info.firmware_name,
        machine_type=info.fields.get("MACHINE_TYPE", ""),
        uuid=info.fields.get("UUID", ""),
        capabilities=dict(info.capabilities),
        start_state={"flow_pct": flow_pct, "command": start_flow},
        pressure=printer.pressure_record(),
    )
    hub.publish(PreflightPassed(tuple((c.name, c.detail) for c in ledger.checks)))
