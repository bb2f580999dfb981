"""Raw G-code streaming for maintenance: a supervisor's job, recorded in the audit trail.

A batch is printed only through the print run (plan, locked mode, preflight, weighing).
Sending an arbitrary G-code file to a printer — homing, a purge, a firmware test — is
maintenance: :func:`stream_gcode` lets only a role with ``device.stream_raw``
(supervisors) do it, asks why, and records who streamed which file (its SHA-256) to
which port, with the outcome, before and after the first byte is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from printpharm.catalog.schema import PrinterDefinition
from printpharm.devices.printer import LinkOptions, PrinterLink
from printpharm.devices.transport import open_transport
from printpharm.errors import InputError, PrintpharmError
from printpharm.services.access.auth import AuthService, UserSession
from printpharm.services.access.permissions import Operation
from printpharm.services.run.preflight import limit_violations
from printpharm.storage.audit import AuditEntry

__all__ = ["StreamOutcome", "read_gcode", "stream_gcode"]


@dataclass(frozen=True)
class StreamOutcome:
    """What a maintenance stream sent and how the link behaved."""

    port: str
    firmware: str
    sha256: str
    lines: int
    lines_acked: int
    resends: int
    errors: int
    probes: int
    elapsed_s: float
    lines_per_s: float


def read_gcode(path: Path) -> tuple[list[str], str]:
    """The file's lines and the SHA-256 of its bytes.

    Raises
    ------
    InputError
        The file cannot be read or is not ASCII.
    """
    try:
        raw = path.read_bytes()
        lines = raw.decode("ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"FILE {str(path)!r} cannot be read as ASCII G-code: {exc}") from exc
    return lines, hashlib.sha256(raw).hexdigest()


def stream_gcode(
    auth: AuthService,
    session: UserSession,
    path: Path,
    port: str,
    reason: str,
    printer: PrinterDefinition,
    *,
    baudrate: int = 115200,
    ok_timeout_s: float = 30.0,
    serial_log: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StreamOutcome:
    """Stream ``path`` to the printer on ``port`` as maintenance, audited.

    Raises
    ------
    PermissionDenied, SessionExpired
        The role may not stream raw G-code.
    InputError
        No reason, a file that cannot be read as ASCII G-code, or lines beyond the
        limits of ``printer`` (its bed, maximum temperatures, a sane E move): then
        nothing is sent.
    DeviceError
        The port cannot be opened or the printer fails; the failure is audited.
    """
    live = auth.require(session, Operation.STREAM_RAW)
    if not reason or not reason.strip():
        raise InputError("streaming raw G-code needs a reason (it is recorded in the audit trail)")
    lines, sha256 = read_gcode(path)
    beyond = limit_violations(lines, printer)
    if beyond:  # refused before the port is even opened
        first = "; ".join(str(v) for v in beyond[:3])
        raise InputError(
            f"{path.name}: {len(beyond)} line(s) beyond printer {printer.id}'s limits, nothing "
            f"sent: {first}"
        )
    what = {"file": path.name, "sha256": sha256, "lines": len(lines), "port": port}

    def audit(action: str, new: dict[str, object]) -> None:
        with auth.uow() as uow:
            uow.audit.append(
                AuditEntry(
                    "device", action, port, live.user_id, live.full_name,
                    reason=reason.strip(), new=new,
                )
            )  # fmt: skip

    audit("stream-start", what)
    try:
        transport = open_transport(port, baudrate=baudrate, log_path=serial_log)
        link = PrinterLink(transport, LinkOptions(ok_timeout_s=ok_timeout_s))
        try:
            info = link.connect()
            stats = link.stream(lines, on_progress=on_progress)
        finally:
            link.close()
    except PrintpharmError as exc:
        audit("stream-failed", {**what, "error": str(exc)})
        raise
    outcome = StreamOutcome(
        port=port,
        firmware=info.firmware_name,
        sha256=sha256,
        lines=stats.lines,
        lines_acked=stats.lines_acked,
        resends=stats.resends,
        errors=stats.errors,
        probes=stats.probes,
        elapsed_s=round(stats.elapsed_s, 3),
        lines_per_s=round(stats.lines_per_s, 1),
    )
    audit("stream-done", {**what, "firmware": outcome.firmware, "lines_acked": stats.lines_acked})
    return outcome
