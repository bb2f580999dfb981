"""Serial transports, the Marlin printer link, the MT-SICS balance, and their simulators.

The names most callers need::

    from printpharm.devices import Balance, PrinterLink, open_transport, default_printer_url
"""

from printpharm.devices.balance import Balance, BalanceInfo, Weighing
from printpharm.devices.marlin import HeaterReading, PrinterInfo
from printpharm.devices.ports import PortInfo, list_ports
from printpharm.devices.printer import LinkOptions, PrinterLink, StreamStats
from printpharm.devices.sim import default_balance_url, default_printer_url
from printpharm.devices.transport import Transport, open_transport

__all__ = [
    "Balance",
    "BalanceInfo",
    "HeaterReading",
    "LinkOptions",
    "PortInfo",
    "PrinterInfo",
    "PrinterLink",
    "StreamStats",
    "Transport",
    "Weighing",
    "default_balance_url",
    "default_printer_url",
    "list_ports",
    "open_transport",
]
