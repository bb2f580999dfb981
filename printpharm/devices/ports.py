"""The serial ports this computer shows, for device pickers and ``printpharm doctor``."""

from __future__ import annotations

from dataclasses import dataclass

from printpharm.errors import DeviceError

__all__ = ["PortInfo", "list_ports"]


@dataclass(frozen=True)
class PortInfo:
    """One serial port as the operating system describes it.

    ``vid``/``pid`` are the USB vendor and product ids (``None`` for non-USB
    ports); a USB-serial printer board or balance adapter shows them, which is
    how a person tells the printer from the balance.
    """

    device: str
    description: str
    hwid: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None

    @property
    def is_usb(self) -> bool:
        """Whether the port is a USB device (printers and balances usually are)."""
        return self.vid is not None


def list_ports(usb_only: bool = False) -> list[PortInfo]:
    """List the serial ports, sorted by device name.

    Parameters
    ----------
    usb_only
        Only USB ports (hides the legacy ``/dev/ttyS*`` and ``COM1`` ports that
        a motherboard reports whether or not anything is plugged in).

    Raises
    ------
    DeviceError
        When the operating system's port enumeration fails.
    """
    from serial.tools import list_ports as _pyserial_ports  # only devices/ imports pyserial

    try:
        found = list(_pyserial_ports.comports())
    except OSError as exc:
        raise DeviceError(f"could not list the serial ports: {exc}") from exc
    ports = [
        PortInfo(
            device=str(p.device),
            description=str(p.description or ""),
            hwid=str(p.hwid or ""),
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            manufacturer=p.manufacturer,
        )
        for p in found
    ]
    if usb_only:
        ports = [p for p in ports if p.is_usb]
    return sorted(ports, key=lambda p: p.device)
