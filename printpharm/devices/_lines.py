"""Splitting a byte stream into lines: shared by the serial transports and the simulators' pty.

Kept apart from :mod:`printpharm.devices.transport` so that the simulators (which
``open_transport("sim://...")`` imports on demand) never import the transport back.
"""

from __future__ import annotations

__all__ = ["pop_line"]


def pop_line(buffer: bytearray) -> bytes | None:
    """Remove and return the first complete line of ``buffer``, or None if there is none.

    Parameters
    ----------
    buffer : bytearray
        Bytes received so far; the line and its ``\\n`` are removed from it.

    Returns
    -------
    bytes or None
        The line without ``\\n`` and without a trailing ``\\r``; None (buffer untouched)
        when no ``\\n`` has arrived yet.
    """
    end = buffer.find(b"\n")
    if end < 0:
        return None
    line = bytes(buffer[:end])
    del buffer[: end + 1]
    return line.rstrip(b"\r")
