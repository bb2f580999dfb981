"""Where an action happens: the workstation name every audit event carries.

One rule for every way into the records (the CLI, the GUI, federation): the
``PRINTPHARM_WORKSTATION`` environment variable when set (a site names its
workstations, or a shared terminal server names each session), else the host name.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime

from printpharm import __version__
from printpharm.storage.audit import AuditContext

__all__ = ["WORKSTATION_ENV", "audit_context", "workstation_name"]

#: Environment variable naming this workstation in the audit trail.
WORKSTATION_ENV = "PRINTPHARM_WORKSTATION"


def workstation_name() -> str:
    """This workstation's name for the audit trail (environment, else host name)."""
    return os.environ.get(WORKSTATION_ENV) or socket.gethostname() or "unknown"


def audit_context(
    workstation: str | None = None, clock: Callable[[], datetime] | None = None
) -> AuditContext:
    """The audit context of this process: workstation (given or :func:`workstation_name`),
    printpharm version and, for tests and replays, a clock."""
    name = workstation or workstation_name()
    if clock is None:
        return AuditContext(name, __version__)
    return AuditContext(name, __version__, clock=clock)
