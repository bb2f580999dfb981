"""Which ink version and which lot and printer a calibration may be bound to (checked
before a series is printed and again when its fit is stored)."""

from __future__ import annotations

from typing import Protocol

from printpharm.errors import RecordError
from printpharm.services.control.ink_versions import resolve_ink_version
from printpharm.storage.repositories import UnitOfWork

__all__ = ["check_binding", "ink_version_of"]

_USABLE_LOTS = ("released", "in_use")


class Binding(Protocol):
    """What a calibration is bound to (a ``FitRequest``: read here without importing it)."""

    @property
    def ink_id(self) -> str: ...
    @property
    def printer_type(self) -> str: ...
    @property
    def lot_number(self) -> str | None: ...
    @property
    def printer_asset(self) -> str | None: ...


def ink_version_of(uow: UnitOfWork, ink_id: str, wanted: int | None) -> int:
    """The ink version a calibration binds: ``wanted``, or the newest locked one."""
    why = "a calibration belongs to an ink version (lock one, or name the ink version)"
    return resolve_ink_version(uow, ink_id, wanted, why=why).version


def check_binding(uow: UnitOfWork, request: Binding, ink_version: int) -> None:
    """The lot is a usable lot of the ink version; the printer is registered, of the type."""
    if request.lot_number is not None:
        lot = uow.lots.find(request.lot_number)
        if lot is None:
            raise RecordError(f"ink lot {request.lot_number!r} is not recorded")
        if (lot.ink_id, lot.ink_version) != (request.ink_id, ink_version):
            raise RecordError(
                f"ink lot {lot.lot_number} is of {lot.ink_id} v{lot.ink_version}, not "
                f"{request.ink_id} v{ink_version}"
            )
        if lot.status not in _USABLE_LOTS or lot.beyond_use_date < uow.now().date():
            state = lot.status if lot.status not in _USABLE_LOTS else "past its beyond-use date"
            raise RecordError(f"ink lot {lot.lot_number} is {state}: only a released lot "
                              "can be calibrated")  # fmt: skip
    if request.printer_asset is not None:
        device_id = uow.equipment.by_tag(request.printer_asset)
        device = None if device_id is None else uow.devices.by_id(device_id)
        if device is None or device.kind != "printer":
            raise RecordError(f"printer {request.printer_asset!r} is not in the equipment register")
        if device.printer_type not in (None, request.printer_type):
            raise RecordError(
                f"printer {request.printer_asset} is a {device.printer_type}, not a "
                f"{request.printer_type}"
            )
